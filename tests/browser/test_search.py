"""A registry officer searches the registry in the browser, narrows the result and saves the search."""

from datetime import date

import pytest

from registry.models import SavedSearch
from registry.services import individual_create
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_filter_and_save_a_search(page, maker, tree):
    for given, family, sex in (("Ada", "Lovelace", "F"), ("Bob", "Lovell", "M"), ("Cyd", "Charisse", "F")):
        individual_create(
            given_name=given, family_name=family, sex=sex, location=tree.north_a, birth_date=date(1990, 1, 1)
        )
    individual_create(given_name="Sue", family_name="Lovegood", sex="F", location=tree.south)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    browser_login(page, "maker")
    page.wait_for_selector("#dashboard")
    page.click("text=Advanced search: individuals")
    page.wait_for_selector("#result_list")
    assert sorted(page.locator("#result_list tbody td.field-given_name").all_inner_texts()) == [
        "Ada",
        "Bob",
        "Cyd",
    ]

    page.fill("#id_family_name", "Lov")
    page.check("#filter-sex input[value=F]")
    page.click("#search-form button[type=submit]")
    page.wait_for_url("**family_name=Lov**")
    assert page.locator("#result_list tbody td.field-given_name").all_inner_texts() == ["Ada"]

    page.fill("#search-form input[name=age_min]", "60")
    page.fill("#search-form input[name=age_max]", "18")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#filter-age .errorlist")
    assert "above the upper bound" in page.inner_text("#filter-age")
    page.go_back()
    page.wait_for_selector("#result_list")

    page.fill("#id_name", "Lov women")
    page.click(".save-search-form button[type=submit]")
    page.wait_for_selector(".saved-searches li > a:first-child")
    assert page.locator(".saved-searches li > a:first-child").all_inner_texts() == ["Lov women"]
    saved = SavedSearch.objects.get()
    assert saved.user == maker and "family_name=Lov" in saved.query

    page.goto("/admin/registry/search/individuals/")
    page.click(".saved-searches li > a:first-child")
    page.wait_for_url("**family_name=Lov**")
    assert page.locator("#result_list tbody td.field-given_name").all_inner_texts() == ["Ada"]
    assert not [e for e in errors if "Content Security Policy" in e], errors
