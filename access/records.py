"""The scoped queryset of any kind of record: its rows in the user's locations and of the plans they see.

Each app's selectors name the fields that place their records (a location, a benefit plan) and leave the
rule to this module, so a person, a household, a beneficiary, a payroll line or an upload is kept by the
same test.
"""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, QuerySet

from access.plans import plan_scope_q
from access.roles import User, user_sees_sensitive_cases
from access.scope import location_scope_q

M = TypeVar("M", bound=Model)


def records_in_scope(
    queryset: QuerySet[M],
    *,
    user: User,
    location: str | None = "location",
    plan: str | None = None,
    sensitive: str | None = None,
) -> QuerySet[M]:
    """The rows of `queryset` the user may see: whose `location` (a foreign key to a location, or a path
    through relations such as "beneficiary__location") lies in the user's locations, and, when `plan` is
    given, whose benefit plan is one the user sees; when `sensitive` names a boolean field (a grievance's
    sensitive flag), rows where it is true only for holders of the sensitive-case role. The scope is a
    filter, so the queryset's own annotations and joins survive."""
    if location is not None:
        queryset = queryset.filter(location_scope_q(user, field=location))
    if plan is not None:
        queryset = queryset.filter(plan_scope_q(user, plan_field=plan))
    if sensitive is not None and not user_sees_sensitive_cases(user):
        queryset = queryset.filter(**{sensitive: False})
    return queryset
