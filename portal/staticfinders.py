"""Serve the plotly.min.js that the installed plotly package ships, as static/portal/vendor/plotly.min.js.

No copy in the repository and no CDN: the browser library always matches the
pinned Python package, and collectstatic/whitenoise serve it like any other file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_STATIC_PATH = "portal/vendor/plotly.min.js"
PLOTLY_PACKAGE_DATA = Path(plotly.__file__).resolve().parent / "package_data"


class PlotlyFinder(BaseFinder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=str(PLOTLY_PACKAGE_DATA))
        self.storage.prefix = "portal/vendor"  # collectstatic places the file under this prefix

    def check(self, **kwargs: Any) -> list[Any]:
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> str | list[str]:
        if path == PLOTLY_STATIC_PATH and (PLOTLY_PACKAGE_DATA / "plotly.min.js").exists():
            found = str(PLOTLY_PACKAGE_DATA / "plotly.min.js")
            return [found] if find_all or kwargs.get("all") else found
        return [] if find_all or kwargs.get("all") else ""

    def list(self, ignore_patterns: Any) -> Any:
        yield "plotly.min.js", self.storage
