"""Reads of who holds what (roles, locations, plans) and of everything the audit trail says about one user.

Both are one UNION query over the tables that hold them (identity's role grants and sign-in events, the
portal's scope grants, their django-simple-history tables), filtered in each part, ordered and cut to a
page in the database: no count, no Python loop over a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import CharField, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone

from access.roles import ADMINISTRATOR, AUDITOR, user_in_roles
from identity.apikeys import ApiKeyEvent
from identity.models import RoleGrant, SignInEvent
from portal.models import ScopeGrant, ScopeKind

# Who reads these screens: administrators (who grant) and auditors (who check).
GRANT_READERS = (ADMINISTRATOR, AUDITOR)

HOLDING_KINDS = ("role", ScopeKind.LOCATION.value, ScopeKind.PLAN.value)
STATES = ("in_force", "ending", "expired", "future")


def user_reads_grants(user: Any) -> bool:
    return user_in_roles(user, GRANT_READERS)


@dataclass(frozen=True)
class HoldingFilters:
    username: str = ""
    kind: str = ""  # "role", "location", "plan" or "" for all
    role_id: int | None = None
    ending_within: int | None = None  # days: grants in force whose last day is within N days
    state: str = ""  # in_force, ending (= within 7 days), expired, future


def _state_q(state: str, today: date) -> Q:
    return {
        "in_force": (Q(starts_on__isnull=True) | Q(starts_on__lte=today))
        & (Q(ends_on__isnull=True) | Q(ends_on__gte=today)),
        "ending": Q(ends_on__gte=today, ends_on__lte=today + timedelta(days=7)),
        "expired": Q(ends_on__lt=today),
        "future": Q(starts_on__gt=today),
    }.get(state, Q())


def _given_at(history: Any) -> Subquery:
    return Subquery(
        history.objects.filter(id=OuterRef("pk"), history_type="+")
        .order_by("history_date")
        .values("history_date")[:1]
    )


HOLDING_COLUMNS = (
    "h_kind",
    "h_what",
    "h_user",
    "h_username",
    "h_name",
    "h_from",
    "h_until",
    "h_given",
    "h_by",
)


def _holding_part(queryset: QuerySet[Any], filters: HoldingFilters, today: date) -> QuerySet[Any]:
    if filters.username:
        queryset = queryset.filter(user__username=filters.username)
    if filters.ending_within is not None:
        queryset = queryset.filter(
            ends_on__gte=today, ends_on__lte=today + timedelta(days=filters.ending_within)
        )
    if filters.state:
        queryset = queryset.filter(_state_q(filters.state, today))
    return queryset


def holding_list(
    *, user: Any, filters: HoldingFilters, offset: int = 0, limit: int = 100
) -> list[dict[str, Any]]:
    """One page of who holds what; `limit + 1` rows are read so the page knows whether another follows."""
    query = holding_query(user=user, filters=filters)
    return list(query[offset : offset + limit + 1]) if query is not None else []


def holding_query(*, user: Any, filters: HoldingFilters) -> QuerySet[Any] | None:
    """Who holds what (roles, locations, plans), since and until when, granted by whom: one UNION query,
    soonest end first. Only for administrators and auditors (None for anyone else)."""
    if not user_reads_grants(user):
        return None
    today = timezone.localdate()
    parts = []
    common = {
        "h_user": F("user_id"),
        "h_username": F("user__username"),
        "h_name": Concat(F("user__first_name"), Value(" "), F("user__last_name"), output_field=CharField()),
        "h_from": F("starts_on"),
        "h_until": F("ends_on"),
        "h_by": F("granted_by__username"),
    }
    if filters.kind in ("", "role"):
        roles = _holding_part(RoleGrant.objects.all(), filters, today)
        if filters.role_id is not None:
            roles = roles.filter(role_id=filters.role_id)
        parts.append(
            roles.annotate(
                h_kind=Value("role", output_field=CharField()),
                h_what=F("role__name"),
                h_given=_given_at(RoleGrant.history.model),
                **common,
            )
            .values(*HOLDING_COLUMNS)
            .order_by()
        )
    if filters.kind in ("", ScopeKind.LOCATION, ScopeKind.PLAN) and filters.role_id is None:
        scopes = _holding_part(ScopeGrant.objects.all(), filters, today)
        if filters.kind:
            scopes = scopes.filter(kind=filters.kind)
        parts.append(
            scopes.annotate(
                h_kind=Cast("kind", output_field=CharField()),
                h_what=Coalesce(F("location__name"), F("benefit_plan__name")),
                h_given=_given_at(ScopeGrant.history.model),
                **common,
            )
            .values(*HOLDING_COLUMNS)
            .order_by()
        )
    if not parts:
        return None
    query = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return query.order_by(F("h_until").asc(nulls_last=True), "h_username", "h_kind", "h_what")


# The audit trail of one user -------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    username: str
    topic: str = ""  # "sign_in", "two_factor", "grants", "api_keys" or "" for all
    since: date | None = None
    until: date | None = None


SIGN_IN_KINDS = ("signed_in", "sign_in_failed", "signed_out")
TWO_FACTOR_KINDS = (
    "two_factor_enrolled",
    "two_factor_verified",
    "two_factor_failed",
    "recovery_code_used",
    "two_factor_reset",
)
GRANT_ENDED_KINDS = ("role_grant_ended", "scope_grant_ended")
AUDIT_COLUMNS = ("a_at", "a_source", "a_code", "a_what", "a_actor", "a_address", "a_from", "a_until")


def _dated(queryset: QuerySet[Any], field: str, filters: AuditFilters) -> QuerySet[Any]:
    if filters.since is not None:
        queryset = queryset.filter(**{f"{field}__date__gte": filters.since})
    if filters.until is not None:
        queryset = queryset.filter(**{f"{field}__date__lte": filters.until})
    return queryset


def audit_trail(
    *, user: Any, filters: AuditFilters, offset: int = 0, limit: int = 100
) -> list[dict[str, Any]]:
    """One page (`limit + 1` rows read) of the user's audit trail."""
    query = audit_query(user=user, filters=filters)
    return list(query[offset : offset + limit + 1]) if query is not None else []


