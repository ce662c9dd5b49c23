"""Who holds what (roles, locations, plans) on one screen with its export, and everything about one user on
the audit trail: for administrators and auditors, filtered, a bounded number of queries, no full count."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from access.plans import VIEW_PLAN
from access.roles import APPROVER, REGISTRY_OFFICER
from identity.models import RoleGrant, SignInEvent, SignInEventKind
from identity.services import role_grant_revoke, role_grant_save
from portal.grants_daily import grants_daily
from portal.models import ScopeGrant
from programs.models import BenefitPlan
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
GRANTS = reverse("admin:portal_grants")
AUDIT = reverse("admin:portal_user_audit")


@pytest.fixture
def holders(tree, administrator):
    plan = BenefitPlan.objects.create(
        code="CT", name="Cash transfer", plan_type="household", start_date=TODAY
    )
    clerk = make_user("clerk", roles=(REGISTRY_OFFICER,), locations=(tree.north_a,))
    RoleGrant.objects.filter(user=clerk).update(ends_on=TODAY + timedelta(days=5), granted_by=administrator)
    assign_perm(VIEW_PLAN, clerk, plan)
    ScopeGrant.objects.filter(user=clerk, benefit_plan=plan).update(ends_on=TODAY - timedelta(days=2))
    other = make_user("other", roles=(APPROVER,), locations=(tree.south,))
    return clerk, other, plan


def rows_of(response) -> list[tuple]:
    return [tuple(str(cell) for cell in row) for row in response.context["rows"]]


def test_who_holds_what_shows_roles_locations_and_plans_with_their_dates(client, holders, administrator):
    clerk, _other, plan = holders
    client.force_login(administrator)
    response = client.get(GRANTS, {"user": "clerk"})
    assert response.status_code == 200
    rows = rows_of(response)
    by_what = {row[3]: row for row in rows}
    assert set(by_what) == {REGISTRY_OFFICER, "North A", str(plan.name)}
    assert by_what[REGISTRY_OFFICER][6] == str(TODAY + timedelta(days=5))
    assert by_what[REGISTRY_OFFICER][8] == administrator.username
    assert by_what[str(plan.name)][7] == "no", "the expired plan scope is shown as not in force"
    assert rows[0][3] == str(plan.name), "soonest end first"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "role"}, {("clerk", REGISTRY_OFFICER), ("other", APPROVER)}),
        ({"kind": "location"}, {("clerk", "North A"), ("other", "South")}),
        ({"ending_within": "7"}, {("clerk", REGISTRY_OFFICER)}),
        ({"state": "expired"}, {("clerk", "Cash transfer")}),
    ],
)
def test_who_holds_what_filters(client, holders, administrator, params, expected):
    client.force_login(administrator)
    rows = rows_of(client.get(GRANTS, params))
    assert {(row[0], row[3]) for row in rows if row[0] in ("clerk", "other")} == expected


def test_filter_by_role(client, holders, administrator):
    client.force_login(administrator)
    rows = rows_of(client.get(GRANTS, {"role": Group.objects.get(name=APPROVER).pk}))
    assert {(row[0], row[3]) for row in rows} == {("other", APPROVER)}


def test_a_bad_filter_is_named_on_its_field(client, holders, administrator):
    client.force_login(administrator)
    response = client.get(GRANTS, {"ending_within": "-3"})
    assert response.status_code == 200 and "ending_within" in response.context["form"].errors
    assert response.context["rows"] == []


def test_the_screen_runs_a_bounded_number_of_queries_whatever_the_rows(
    client, holders, administrator, django_assert_max_num_queries, tree
):
    client.force_login(administrator)
    client.get(GRANTS)  # warm the session and caches
    with django_assert_max_num_queries(12):
        client.get(GRANTS)
    for index in range(15):
        make_user(f"more{index}", roles=(APPROVER,), locations=(tree.north,))
    with django_assert_max_num_queries(12):
        response = client.get(GRANTS)
    assert len(response.context["rows"]) > 30


def test_the_export_goes_through_the_safe_writer(client, tree, administrator):
    make_user("=cmd|' /C calc'!A0", roles=(REGISTRY_OFFICER,), locations=(tree.north,))
    client.force_login(administrator)
    response = client.get(GRANTS, {"kind": "location", "export": "csv"})
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["user", "name", "holds", "what"]
    row = next(r for r in rows[1:] if "calc" in r[0])
    assert row[0].startswith("'="), "a formula-leading cell is neutralised"
    assert row[3] == "North"


def test_only_administrators_and_auditors_read_them(client, holders, auditor, maker):
    client.force_login(auditor)
    assert client.get(GRANTS).status_code == 200
    assert f'href="{GRANTS}"' in client.get(reverse("admin:index")).content.decode(), "in the sidebar"
    assert client.get(AUDIT, {"user": "clerk"}).status_code == 200
    client.force_login(maker)
    assert client.get(GRANTS).status_code == 403
    assert f'href="{GRANTS}"' not in client.get(reverse("admin:index")).content.decode()
    assert client.get(AUDIT, {"user": "clerk"}).status_code == 403
    assert client.get(GRANTS, {"export": "csv"}).status_code == 403


def test_everything_about_one_user_on_one_trail(client, tree, administrator):
    clerk = make_user("clerk", locations=(tree.north,))
    login = reverse("admin:login")
    client.post(login, {"username": "clerk", "password": "wrong-password"})
    assert client.post(login, {"username": "clerk", "password": PASSWORD}).status_code == 302
    client.post(reverse("admin:logout"))
    approver = Group.objects.get(name=APPROVER)
    grant = role_grant_save(user=clerk, role=approver, actor=administrator)
    role_grant_save(
        user=clerk, role=approver, ends_on=TODAY + timedelta(days=9), actor=administrator, grant=grant
    )
    role_grant_revoke(grant=RoleGrant.objects.get(pk=grant.pk), actor=administrator)
    ScopeGrant.objects.filter(user=clerk).update(ends_on=TODAY - timedelta(days=1))
    grants_daily()
    SignInEvent.objects.create(
        kind=SignInEventKind.TWO_FACTOR_RESET, user=clerk, username="clerk", actor=administrator
    )
    make_user("bystander", roles=(APPROVER,))

    client.force_login(administrator)
    response = client.get(AUDIT, {"user": "clerk"})
    assert response.status_code == 200
    events = [row[1] for row in rows_of(response)]
    for expected in (
        "signed in",
        "sign-in failed",
        "two-factor reset by an administrator",
        "scope grant ended",
        "role: granted",
        "role: changed",
        "role: taken away",
        "location: granted",
    ):
        assert expected in events, (expected, events)
    assert all("bystander" not in str(row) for row in rows_of(response))
    reset = next(row for row in rows_of(response) if row[1] == "two-factor reset by an administrator")
    assert reset[5] == administrator.username

    only_grants = [row[1] for row in rows_of(client.get(AUDIT, {"user": "clerk", "topic": "grants"}))]
    assert "signed in" not in only_grants and "role: taken away" in only_grants
    assert "scope grant ended" in only_grants
    only_sign_ins = {row[1] for row in rows_of(client.get(AUDIT, {"user": "clerk", "topic": "sign_in"}))}
    assert only_sign_ins == {"signed in", "sign-in failed", "signed out"}

    export = client.get(AUDIT, {"user": "clerk", "export": "csv"})
    text = b"".join(export.streaming_content).decode("utf-8-sig")
    assert "role: taken away" in text and "sign-in failed" in text


def test_a_period_ending_before_it_starts_is_refused_on_its_field(client, tree, administrator):
    client.force_login(administrator)
    response = client.get(
        AUDIT, {"user": "clerk", "since": TODAY.isoformat(), "until": (TODAY - timedelta(days=1)).isoformat()}
    )
    assert response.status_code == 200 and "until" in response.context["form"].errors
    assert not response.context["searched"]


def test_the_api_keys_a_user_made_and_rotated_are_on_their_trail(client, tree, administrator):
    from grievances.partners import GrievancePartner
    from identity.apikeys import api_key_rotate

    partner = GrievancePartner.objects.create(name="Partner of the trail")
    api_key_rotate(holder=partner, prefix="grv", actor=administrator, address="10.1.2.3")
    api_key_rotate(
        holder=partner, prefix="grv", actor=administrator, address="10.1.2.3", overlap=timedelta(hours=2)
    )
    other = GrievancePartner.objects.create(name="Someone else's partner")
    api_key_rotate(holder=other, prefix="grv", actor=make_user("other-admin"))

    client.force_login(administrator)
    rows = rows_of(client.get(AUDIT, {"user": administrator.username, "topic": "api_keys"}))
    assert [row[1] for row in rows] == ["API key: key rotated", "API key: key created"], rows
    assert {row[2] for row in rows} == {"Partner of the trail"}
    assert {row[6] for row in rows} == {"10.1.2.3"}
    everything = [row[1] for row in rows_of(client.get(AUDIT, {"user": administrator.username}))]
    assert "API key: key created" in everything
    assert "API key: key created" not in [
        row[1] for row in rows_of(client.get(AUDIT, {"user": administrator.username, "topic": "sign_in"}))
    ]
