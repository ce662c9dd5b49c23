"""Who sees which jobs: the owner, and administrators and auditors through the one shared role check."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from access.roles import ADMINISTRATOR, AUDITOR, PROGRAMME_OFFICER, user_in_roles
from approvals import selectors as approval_selectors
from jobs.admin import SEE_ALL_JOBS_ROLES
from jobs.models import Job
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
JOBS_APP = Path(__file__).resolve().parents[2] / "jobs"
APPS_ABOVE_JOBS = ("approvals", "portal", "registry", "programs", "payments", "uploads", "grievances")


def listed_labels(client) -> str:  # type: ignore[no-untyped-def]
    response = client.get("/admin/jobs/job/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def jobs(maker, south_officer) -> tuple[Job, Job]:
    return (
        Job.objects.create(kind="k", label="Import of the maker", created_by=maker),
        Job.objects.create(kind="k", label="Import of the south", created_by=south_officer),
    )


def test_auditors_and_administrators_see_every_job(client, auditor, administrator, jobs):
    for user in (auditor, administrator):
        client.force_login(user)
        page = listed_labels(client)
        assert "Import of the maker" in page and "Import of the south" in page


def test_officers_see_only_their_own_jobs(client, maker, jobs):
    client.force_login(maker)
    page = listed_labels(client)
    assert "Import of the maker" in page and "Import of the south" not in page


def test_the_jobs_roles_are_the_portals_administrator_and_auditor():
    assert SEE_ALL_JOBS_ROLES == (ADMINISTRATOR, AUDITOR)


def test_one_role_check_shared_by_approvals_and_jobs_and_cached_on_the_user(tree, django_assert_num_queries):
    assert approval_selectors.user_in_roles is user_in_roles
    officer = make_user("officer", roles=(PROGRAMME_OFFICER,), locations=(tree.north,))
    with django_assert_num_queries(1):  # the user's roles are read once, every check answers from them
        assert user_in_roles(officer, (PROGRAMME_OFFICER,))
        assert not user_in_roles(officer, SEE_ALL_JOBS_ROLES)
        assert user_in_roles(officer, (PROGRAMME_OFFICER,))
        assert not user_in_roles(officer, SEE_ALL_JOBS_ROLES)


def test_jobs_imports_no_app_above_it():
    imported = set()
    for source in JOBS_APP.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add((source.name, node.module.split(".")[0]))
            elif isinstance(node, ast.Import):
                imported.update((source.name, alias.name.split(".")[0]) for alias in node.names)
    assert [pair for pair in sorted(imported) if pair[1] in APPS_ABOVE_JOBS] == []
