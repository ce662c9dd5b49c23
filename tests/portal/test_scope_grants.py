"""Location and plan scopes that expire: one grant per scope, out of force on the next request, told a week
before (user and supervisor, through the outbox), backfilled for the scopes given before grants existed."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from access.plans import VIEW_PLAN, plan_list, user_can_view_plan
from access.roles import PROGRAMME_OFFICER, REGISTRY_OFFICER
from access.scope import user_location_paths
from identity.models import SignInEvent, SignInEventKind
from notifications.models import OutboxMessage
from portal.grants import scope_grant_revoke, scope_grant_save
from portal.grants_daily import grants_daily
from portal.models import ScopeGrant, ScopeKind, UserProfile
from programs.models import BenefitPlan
from registry.models import Individual
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def fresh(user):
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def plan(db) -> BenefitPlan:
    return BenefitPlan.objects.create(
        code="CT", name="Cash transfer", plan_type="household", start_date=TODAY
    )


def test_every_location_and_plan_held_has_its_grant_whichever_way_it_was_given(tree, plan):
    clerk = make_user("clerk", locations=(tree.north,))
    assert ScopeGrant.objects.filter(user=clerk, kind=ScopeKind.LOCATION, location=tree.north).exists()
    tree.south.user_profiles.add(clerk.profile)  # from the location's side
    assert ScopeGrant.objects.filter(user=clerk, location=tree.south).exists()
    clerk.profile.locations.remove(tree.north)
    assert not ScopeGrant.objects.filter(user=clerk, location=tree.north).exists()
    tree.south.user_profiles.clear()
    assert not ScopeGrant.objects.filter(user=clerk, kind=ScopeKind.LOCATION).exists()

    assign_perm(VIEW_PLAN, clerk, plan)
    assign_perm("programs.manage_beneficiaries", clerk, plan)
    assert ScopeGrant.objects.filter(user=clerk, kind=ScopeKind.PLAN, benefit_plan=plan).count() == 1
    remove_perm(VIEW_PLAN, clerk, plan)
    assert ScopeGrant.objects.filter(user=clerk, benefit_plan=plan).exists(), "one permission is left"
    remove_perm("programs.manage_beneficiaries", clerk, plan)
    assert not ScopeGrant.objects.filter(user=clerk, benefit_plan=plan).exists()


def test_an_ended_location_scope_gives_nothing_from_the_next_request(client, tree):
    clerk = make_user("clerk", roles=(REGISTRY_OFFICER,), locations=(tree.north_a, tree.south))
    person = Individual.objects.create(given_name="Nadia", family_name="North", location=tree.north_a)
    client.force_login(clerk)
    url = reverse("admin:registry_individual_change", args=[person.pk])
    assert client.get(url).status_code == 200
    ScopeGrant.objects.filter(user=clerk, location=tree.north_a).update(ends_on=TODAY - timedelta(days=1))
    assert client.get(url).status_code in (302, 404), "no nightly job needed: the next request is refused"
    assert user_location_paths(fresh(clerk)) == [tree.south.path]


def test_the_last_day_is_in_force_and_a_future_scope_is_not_yet(tree):
    clerk = make_user("clerk", locations=(tree.north_a, tree.south))
    ScopeGrant.objects.filter(user=clerk, location=tree.north_a).update(ends_on=TODAY)
    ScopeGrant.objects.filter(user=clerk, location=tree.south).update(starts_on=TODAY + timedelta(days=1))
    assert user_location_paths(fresh(clerk)) == [tree.north_a.path]


def test_an_ended_plan_scope_gives_no_object_permission(tree, plan):
    clerk = make_user("clerk", roles=(PROGRAMME_OFFICER,))
    assign_perm(VIEW_PLAN, clerk, plan)
    clerk = fresh(clerk)
    assert plan in plan_list(user=clerk) and user_can_view_plan(clerk, plan)
    ScopeGrant.objects.filter(user=clerk, benefit_plan=plan).update(ends_on=TODAY - timedelta(days=1))
    clerk = fresh(clerk)
    assert plan not in plan_list(user=clerk)
    assert not clerk.has_perm(VIEW_PLAN, plan) and not user_can_view_plan(clerk, plan)
    assert clerk.get_all_permissions(plan) == set()


def test_a_scope_cannot_end_before_it_starts(tree, administrator):
    clerk = make_user("clerk")
    with pytest.raises(ValidationError) as refused:
        scope_grant_save(
            user=clerk,
            location=tree.north,
            starts_on=TODAY,
            ends_on=TODAY - timedelta(days=1),
            actor=administrator,
        )
    assert "ends_on" in refused.value.message_dict
    assert not clerk.profile.locations.exists() and not ScopeGrant.objects.filter(user=clerk).exists()
    clerk.profile.locations.add(tree.north)
    with pytest.raises(IntegrityError), transaction.atomic():
        ScopeGrant.objects.filter(user=clerk).update(starts_on=TODAY, ends_on=TODAY - timedelta(days=2))


def test_only_administrators_grant_and_revoke_scopes(tree, plan, administrator, maker):
    clerk = make_user("clerk")
    with pytest.raises(PermissionDenied):
        scope_grant_save(user=clerk, location=tree.north, actor=maker)
    location = scope_grant_save(
        user=clerk, location=tree.north, ends_on=TODAY + timedelta(days=30), actor=administrator
    )
    on_plan = scope_grant_save(
        user=clerk, benefit_plan=plan, ends_on=TODAY + timedelta(days=9), actor=administrator
    )
    assert location.granted_by == administrator and clerk.profile.locations.filter(pk=tree.north.pk).exists()
    assert fresh(clerk).has_perm(VIEW_PLAN, plan) and on_plan.ends_on == TODAY + timedelta(days=9)
    with pytest.raises(PermissionDenied):
        scope_grant_revoke(grant=location, actor=maker)
    scope_grant_revoke(grant=location, actor=administrator)
    scope_grant_revoke(grant=on_plan, actor=administrator)
    assert not clerk.profile.locations.exists() and not fresh(clerk).has_perm(VIEW_PLAN, plan)
    assert not ScopeGrant.objects.filter(user=clerk).exists()
    assert location.history.filter(history_type="-").exists(), "the revocation is on the grant's history"


def test_an_administrator_gives_a_location_until_a_date_in_the_admin(client, tree, administrator):
    clerk = make_user("clerk")
    client.force_login(administrator)
    ends = TODAY + timedelta(days=90)
    response = client.post(
        reverse("admin:portal_scopegrant_add"),
        {"user": clerk.pk, "location": tree.north_a.pk, "benefit_plan": "", "starts_on": "", "ends_on": ends},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    grant = ScopeGrant.objects.get(user=clerk, location=tree.north_a)
    assert grant.ends_on == ends and grant.granted_by == administrator
    wrong = client.post(
        reverse("admin:portal_scopegrant_change", args=[grant.pk]),
        {"starts_on": TODAY.isoformat(), "ends_on": (TODAY - timedelta(days=3)).isoformat()},
    )
    assert wrong.status_code == 200
    assert "cannot end before it starts" in str(wrong.context["adminform"].form.errors["ends_on"])
    grant.refresh_from_db()
    assert grant.ends_on == ends
    neither = client.post(reverse("admin:portal_scopegrant_add"), {"user": clerk.pk, "ends_on": ""})
    assert "location" in neither.context["adminform"].form.errors


def test_others_cannot_give_scopes_in_the_admin(client, tree, maker):
    from django.contrib.auth.models import Permission

    maker.user_permissions.add(*Permission.objects.filter(codename__endswith="scopegrant"))
    client.force_login(maker)
    response = client.post(
        reverse("admin:portal_scopegrant_add"), {"user": maker.pk, "location": tree.south.pk}
    )
    assert response.status_code == 403
    assert not maker.profile.locations.filter(pk=tree.south.pk).exists()


def test_the_backfill_gives_every_scope_held_a_grant(tree, plan):
    clerk = make_user("clerk", locations=(tree.north, tree.south))
    assign_perm(VIEW_PLAN, clerk, plan)
    ScopeGrant.objects.all().delete()
    migration = importlib.import_module("portal.migrations.0011_scope_grants")
    migration.grants_from_scopes(django_apps, None)
    assert set(
        ScopeGrant.objects.filter(user=clerk).values_list("kind", "location_id", "benefit_plan_id")
    ) == {
        ("location", tree.north.pk, None),
        ("location", tree.south.pk, None),
        ("plan", None, plan.pk),
    }


def test_a_week_before_the_end_the_user_and_their_supervisor_are_told_once(tree, plan, administrator):
    boss = make_user("boss")
    boss.email = "boss@example.org"
    boss.save()
    UserProfile.objects.filter(user=boss).update(preferred_language="fr")
    clerk = make_user("clerk")
    UserProfile.objects.filter(user=clerk).update(supervisor=boss)
    scope_grant_save(user=clerk, location=tree.north, ends_on=TODAY + timedelta(days=6), actor=administrator)
    scope_grant_save(user=clerk, benefit_plan=plan, ends_on=TODAY + timedelta(days=30), actor=administrator)
    assert grants_daily()["noticed"] == 1
    queued = OutboxMessage.objects.filter(template_key="grant.ending")
    assert set(queued.values_list("recipient", "language")) == {
        ("clerk@example.org", "en"),
        ("boss@example.org", "fr"),
    }, "the supervisor, not the granter, in their own language"
    assert "North" in queued.get(language="fr").body and "prend fin" in queued.get(language="fr").subject
    assert grants_daily()["noticed"] == 0 and queued.count() == 2


def test_changing_the_dates_arms_the_notice_again(tree, administrator):
    clerk = make_user("clerk")
    grant = scope_grant_save(
        user=clerk, location=tree.north, ends_on=TODAY + timedelta(days=3), actor=administrator
    )
    grants_daily()
    scope_grant_save(
        user=clerk, location=tree.north, ends_on=TODAY + timedelta(days=5), actor=administrator, grant=grant
    )
    assert grants_daily()["noticed"] == 1


def test_an_ended_scope_is_recorded_on_the_audit_trail_once(tree):
    clerk = make_user("clerk", locations=(tree.south,))
    ScopeGrant.objects.filter(user=clerk).update(ends_on=TODAY - timedelta(days=1))
    assert grants_daily()["ended"] == 1
    assert grants_daily()["ended"] == 0
    event = SignInEvent.objects.get(user=clerk, kind=SignInEventKind.SCOPE_GRANT_ENDED)
    assert event.detail == str(tree.south)
