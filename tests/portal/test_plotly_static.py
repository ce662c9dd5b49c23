"""plotly.min.js is served from the pinned plotly package, not a copy or a CDN."""

from pathlib import Path

import plotly
from django.contrib.staticfiles import finders


def test_plotly_min_js_comes_from_the_plotly_package():
    found = finders.find("portal/vendor/plotly.min.js")
    assert found
    assert Path(found) == Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def test_plotly_is_served_to_the_browser(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/static/portal/vendor/plotly.min.js")
    assert response.status_code == 200
    assert b"plotly" in b"".join(response.streaming_content)[:2000].lower()
