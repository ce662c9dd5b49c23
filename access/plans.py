"""Plan scope: which benefit plans a user sees or manages, by role or by guardian object permission."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from guardian.shortcuts import get_objects_for_user

from access.hooks import provided, provided_if_any
from access.roles import SEES_ALL_PLANS_ROLES, User, _real, user_in_roles
from access.scope import user_sees_everywhere

VIEW_PLAN = "programs.view_benefitplan"
MANAGE_BENEFICIARIES = "programs.manage_beneficiaries"
REQUEST_PAYMENTS = "programs.request_payments"
CHANGE_PLAN = "programs.change_benefitplan"


def _active(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def user_sees_all_plans(user: User) -> bool:
    return user_in_roles(user, SEES_ALL_PLANS_ROLES)


def user_manages_all_plans(user: User) -> bool:
    """Superusers and administrators act on every plan; everyone else needs the object permission."""
    return _active(user) and user_sees_everywhere(user)


def plan_ids_out_of_force(user: User) -> frozenset[int]:
    """Plans whose scope grant to this user is not in force today (its dates): their object permissions
    give nothing. Read once per user object (a request's user): an ended grant stops on the next request."""
    real = _real(user)
    cached: frozenset[int] | None = real.__dict__.get("_plans_out_of_force")
    if cached is None:
        provider = provided_if_any("plans_out_of_force")
        cached = frozenset(provider(real)) if provider is not None and real.is_authenticated else frozenset()
        real.__dict__["_plans_out_of_force"] = cached
    return cached


def plans_with_permission(user: User, permissions: str | list[str]) -> QuerySet[Any]:
    """Plans on which the user holds one of these object permissions (a role's global grant is not one),
    leaving out the plans whose scope grant is not in force today.

    The query is built once per user object (a request's user): a page asks it many times (sidebar,
    approvals count, lists). It stays lazy, so the grants are read when the query runs.
    """
    key = (permissions,) if isinstance(permissions, str) else tuple(permissions)
    cache: dict[tuple[str, ...], QuerySet[Any]] = user.__dict__.setdefault("_plans_with_permission", {})
    if key not in cache:
        cache[key] = get_objects_for_user(
            user, permissions, klass=provided("plan_model"), any_perm=True, accept_global_perms=False
        )
        out_of_force = provided_if_any("plans_out_of_force")
        if out_of_force is not None and user.is_authenticated:
            cache[key] = cache[key].exclude(pk__in=out_of_force(_real(user)))  # a subquery, no extra query
    return cache[key].all()


def plan_list(*, user: User) -> QuerySet[Any]:
    """Plans the user may see: all for administrators, auditors and approvers, else those granted."""
    plan = provided("plan_model")
    if not _active(user):
        return plan.objects.none()
    if user_sees_all_plans(user):
        return plan.objects.all()
    # A global "view benefit plan" from a role opens the menu, not every plan.
    return plans_with_permission(user, [VIEW_PLAN, MANAGE_BENEFICIARIES])


def plan_scope_q(user: User, *, plan_field: str = "benefit_plan") -> Q:
    """Rows whose benefit plan (`plan_field`) is one the user may see."""
    return Q(**{f"{plan_field}__in": plan_list(user=user).values("pk")})


def plan_managed_list(*, user: User) -> QuerySet[Any]:
    """Plans whose beneficiaries the user may enrol and change."""
    plan = provided("plan_model")
    if not _active(user):
        return plan.objects.none()
    if user_manages_all_plans(user):
        return plan.objects.all()
    return plans_with_permission(user, MANAGE_BENEFICIARIES)


def user_can_view_plan(user: User, plan: Any) -> bool:
    if user_sees_all_plans(user):
        return True
    return _active(user) and (user.has_perm(VIEW_PLAN, plan) or user.has_perm(MANAGE_BENEFICIARIES, plan))


def user_can_manage_plan(user: User, plan: Any) -> bool:
    return _active(user) and (user_manages_all_plans(user) or user.has_perm(MANAGE_BENEFICIARIES, plan))


def user_can_change_plan(user: User, plan: Any) -> bool:
    """Editing a plan's settings: its managers, or whoever holds the object permission to change it."""
    return user_can_manage_plan(user, plan) or (_active(user) and user.has_perm(CHANGE_PLAN, plan))


def user_can_request_payments(user: User, plan: Any) -> bool:
    """Payment officers need the plan's object permission `request_payments`; administrators act on all."""
    return _active(user) and (user_manages_all_plans(user) or user.has_perm(REQUEST_PAYMENTS, plan))
