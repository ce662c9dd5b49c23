"""Scoped reads of tickets: what a user may see (locations, sensitive cases), their queues."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Aggregate, Case, CharField, Count, F, FloatField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Extract
from django.utils import timezone
from django.utils.translation import gettext_lazy

from access.records import records_in_scope
from access.roles import User, user_holds_role_id
from grievances.models import OPEN_STATUSES, Attachment, Category, Team, Ticket, TicketEvent


def ticket_list(*, user: User) -> QuerySet[Ticket]:
    """Tickets the user may see: with the view permission, in their locations (tickets with no location:
    only for those who see everywhere), sensitive ones only for the sensitive-case role."""
    if not user.is_authenticated or not user.is_active or not user.has_perm("grievances.view_ticket"):
        return Ticket.objects.none()
    return records_in_scope(Ticket.objects.all(), user=user, location="location", sensitive="sensitive")


def ticket_visible(*, user: User, ticket: Ticket) -> bool:
    return ticket.pk is not None and ticket_list(user=user).filter(pk=ticket.pk).exists()


def my_tickets(*, user: User) -> QuerySet[Ticket]:
    return ticket_list(user=user).filter(assignee=user) if user.is_authenticated else Ticket.objects.none()


def user_team_ids(user: User) -> list[int]:
    if not user.is_authenticated:
        return []
    cached = user.__dict__.get("_grievance_team_ids")
    if cached is None:
        cached = list(Team.objects.filter(members=user).values_list("pk", flat=True))
        user.__dict__["_grievance_team_ids"] = cached
    return cached


def my_team_tickets(*, user: User) -> QuerySet[Ticket]:
    return ticket_list(user=user).filter(team__in=user_team_ids(user))


def user_supervises(*, user: User, team: Team | None) -> bool:
    """Is the user a member of the team holding its supervisor role (escalations go to them)?"""
    if team is None or team.supervisor_role_id is None:
        return False
    return team.pk in user_team_ids(user) and user_holds_role_id(user, team.supervisor_role_id)


def ticket_events(*, ticket: Ticket) -> QuerySet[TicketEvent]:
    return ticket.events.select_related("actor").order_by("at", "pk")


def ticket_attachments(*, ticket: Ticket) -> QuerySet[Attachment]:
    return ticket.attachments.select_related("uploaded_by").order_by("pk")


def tickets_about(*, user: User, field: str, record_id: int) -> QuerySet[Ticket]:
    """Tickets concerning one record (a payment line, a household ...) that the user may see."""
    return ticket_list(user=user).filter(Q(**{field: record_id})).select_related("category")


# --- the dashboard's figures ---------------------------------------------------------------------------

# (lowest age in days, highest, label): labels are translated when a query or a chart reads them.
AGE_BANDS = (
    (0, 7, gettext_lazy("< 1 week")),
    (7, 30, gettext_lazy("1–4 weeks")),
    (30, 90, gettext_lazy("1–3 months")),
    (90, None, gettext_lazy("> 3 months")),
)
RESOLUTION_WINDOW_DAYS = 365
PYTHON_PERCENTILE_SAMPLE = 20_000


def sensitive_min_count() -> int:
    """Below this many tickets, a sensitive category's figures are not shown on dashboards."""
    return int(settings.GRIEVANCES_SENSITIVE_MIN_COUNT)


@dataclass
class GrievanceFigures:
    open_total: int = 0
    overdue_open: int = 0
    # (category name, age band label) -> open tickets; sensitive categories below the minimum left out
    open_by_category_age: dict[tuple[str, str], int] = field(default_factory=dict)
    resolution_days_median: float | None = None
    resolution_days_p90: float | None = None
    resolved_counted: int = 0

    @property
    def overdue_share(self) -> float | None:
        return round(100 * self.overdue_open / self.open_total, 1) if self.open_total else None


def _counted_scope(user: User) -> QuerySet[Ticket]:
    """Tickets counted on the user's dashboard: their locations, sensitive ones included as counts only
    (a sensitive category below the minimum count is suppressed by the caller)."""
    if not user.is_authenticated or not user.has_perm("grievances.view_ticket"):
        return Ticket.objects.none()
    return records_in_scope(Ticket.objects.all(), user=user, location="location")


def _age_band(now: Any) -> Case:
    whens = [
        When(created_at__gt=now - timedelta(days=low), then=Value(str(AGE_BANDS[index - 1][2])))
        for index, (low, _high, _label) in enumerate(AGE_BANDS)
        if index > 0
    ]
    return Case(*whens, default=Value(str(AGE_BANDS[-1][2])), output_field=CharField())


class _Percentile(Aggregate):
    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float) -> None:
        super().__init__(expression)
        self.extra["fraction"] = fraction


def _resolution_days(scope: QuerySet[Ticket], since: Any) -> tuple[float | None, float | None, int]:
    resolved = scope.filter(resolved_at__gte=since)
    if connection.vendor == "postgresql":
        days = Extract(F("resolved_at") - F("created_at"), "epoch") / 86400.0
        row = resolved.aggregate(median=_Percentile(days, 0.5), p90=_Percentile(days, 0.9), n=Count("pk"))
        return row["median"], row["p90"], row["n"]
    spans = sorted(
        (resolved_at - created_at).total_seconds() / 86400
        for created_at, resolved_at in resolved.order_by("-resolved_at").values_list(
            "created_at", "resolved_at"
        )[:PYTHON_PERCENTILE_SAMPLE]
    )
    if not spans:
        return None, None, 0
    return spans[len(spans) // 2], spans[min(len(spans) - 1, int(0.9 * len(spans)))], len(spans)


def grievance_figures(*, user: User) -> GrievanceFigures:
    """Open tickets by category (top level) and age, overdue share, days to resolution (median, 90th
    percentile, over the last year): three queries, on the status and resolution indexes."""
    scope = _counted_scope(user)
    now = timezone.now()
    rows = (
        scope.filter(status__in=[str(s) for s in OPEN_STATUSES])
        .annotate(top=Coalesce("category__parent_id", "category_id"), band=_age_band(now))
        .values("top", "band")
        .annotate(
            n=Count("pk"),
            overdue=Count("pk", filter=Q(overdue=True)),
            sensitive_n=Count("pk", filter=Q(sensitive=True)),
        )
        .order_by()
    )
    figures = GrievanceFigures()
    by_top: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_top.setdefault(row["top"], []).append(row)
        figures.open_total += row["n"]
        figures.overdue_open += row["overdue"]
    names = dict(Category.objects.filter(pk__in=by_top).values_list("pk", "name"))
    minimum = sensitive_min_count()
    for top, cells in by_top.items():
        sensitive = sum(cell["sensitive_n"] for cell in cells)
        if sensitive and sensitive < minimum:
            continue  # a few sensitive cases could be told apart: their category stays off the chart
        for cell in cells:
            figures.open_by_category_age[(names.get(top, "?"), cell["band"])] = cell["n"]
    median, p90, counted = _resolution_days(scope, now - timedelta(days=RESOLUTION_WINDOW_DAYS))
    figures.resolution_days_median = None if median is None else round(median, 1)
    figures.resolution_days_p90 = None if p90 is None else round(p90, 1)
    figures.resolved_counted = counted
    return figures
