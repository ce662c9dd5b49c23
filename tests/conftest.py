"""Shared test builders: a small location tree and named actors with roles and scope."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group, User

from access.roles import ADMINISTRATOR, APPROVER, AUDITOR, PROGRAMME_OFFICER, REGISTRY_OFFICER
from portal.models import UserProfile
from registry.models import Location

PASSWORD = "correct-horse-battery-9"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@dataclass
class Tree:
    """North region (two districts) and South region."""

    north: Location
    north_a: Location
    north_b: Location
    south: Location


@pytest.fixture
def tree(db) -> Tree:
    north = Location.objects.create(code="N", name="North")
    south = Location.objects.create(code="S", name="South")
    return Tree(
        north=north,
        north_a=Location.objects.create(code="N-A", name="North A", parent=north),
        north_b=Location.objects.create(code="N-B", name="North B", parent=north),
        south=south,
    )


def roles_present() -> None:
    """A transactional test's flush empties the role groups the migrations made; make them again."""
    from portal.roles import ROLES, roles_sync

    if Group.objects.filter(name__in=ROLES).count() < len(ROLES):
        roles_sync()


def make_user(
    username: str,
    *,
    roles: tuple[str, ...] = (),
    locations: tuple[Location, ...] = (),
    superuser: bool = False,
) -> User:
    if roles:
        roles_present()
    user = User.objects.create_user(
        username, f"{username}@example.org", PASSWORD, is_staff=True, is_superuser=superuser
    )
    user.groups.set(Group.objects.filter(name__in=roles))
    profile = UserProfile.objects.create(user=user)
    profile.locations.set(locations)
    return User.objects.get(pk=user.pk)  # fresh: no cached permissions or scope


@pytest.fixture
def admin_user(db) -> User:  # overrides pytest-django's, with a profile
    return make_user("root", superuser=True)


@pytest.fixture
def maker(tree: Tree) -> User:
    """A registry and programme officer in the North."""
    return make_user("maker", roles=(REGISTRY_OFFICER, PROGRAMME_OFFICER), locations=(tree.north,))


@pytest.fixture
def checker(tree: Tree) -> User:
    """An approver in the North."""
    return make_user("checker", roles=(APPROVER,), locations=(tree.north,))


@pytest.fixture
def south_officer(tree: Tree) -> User:
    return make_user("south", roles=(REGISTRY_OFFICER, PROGRAMME_OFFICER), locations=(tree.south,))


@pytest.fixture
def auditor(tree: Tree) -> User:
    return make_user("auditor", roles=(AUDITOR,), locations=(tree.north, tree.south))


@pytest.fixture
def administrator(tree: Tree) -> User:
    return make_user("administrator", roles=(ADMINISTRATOR,))


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright; never a downloaded browser."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        if os.environ.get("PORTAL_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package to run browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    yield page
    context.close()


def browser_login(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")


@pytest.fixture(autouse=True)
def _reference_data_after_flush(request: pytest.FixtureRequest) -> None:
    """Give transactional tests the rows the data migrations wrote.

    A transactional test ends with a flush of every table; post_migrate brings
    back content types, permissions and roles, but not the registry's default
    custom-field schemas and the default message templates, which later tests (uploads, forms,
    notifications) rely on.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
    )
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    import importlib

    from registry.models import RegistrySchema

    defaults = importlib.import_module("registry.migrations.0003_indexes_default_schemas")
    RegistrySchema.objects.get_or_create(kind="individual", defaults={"schema": defaults.INDIVIDUAL_SCHEMA})
    RegistrySchema.objects.get_or_create(kind="household", defaults={"schema": defaults.HOUSEHOLD_SCHEMA})
    from notifications.models import MessageTemplate
    from notifications.services import templates_install

    messages = importlib.import_module("grievances.migrations.0004_notification_templates")
    templates_install(MessageTemplate, messages.TEMPLATES)
    grant_notices = importlib.import_module("portal.migrations.0011_scope_grants")
    templates_install(MessageTemplate, grant_notices.TEMPLATES)


@pytest.fixture(autouse=True)
def _registry_schema_cache_closed() -> None:
    """Each test starts outside a request: no registry schema cached by a request an earlier test opened
    and never finished (a streaming response left unread), which a test's queryset update (no signal)
    would not drop."""
    from registry.schemas import _cache_drop

    _cache_drop()
