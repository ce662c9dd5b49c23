"""Role grants with dates: kept in step with users' roles, and which of a user's roles are out of force today."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from identity.models import RoleGrant


def roles_out_of_force(user: Any) -> QuerySet[Any]:
    """The ids of this user's roles whose grant has not started or has ended (a lazy subquery).

    Registered with access (access.hooks), which leaves them out of every answer on every request.
    """
    today = timezone.localdate()
    return (
        RoleGrant.objects.filter(user_id=user.pk)
        .filter(Q(starts_on__gt=today) | Q(ends_on__lt=today))
        .values("role_id")
    )


def _out_of_force(today: Any) -> Q:
    return Q(starts_on__gt=today) | Q(ends_on__lt=today)


def role_holders_in_force(roles: tuple[str, ...]) -> QuerySet[Any]:
    """The ids of the users holding one of these roles in force today (a lazy subquery for access)."""
    ended = RoleGrant.objects.filter(user_id=OuterRef("user_id"), role_id=OuterRef("group_id")).filter(
        _out_of_force(timezone.localdate())
    )
    return membership_model().objects.filter(group__name__in=roles).exclude(Exists(ended)).values("user_id")


def memberships_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """A role given or taken away (a user's groups, from either side): its grant row follows.

    Connected to m2m_changed of User.groups, so the admin, the demo, the tests and any code that changes a
    membership keep "who holds what" complete. Each grant created is on its history (who gave it).
    """
    if action == "post_add":
        pairs = (
            [(pk, instance.pk) for pk in pk_set or ()]
            if reverse
            else [(instance.pk, pk) for pk in pk_set or ()]
        )
        for user_id, role_id in pairs:
            RoleGrant.objects.get_or_create(user_id=user_id, role_id=role_id)
    elif action == "post_remove":
        field = "user_id" if reverse else "role_id"
        owner = "role_id" if reverse else "user_id"
        for grant in RoleGrant.objects.filter(**{owner: instance.pk, f"{field}__in": pk_set or ()}):
            grant.delete()  # one by one: each removal is on the history
    elif action == "pre_clear":
        owner = "role_id" if reverse else "user_id"
        for grant in RoleGrant.objects.filter(**{owner: instance.pk}):
            grant.delete()


def membership_model() -> Any:
    return get_user_model().groups.through
