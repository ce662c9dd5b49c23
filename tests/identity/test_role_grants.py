"""Role grants that expire: who holds what until when, in force only within their dates, on every request."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from access.roles import APPROVER, REGISTRY_OFFICER, user_in_roles, user_role_ids
from identity.models import RoleGrant, SignInEvent, SignInEventKind
from identity.services import role_grant_revoke, role_grant_save
from notifications.models import OutboxMessage
from portal.grants_daily import grants_daily as role_grants_daily
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def role(name: str) -> Group:
    return Group.objects.get(name=name)


def test_every_role_held_has_its_grant_whichever_way_it_was_given(tree):
    clerk = make_user("clerk", roles=(REGISTRY_OFFICER,))
    assert RoleGrant.objects.filter(user=clerk, role=role(REGISTRY_OFFICER), ends_on=None).exists()
    role(APPROVER).user_set.add(clerk)
    assert RoleGrant.objects.filter(user=clerk, role=role(APPROVER)).exists()
    clerk.groups.remove(role(REGISTRY_OFFICER))
    assert not RoleGrant.objects.filter(user=clerk, role=role(REGISTRY_OFFICER)).exists()
    clerk.groups.clear()
    assert not RoleGrant.objects.filter(user=clerk).exists()


def test_an_ended_grant_gives_nothing_from_the_next_request(client, tree):
    clerk = make_user("clerk", roles=(REGISTRY_OFFICER,), locations=(tree.north,))
    client.force_login(clerk)
    url = reverse("admin:registry_individual_changelist")
    assert client.get(url).status_code == 200
    RoleGrant.objects.filter(user=clerk).update(ends_on=TODAY - timedelta(days=1))
    assert client.get(url).status_code == 403, "no nightly job needed: the next request is refused"
    clerk = type(clerk).objects.get(pk=clerk.pk)
    assert not user_in_roles(clerk, (REGISTRY_OFFICER,))
    assert not Group.objects.filter(pk__in=user_role_ids(clerk)).exists()
    assert not clerk.has_perm("registry.view_individual")


def test_the_last_day_is_in_force_and_a_future_grant_is_not_yet(tree):
    clerk = make_user("clerk", roles=(REGISTRY_OFFICER, APPROVER))
    RoleGrant.objects.filter(user=clerk, role=role(REGISTRY_OFFICER)).update(ends_on=TODAY)
    RoleGrant.objects.filter(user=clerk, role=role(APPROVER)).update(starts_on=TODAY + timedelta(days=1))
    clerk = type(clerk).objects.get(pk=clerk.pk)
    assert user_in_roles(clerk, (REGISTRY_OFFICER,))
    assert not user_in_roles(clerk, (APPROVER,))
    assert set(Group.objects.filter(pk__in=user_role_ids(clerk)).values_list("name", flat=True)) == {
        REGISTRY_OFFICER
    }


def test_a_grant_cannot_end_before_it_starts(tree, administrator):
    clerk = make_user("clerk")
    with pytest.raises(ValidationError) as refused:
        role_grant_save(
            user=clerk,
            role=role(APPROVER),
            starts_on=TODAY,
            ends_on=TODAY - timedelta(days=1),
            actor=administrator,
        )
    assert "ends_on" in refused.value.message_dict
    assert not clerk.groups.exists() and not RoleGrant.objects.filter(user=clerk).exists()
    grant = RoleGrant.objects.create(user=clerk, role=role(APPROVER))
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleGrant.objects.filter(pk=grant.pk).update(starts_on=TODAY, ends_on=TODAY - timedelta(days=2))


def test_only_administrators_grant_and_revoke(tree, administrator, maker):
    clerk = make_user("clerk")
    with pytest.raises(PermissionDenied):
        role_grant_save(user=clerk, role=role(APPROVER), actor=maker)
    grant = role_grant_save(
        user=clerk, role=role(APPROVER), ends_on=TODAY + timedelta(days=30), actor=administrator
    )
    assert clerk.groups.filter(name=APPROVER).exists() and grant.granted_by == administrator
    with pytest.raises(PermissionDenied):
        role_grant_revoke(grant=grant, actor=maker)
    role_grant_revoke(grant=grant, actor=administrator)
    assert not clerk.groups.exists() and not RoleGrant.objects.filter(pk=grant.pk).exists()
    assert grant.history.filter(history_type="-").exists(), "the revocation is on the grant's history"


def test_an_administrator_gives_a_role_until_a_date_in_the_admin(client, tree, administrator):
    clerk = make_user("clerk")
    client.force_login(administrator)
    ends = TODAY + timedelta(days=90)
    response = client.post(
        reverse("admin:identity_rolegrant_add"),
        {"user": clerk.pk, "role": role(APPROVER).pk, "starts_on": "", "ends_on": ends.isoformat()},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    grant = RoleGrant.objects.get(user=clerk, role=role(APPROVER))
    assert grant.ends_on == ends and grant.granted_by == administrator
    assert clerk.groups.filter(name=APPROVER).exists()
    wrong = client.post(
        reverse("admin:identity_rolegrant_change", args=[grant.pk]),
        {"starts_on": TODAY.isoformat(), "ends_on": (TODAY - timedelta(days=3)).isoformat()},
    )
    assert wrong.status_code == 200 and "cannot end before it starts" in wrong.content.decode()
    grant.refresh_from_db()
    assert grant.ends_on == ends


def test_others_cannot_give_roles_in_the_admin(client, tree, maker):
    from django.contrib.auth.models import Permission

    maker.user_permissions.add(*Permission.objects.filter(content_type__app_label="identity"))
    client.force_login(maker)
    response = client.post(
        reverse("admin:identity_rolegrant_add"), {"user": maker.pk, "role": role(APPROVER).pk}
    )
    assert response.status_code == 403
    assert not maker.groups.filter(name=APPROVER).exists()


def test_who_holds_what_until_when_exports_through_the_safe_writer(client, tree, administrator):
    clerk = make_user("=cmd|' /C calc'!A0", roles=(REGISTRY_OFFICER,))
    RoleGrant.objects.filter(user=clerk).update(ends_on=TODAY + timedelta(days=3))
    client.force_login(administrator)
    response = client.post(
        reverse("admin:identity_rolegrant_changelist"),
        {"action": "role_grants_export", "select_across": "1", "index": "0", "_selected_action": ["x"]},
    )
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:5] == ["user", "name", "role", "from", "until"]
    row = next(r for r in rows if r[2] == REGISTRY_OFFICER and "calc" in r[0])
    assert row[0].startswith("'="), "a formula-leading cell is neutralised"
    assert row[4] == (TODAY + timedelta(days=3)).isoformat() and row[5] == "yes"


def test_a_week_before_the_end_the_user_and_the_granter_are_told_once(tree, administrator):
    clerk = make_user("clerk")
    clerk.email = "clerk@example.org"
    clerk.save()
    administrator.email = "admin@example.org"
    administrator.save()
    role_grant_save(user=clerk, role=role(APPROVER), ends_on=TODAY + timedelta(days=6), actor=administrator)
    role_grant_save(
        user=clerk, role=role(REGISTRY_OFFICER), ends_on=TODAY + timedelta(days=20), actor=administrator
    )
    assert role_grants_daily()["noticed"] == 1
    queued = OutboxMessage.objects.filter(template_key="grant.ending")
    assert set(queued.values_list("recipient", flat=True)) == {"clerk@example.org", "admin@example.org"}
    assert all(APPROVER in message.subject for message in queued)
    assert role_grants_daily()["noticed"] == 0 and queued.count() == 2


def test_an_ended_grant_is_recorded_on_the_audit_trail_once(tree, administrator):
    clerk = make_user("clerk", roles=(APPROVER,))
    RoleGrant.objects.filter(user=clerk).update(ends_on=TODAY - timedelta(days=1))
    assert role_grants_daily()["ended"] == 1
    assert role_grants_daily()["ended"] == 0
    event = SignInEvent.objects.get(user=clerk, kind=SignInEventKind.ROLE_GRANT_ENDED)
    assert event.detail == APPROVER


def test_the_people_offered_for_a_role_are_those_holding_it_in_force(tree):
    from access.roles import users_in_roles

    current = make_user("current", roles=(APPROVER,))
    ended = make_user("ended", roles=(APPROVER, REGISTRY_OFFICER))
    RoleGrant.objects.filter(user=ended, role=role(APPROVER)).update(ends_on=TODAY - timedelta(days=1))
    offered = set(users_in_roles((APPROVER,)).values_list("username", flat=True))
    assert "current" in offered and "ended" not in offered
    assert "ended" in set(users_in_roles((APPROVER, REGISTRY_OFFICER)).values_list("username", flat=True))
    assert current.is_active
