"""The access module: its layering, the location and plan scope through the hooks, the protected download."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.http import Http404
from django.test import RequestFactory

import access.plans
import access.roles
import access.scope
from access.downloads import protected_file_response
from access.roles import AUDITOR, PROGRAMME_OFFICER
from tests.access.answers import close
from tests.conftest import make_user

DOMAIN_APPS = {"registry", "programs", "payments", "uploads", "intake", "approvals", "jobs", "grievances",
               "reports", "portal", "fixtures"}  # fmt: skip


def test_access_imports_no_domain_app() -> None:
    """The bottom layer: models reach it through the owners' AppConfig.ready(), never an import."""
    offending = []
    for path in Path(access.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offending += [f"{path.name}: {name}" for name in names if name.split(".")[0] in DOMAIN_APPS]
    assert not offending


@pytest.mark.django_db
def test_location_scope_and_plan_scope_through_the_hooks(tree) -> None:
    from programs.models import BenefitPlan
    from registry.models import Individual
    from tests.programs.conftest import grant, make_plan

    officer = make_user("scoped", roles=(PROGRAMME_OFFICER,), locations=(tree.north_a,))
    auditor = make_user("audit", roles=(AUDITOR,), locations=(tree.south,))
    root = make_user("root", superuser=True)
    assert access.scope.user_location_paths(officer) == [tree.north_a.path]
    assert access.scope.location_path_in_scope(officer, tree.north_a.path + "x/")
    assert not access.scope.location_path_in_scope(officer, tree.south.path)
    assert access.scope.location_path_in_scope(root, None)
    Individual.objects.create(given_name="A", family_name="N", sex="F", location=tree.north_a)
    Individual.objects.create(given_name="B", family_name="S", sex="F", location=tree.south)
    names = set(
        Individual.objects.filter(access.scope.location_scope_q(officer)).values_list(
            "family_name", flat=True
        )
    )
    assert names == {"N"}
    granted, other = make_plan("P1"), make_plan("P2")
    officer = grant(officer, granted)
    assert list(access.plans.plan_list(user=officer)) == [granted]
    assert set(access.plans.plan_list(user=auditor)) == {granted, other}  # sees every plan, by role
    assert not access.plans.user_can_manage_plan(auditor, granted)
    assert access.plans.user_can_manage_plan(officer, granted)
    assert not access.plans.user_can_view_plan(officer, other)
    assert BenefitPlan.objects.count() == 2


@pytest.mark.django_db
def test_protected_file_is_an_attachment_never_sniffed(tmp_path, settings) -> None:
    from registry.models import SavedSearch  # any model will do to hold a FieldFile: use the storage directly

    settings.MEDIA_ROOT = tmp_path
    from django.core.files.storage import default_storage
    from django.db.models.fields.files import FieldFile, FileField

    name = default_storage.save("evidence/photo.html", ContentFile(b"<script>alert(1)</script>"))
    fieldfile = FieldFile(instance=SavedSearch(), field=FileField(name="file"), name=name)
    request = RequestFactory().get("/")
    response = protected_file_response(request, fieldfile, allowed=True)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "photo.html" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"
    close(response)
    with pytest.raises(Http404):
        protected_file_response(request, fieldfile, allowed=False)
    with pytest.raises(Http404):
        protected_file_response(request, None, allowed=True)
    missing = FieldFile(instance=SavedSearch(), field=FileField(name="file"), name="evidence/gone.png")
    with pytest.raises(Http404):
        protected_file_response(request, missing, allowed=True)


@pytest.mark.django_db
def test_plan_scope_reads_grants_when_the_query_runs(tree) -> None:
    """The plan query is built once per user object; a grant made afterwards still counts."""
    from guardian.shortcuts import assign_perm, remove_perm

    from tests.programs.conftest import make_plan

    officer = make_user("later", roles=(PROGRAMME_OFFICER,), locations=(tree.north,))
    first, second = make_plan("L1"), make_plan("L2")
    assert list(access.plans.plan_list(user=officer)) == []
    assign_perm("programs.view_benefitplan", officer, first)
    assign_perm("programs.manage_beneficiaries", officer, second)
    assert set(access.plans.plan_list(user=officer)) == {first, second}
    assert list(access.plans.plan_managed_list(user=officer)) == [second]
    remove_perm("programs.view_benefitplan", officer, first)
    assert list(access.plans.plan_list(user=officer)) == [second]
