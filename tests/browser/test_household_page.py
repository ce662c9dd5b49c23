"""A registry officer registers a household of five on one page, from the keyboard, then edits it there."""

import pytest

from approvals.models import ApprovalPolicy
from registry.models import Household, HouseholdMember
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PEOPLE = [
    ("Amina", "Okafor", "F", "1980-03-01", "head"),
    ("Kofi", "Okafor", "M", "1978-07-12", "spouse"),
    ("Esi", "Okafor", "F", "2010-01-05", "child"),
    ("Yaw", "Okafor", "M", "2012-09-30", "child"),
    ("Ama", "Mensah", "F", "1950-02-02", "parent"),
]


def fill_row(page, index: int, given: str, family: str, sex: str, born: str, role: str) -> None:
    prefix = f"#id_members-{index}-"
    page.fill(prefix + "given_name", given)
    page.fill(prefix + "family_name", family)
    page.select_option(prefix + "sex", sex)
    page.fill(prefix + "birth_date", born)
    page.select_option(prefix + "role", role)


def test_register_a_household_of_five_and_edit_it(page, maker, tree):
    ApprovalPolicy.objects.get_or_create(action="registry.update")[
        0
    ].levels.all().delete()  # edits apply at once
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.set_viewport_size({"width": 820, "height": 1180})  # a tablet, upright
    browser_login(page, "maker")
    page.goto("/admin/registry/household/add/")
    page.fill("#id_code", "HH-BROWSER")
    page.click(".field-location .select2-selection")
    page.fill(".select2-search__field", "North A")
    page.wait_for_selector(".select2-results__option--highlighted:has-text('North A')")
    page.keyboard.press("Enter")
    page.fill("#id_registration_date", "2026-01-02")

    page.focus("#member-add")
    page.keyboard.press("Enter")  # the button, from the keyboard
    assert page.evaluate("document.activeElement.id") == "id_members-0-given_name"
    for index, person in enumerate(PEOPLE):
        if index:
            page.keyboard.press("Alt+Shift+M")  # the shortcut, from anywhere
            assert page.evaluate("document.activeElement.id") == f"id_members-{index}-given_name"
        fill_row(page, index, *person)
    page.check("#id_members-1-is_primary_recipient")
    page.select_option("#id_members-0-doc_type_0", "national_id")
    page.fill("#id_members-0-doc_value_0", "NID-77")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")

    household = Household.objects.get(code="HH-BROWSER")
    assert household.size == 5 and household.location == tree.north_a
    assert (
        HouseholdMember.objects.get(household=household, is_primary_recipient=True).individual.given_name
        == "Kofi"
    )
    assert page.locator(".member-row").count() == 5

    # Editing: the same page, a name corrected, a row removed, a newborn added.
    page.fill("#id_members-3-given_name", "Yao")
    page.check("#id_members-4-DELETE")
    page.click("#member-add")
    fill_row(page, 5, "Baby", "Okafor", "F", "2025-05-05", "child")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    household.refresh_from_db()
    current = set(
        HouseholdMember.objects.filter(household=household, end_date__isnull=True).values_list(
            "individual__given_name", flat=True
        )
    )
    assert current == {"Amina", "Kofi", "Esi", "Yao", "Baby"} and household.size == 5
    assert not [e for e in errors if "Content Security Policy" in e], errors