def _audit_part(
    queryset: QuerySet[Any], date_field: str, filters: AuditFilters, **columns: Any
) -> QuerySet[Any]:
    """One part of the UNION: the columns given, NULL for the others, in AUDIT_COLUMNS order."""
    none = Value(None, output_field=CharField())
    values = {name: columns.get(name, none) for name in AUDIT_COLUMNS}
    values["a_at"] = F(date_field)
    return _dated(queryset, date_field, filters).annotate(**values).values(*AUDIT_COLUMNS).order_by()


def _history_columns(source: Any) -> dict[str, Any]:
    return {
        "a_source": source,
        "a_code": F("history_type"),
        "a_actor": F("history_user__username"),
        "a_from": Cast("starts_on", output_field=CharField()),
        "a_until": Cast("ends_on", output_field=CharField()),
    }


def audit_query(*, user: Any, filters: AuditFilters) -> QuerySet[Any] | None:
    """The audit trail of one user, newest first: sign-ins and failures (by the user name given,
    so attempts at an unknown or mistyped account of that name show too), two-factor enrolment, codes and
    resets, every role and scope grant given, changed, taken away (their history) or expired, and the API
    keys the user made or rotated (identity.apikeys' trail, by its actor)."""
    if not user_reads_grants(user) or not filters.username:
        return None
    parts = []
    if filters.topic != "api_keys":
        events = SignInEvent.objects.filter(username=filters.username)
        kinds = {"sign_in": SIGN_IN_KINDS, "two_factor": TWO_FACTOR_KINDS, "grants": GRANT_ENDED_KINDS}
        if filters.topic in kinds:
            events = events.filter(kind__in=kinds[filters.topic])
        parts.append(
            _audit_part(
                events,
                "at",
                filters,
                a_source=Value("event", output_field=CharField()),
                a_code=F("kind"),
                a_what=F("detail"),
                a_actor=F("actor__username"),
                a_address=Cast("ip_address", output_field=CharField()),
            )
        )
    if filters.topic in ("", "api_keys"):
        parts.append(
            _audit_part(
                ApiKeyEvent.objects.filter(actor__username=filters.username),
                "at",
                filters,
                a_source=Value("api_key", output_field=CharField()),
                a_code=F("kind"),
                a_what=F("holder_name"),
                a_actor=F("actor__username"),
                a_address=Cast("ip_address", output_field=CharField()),
            )
        )
    if filters.topic in ("", "grants"):
        roles = RoleGrant.history.model.objects.filter(user__username=filters.username)
        scopes = ScopeGrant.history.model.objects.filter(user__username=filters.username)
        parts += [
            _audit_part(
                roles,
                "history_date",
                filters,
                a_what=F("role__name"),
                **_history_columns(Value("role", output_field=CharField())),
            ),
            _audit_part(
                scopes,
                "history_date",
                filters,
                a_what=Coalesce(F("location__name"), F("benefit_plan__name")),
                **_history_columns(Cast("kind", output_field=CharField())),
            ),
        ]
    return (
        parts[0].union(*parts[1:], all=True).order_by("-a_at")
        if len(parts) > 1
        else parts[0].order_by("-a_at")
    )
