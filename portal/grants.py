"""Scope grants with dates: kept in step with profiles' locations and plan object permissions, read by access.

A location on a user's profile (UserProfile.locations) and the object permissions a user holds on a benefit
plan (django-guardian) each have one ScopeGrant row, whichever way they were given (the admin, a service,
the demo, single sign-on): giving and taking them away stay where they are, and the grant adds the dates.
Access asks `locations_out_of_force` / `plans_out_of_force` (access.hooks) on every request, so a scope
outside its dates stops at once, without a nightly job.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import UserObjectPermission

from access.roles import ADMINISTRATOR, user_in_roles
from portal.models import ScopeGrant, ScopeKind, UserProfile
from programs.models import BenefitPlan


def _out_of_force(today: Any) -> Q:
    return Q(starts_on__gt=today) | Q(ends_on__lt=today)


def locations_out_of_force(user: Any) -> QuerySet[Any]:
    """The ids of the locations on this user's profile whose grant is out of force today (a subquery)."""
    return (
        ScopeGrant.objects.filter(user_id=user.pk, kind=ScopeKind.LOCATION)
        .filter(_out_of_force(timezone.localdate()))
        .values("location_id")
    )


def plans_out_of_force(user: Any) -> QuerySet[Any]:
    """The ids of the plans this user holds object permissions on whose grant is out of force today."""
    return (
        ScopeGrant.objects.filter(user_id=user.pk, kind=ScopeKind.PLAN)
        .filter(_out_of_force(timezone.localdate()))
        .values_list("benefit_plan_id", flat=True)
    )


# Keeping the grants in step with the memberships -------------------------------------------------------


def profile_locations_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """A location put on or taken off a profile (from either side): its grant row follows, on the history."""
    if action == "post_add":
        if reverse:  # instance is a location, pk_set profiles
            pairs = [(user_id, instance.pk) for user_id in _profile_users(pk_set or ())]
        else:
            pairs = [(instance.user_id, pk) for pk in pk_set or ()]
        for user_id, location_id in pairs:
            ScopeGrant.objects.get_or_create(
                user_id=user_id, kind=ScopeKind.LOCATION, location_id=location_id
            )
    elif action in ("post_remove", "pre_clear"):
        grants = ScopeGrant.objects.filter(kind=ScopeKind.LOCATION)
        if reverse:
            users = _profile_users(pk_set or ()) if action == "post_remove" else _location_users(instance)
            grants = grants.filter(location_id=instance.pk, user_id__in=users)
        else:
            grants = grants.filter(user_id=instance.user_id)
            if action == "post_remove":
                grants = grants.filter(location_id__in=pk_set or ())
        for grant in grants:
            grant.delete()  # one by one: each removal is on the history


def _profile_users(profile_ids: Any) -> list[int]:
    return list(UserProfile.objects.filter(pk__in=profile_ids).values_list("user_id", flat=True))


def _location_users(location: Any) -> list[int]:
    return list(UserProfile.objects.filter(locations=location).values_list("user_id", flat=True))


def _plan_content_type() -> ContentType:
    return ContentType.objects.get_for_model(BenefitPlan)


def plan_permission_saved(sender: Any, instance: UserObjectPermission, created: bool, **kwargs: Any) -> None:
    """An object permission on a plan given to a user: the user's plan grant exists."""
    if created and instance.content_type_id == _plan_content_type().pk:
        ScopeGrant.objects.get_or_create(
            user_id=instance.user_id, kind=ScopeKind.PLAN, benefit_plan_id=int(instance.object_pk)
        )


def plan_permission_deleted(sender: Any, instance: UserObjectPermission, **kwargs: Any) -> None:
    """The last object permission of a user on a plan taken away: the plan grant goes too."""
    if instance.content_type_id != _plan_content_type().pk:
        return
    left = UserObjectPermission.objects.filter(
        user_id=instance.user_id, content_type_id=instance.content_type_id, object_pk=instance.object_pk
    )
    if not left.exists():
        for grant in ScopeGrant.objects.filter(
            user_id=instance.user_id, kind=ScopeKind.PLAN, benefit_plan_id=int(instance.object_pk)
        ):
            grant.delete()


# Services: the dates of a scope, and taking it away ---------------------------------------------------


def _dates_check(starts_on: Any, ends_on: Any) -> None:
    if starts_on and ends_on and ends_on < starts_on:
        raise ValidationError({"ends_on": _("A grant cannot end before it starts.")})


PLAN_PERMISSION_DEFAULT = "programs.view_benefitplan"


@transaction.atomic
def scope_grant_save(
    *,
    user: Any,
    actor: Any,
    location: Any = None,
    benefit_plan: Any = None,
    starts_on: Any = None,
    ends_on: Any = None,
    grant: ScopeGrant | None = None,
) -> ScopeGrant:
    """Give a location or a plan scope (or change the dates of one given): the membership and its dates.

    Only administrators grant scopes. A new plan scope gives the object permission to see the plan
    (further permissions, e.g. to manage beneficiaries, are given on the plan as before). The scope is in
    force from `starts_on` to `ends_on` included; outside them access leaves it out on the next request.
    """
    if not user_in_roles(actor, (ADMINISTRATOR,)):
        raise PermissionDenied(_("Only an administrator can grant scopes."))
    _dates_check(starts_on, ends_on)
    if (location is None) == (benefit_plan is None):
        raise ValidationError({"location": _("Give either a location or a benefit plan.")})
    if grant is not None and (grant.user_id, grant.location_id, grant.benefit_plan_id) != (
        user.pk,
        getattr(location, "pk", None),
        getattr(benefit_plan, "pk", None),
    ):
        raise ValidationError(
            {"location": _("A grant's user and scope cannot change: remove it and grant the new one.")}
        )
    if location is not None:
        profile, _created = UserProfile.objects.get_or_create(user=user)
        profile.locations.add(location)
        grant = ScopeGrant.objects.get(user=user, kind=ScopeKind.LOCATION, location=location)
    else:
        from guardian.shortcuts import assign_perm

        if not UserObjectPermission.objects.filter(
            user=user, content_type=_plan_content_type(), object_pk=str(benefit_plan.pk)
        ).exists():
            assign_perm(PLAN_PERMISSION_DEFAULT, user, benefit_plan)
        grant = ScopeGrant.objects.get(user=user, kind=ScopeKind.PLAN, benefit_plan=benefit_plan)
    grant.starts_on, grant.ends_on = starts_on, ends_on
    grant.granted_by = grant.granted_by or actor
    grant.notice_sent_on = None
    grant.expiry_recorded = False
    grant.full_clean()
    grant.save()
    return grant


@transaction.atomic
def scope_grant_revoke(*, grant: ScopeGrant, actor: Any) -> None:
    """Take a scope away: the profile's location, or every object permission on the plan, and the grant."""
    if not user_in_roles(actor, (ADMINISTRATOR,)):
        raise PermissionDenied(_("Only an administrator can take scopes away."))
    if grant.kind == ScopeKind.LOCATION:
        profile = UserProfile.objects.filter(user_id=grant.user_id).first()
        if profile is not None:
            profile.locations.remove(grant.location_id)
    else:
        for permission in UserObjectPermission.objects.filter(
            user_id=grant.user_id, content_type=_plan_content_type(), object_pk=str(grant.benefit_plan_id)
        ):
            permission.delete()
    leftover = ScopeGrant.objects.filter(pk=grant.pk).first()  # a plan without permissions left had none
    if leftover is not None:
        leftover.delete()
