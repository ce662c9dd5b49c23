"""The dashboard (the admin index): key figures and Plotly charts from the summary tables, scoped."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db.models import Q, Sum
from django.db.models.functions import Substr
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from access.plans import plan_list
from access.scope import user_location_paths, user_sees_everywhere
from approvals.selectors import pending_approvals_count_once, pending_count_display
from grievances.selectors import AGE_BANDS, GrievanceFigures, grievance_figures
from payments.models import BenefitStatus, PaymentCycle
from portal.models import SummaryGrain, SummaryKind, SummaryRefresh
from portal.summaries import (
    SummaryFilters,
    age_bands,
    beneficiary_summary_list,
    payment_summary_list,
    registry_summary_list,
    summary_grain,
    summary_refreshed_last,
)
from programs.models import CURRENT_STATUSES, BeneficiaryStatus, BenefitPlan
from registry.models import PATH_STEP, Location
from registry.selectors import location_list

User = AbstractBaseUser | AnonymousUser

PERIODS = {"": "All time", "12": "Last 12 months", "24": "Last 24 months", "60": "Last 5 years"}
# The location filter offers the top two levels; deeper ones would list thousands of options.
FILTER_LOCATION_DEPTH = 1
SEGMENT = PATH_STEP + 1
ROLLUP_CACHE_SECONDS = 3600
# Payment lines that were issued to be paid: carried lines are issued again in another payroll.
NOT_ISSUED_LINES = (BenefitStatus.CARRIED, BenefitStatus.CANCELLED)
MAP_BUBBLE_MAX_PX = 48


@dataclass(frozen=True)
class KeyFigure:
    label: str
    value: int | None  # None: not available, shown as "—" with `note` as its tooltip
    url: str = ""
    note: str = ""
    display: str = ""  # shown instead of the value when set (a capped count: "99+")


@dataclass
class Chart:
    key: str  # the json_script id is "chart-<key>"
    title: str
    figure: dict[str, Any] = field(default_factory=dict)
    note: str = ""  # shown instead of the chart when there is nothing to draw

    @property
    def element_id(self) -> str:
        return f"chart-{self.key}"


class DashboardFilterForm(forms.Form):
    """Plan, location subtree and period: a GET form applied to every figure and chart."""

    plan = forms.ModelChoiceField(
        queryset=BenefitPlan.objects.none(), required=False, empty_label="All plans"
    )
    location = forms.ModelChoiceField(
        queryset=Location.objects.none(), required=False, empty_label="All locations"
    )
    period = forms.ChoiceField(choices=list(PERIODS.items()), required=False)

    def __init__(self, data: QueryDict, *, user: User) -> None:
        super().__init__(data)
        self.fields["plan"].queryset = plan_list(user=user).order_by("name")
        self.fields["location"].queryset = location_list(user=user).filter(depth__lte=FILTER_LOCATION_DEPTH)

    def summary_filters(self, *, today: date) -> tuple[SummaryFilters, Location | None]:
        """The valid filters; an invalid value (a plan or location out of scope) is ignored."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        plan, location, period = data.get("plan"), data.get("location"), data.get("period") or ""
        since = None
        if period:
            months = today.year * 12 + today.month - 1 - int(period) + 1
            since = date(months // 12, months % 12 + 1, 1)
        filters = SummaryFilters(
            plan_id=plan.pk if plan else None, location_path=location.path if location else "", since=since
        )
        return filters, location


@dataclass(frozen=True)
class RegistryRollup:
    """The registry's summary rows summed three ways, once per page: by area, by month, by sex and age band.

    Every registry figure and chart reads these few hundred sums (three GROUP BYs over the summary rows
    in the database), not the rows themselves. `area` is the path prefix at `depth`.
    """

    depth: int
    areas: dict[tuple[str, str], int]  # (kind, area): total
    months: dict[tuple[str, date | None], int]  # (kind, month): total
    sexes_bands: dict[tuple[str, str, str], int]  # (kind, sex, band): total

    def total(self, kind: str) -> int:
        return sum(n for (k, _), n in self.areas.items() if k == kind)

    def by_area(self, kind: str) -> dict[str, int]:
        return {area: n for (k, area), n in self.areas.items() if k == kind}

    def by_month(self, kind: str) -> dict[date | None, int]:
        return {month: n for (k, month), n in self.months.items() if k == kind}

    def by_sex_band(self, kind: str) -> dict[tuple[str, str], int]:
        return {(sex, band): n for (k, sex, band), n in self.sexes_bands.items() if k == kind}


def registry_rollup_cached(
    *,
    user: User,
    filters: SummaryFilters,
    depth: int,
    refreshed: SummaryRefresh | None,
    grain: int = SummaryGrain.LOCATION,
) -> RegistryRollup:
    """The rollup, cached until the next refresh: it depends only on the summaries, scope, filters, depth."""
    if refreshed is None:
        return registry_rollup(user=user, filters=filters, depth=depth, grain=grain)
    scope = "everywhere" if user_sees_everywhere(user) else ",".join(sorted(user_location_paths(user)))
    when = refreshed.refreshed_at.isoformat()
    raw = f"{refreshed.pk}|{when}|{scope}|{filters.location_path}|{filters.since}|{depth}|{grain}"
    key = "portal:dashboard:rollup:" + hashlib.sha256(raw.encode()).hexdigest()
    rollup = cache.get(key)
    if rollup is None:
        rollup = registry_rollup(user=user, filters=filters, depth=depth, grain=grain)
        cache.set(key, rollup, ROLLUP_CACHE_SECONDS)
    return rollup


def registry_rollup(
    *, user: User, filters: SummaryFilters, depth: int = 0, grain: int = SummaryGrain.LOCATION
) -> RegistryRollup:
    rows = registry_summary_list(user=user, filters=filters, kind=None, grain=grain)

    def summed(*columns: str) -> dict[tuple[Any, ...], int]:
        grouped = rows.values_list(*columns).annotate(total=Sum("count")).order_by()
        return {tuple(row[:-1]): int(row[-1]) for row in grouped}

    return RegistryRollup(
        depth=depth,
        areas=summed_by_area(rows, depth),  # type: ignore[arg-type]
        months=summed("kind", "registered_month"),  # type: ignore[arg-type]
        sexes_bands=summed("kind", "sex", "age_band"),  # type: ignore[arg-type]
    )


def summed_by_area(rows, depth: int) -> dict[tuple[str, str], int]:  # type: ignore[no-untyped-def]
    grouped = (
        rows.annotate(area=Substr("location_path", 1, SEGMENT * (depth + 1)))
        .values_list("kind", "area")
        .annotate(total=Sum("count"))
        .order_by()
    )
    return {(kind, area): int(total) for kind, area, total in grouped}


def dashboard_figures(
    *,
    user: User,
    filters: SummaryFilters | None = None,
    rollup: RegistryRollup | None = None,
    grain: int = SummaryGrain.LOCATION,
    grievances: GrievanceFigures | None = None,
) -> list[KeyFigure]:
    filters = filters or SummaryFilters()
    rollup = rollup or registry_rollup(user=user, filters=filters, grain=grain)
    figures = [
        KeyFigure(
            "People registered",
            rollup.total(SummaryKind.INDIVIDUAL),
            reverse("admin:registry_individual_changelist"),
        ),
        KeyFigure(
            "Households registered",
            rollup.total(SummaryKind.HOUSEHOLD),
            reverse("admin:registry_household_changelist"),
        ),
    ]
    if user.is_authenticated and user.has_perm("programs.view_beneficiary"):
        by_status = dict(
            beneficiary_summary_list(user=user, filters=filters, grain=grain)
            .values_list("status")
            .annotate(total=Sum("count"))
            .order_by()
        )
        url = reverse("admin:programs_beneficiary_changelist")
        for status in BeneficiaryStatus:
            figures.append(
                KeyFigure(
                    f"Beneficiaries {status.label.lower()}",
                    int(by_status.get(status.value) or 0),
                    f"{url}?status__exact={status.value}",
                )
            )
    if user.is_authenticated and user.has_perm("approvals.view_task"):
        waiting = pending_approvals_count_once(user)
        figures.append(
            KeyFigure(
                "Approvals waiting for me",
                waiting,
                reverse("admin:approvals_task_awaiting"),
                display=pending_count_display(waiting),
            )
        )
    if grievances is not None:
        url = reverse("admin:grievances_ticket_changelist")
        figures.append(KeyFigure("Open grievances", grievances.open_total, f"{url}?status=open"))
        figures.append(KeyFigure("Overdue grievances", grievances.overdue_open, f"{url}?overdue=yes"))
    return figures


def grievances_chart(*, grievances: GrievanceFigures) -> dict[str, Any]:
    """Open tickets per category (top level), stacked by age since they were received."""
    categories = sorted({name for name, _ in grievances.open_by_category_age})
    data = [
        _bar(
            str(label),
            categories,
            [grievances.open_by_category_age.get((name, str(label)), 0) for name in categories],
        )
        for _, _, label in AGE_BANDS
    ]
    return _figure(
        data, barmode="stack", xaxis={"type": "category"}, yaxis={"title": {"text": "Open tickets"}}
    )


def grievance_resolution_chart(*, grievances: GrievanceFigures) -> dict[str, Any]:
    """Days to resolution over the last year (median, 90th percentile); share of open tickets overdue."""
    labels = ["Median days to resolve", "90th percentile (days)", "Open tickets overdue (%)"]
    values = [
        grievances.resolution_days_median or 0,
        grievances.resolution_days_p90 or 0,
        grievances.overdue_share or 0,
    ]
    return _figure([_bar("Grievances", labels, values)], xaxis={"type": "category"}, showlegend=False)


def _figure(data: list[dict[str, Any]], **layout: Any) -> dict[str, Any]:
    """A Plotly figure as the JSON plotly.js draws: plain dicts, so no graph-object validation per view."""
    return {
        "data": data,
        "layout": {
            "margin": {"l": 50, "r": 20, "t": 20, "b": 50},
            "height": 340,
            "legend": {"orientation": "h", "y": -0.2},
            **layout,
        },
    }


def _bar(name: str, x: list[Any], y: list[Any], **options: Any) -> dict[str, Any]:
    return {"type": "bar", "name": name, "x": x, "y": y, **options}


def registrations_chart(*, rollup: RegistryRollup) -> dict[str, Any]:
    data = []
    for kind, name in ((SummaryKind.INDIVIDUAL, "People"), (SummaryKind.HOUSEHOLD, "Households")):
        months = sorted((m, n) for m, n in rollup.by_month(kind).items() if m is not None)
        data.append(_bar(name, [m.strftime("%Y-%m") for m, _ in months], [n for _, n in months]))
    return _figure(
        data,
        barmode="group",
        xaxis={"type": "category", "title": {"text": "Month registered"}},
        yaxis={"title": {"text": "Registered"}},
    )


def beneficiaries_chart(
    *, user: User, filters: SummaryFilters, grain: int = SummaryGrain.LOCATION
) -> dict[str, Any]:
    rows = (
        beneficiary_summary_list(user=user, filters=filters, grain=grain)
        .values_list("benefit_plan_id", "status")
        .annotate(total=Sum("count"))
        .order_by()
    )
    counts = {(plan_id, status): int(total) for plan_id, status, total in rows}
    plans = dict(
        BenefitPlan.objects.filter(pk__in={p for p, _ in counts}).order_by("name").values_list("pk", "name")
    )
    data = [
        _bar(status.label, list(plans.values()), [counts.get((pk, status.value), 0) for pk in plans])
        for status in BeneficiaryStatus
    ]
    return _figure(
        data, barmode="stack", xaxis={"type": "category"}, yaxis={"title": {"text": "Beneficiaries"}}
    )


@dataclass(frozen=True)
class Area:
    """One location of the coverage chart and map: its people registered and current beneficiaries."""

    path: str
    name: str
    latitude: float | None
    longitude: float | None
    people: int
    current: int


def coverage_areas(*, user: User, filters: SummaryFilters, rollup: RegistryRollup, grain: int) -> list[Area]:
    """The top-level locations, or the children of the chosen one, with their figures (by path)."""
    depth = rollup.depth
    prefix = Substr("location_path", 1, SEGMENT * (depth + 1))
    people = rollup.by_area(SummaryKind.INDIVIDUAL)
    current: dict[str, int] = {}
    if user.has_perm("programs.view_beneficiary"):
        current = dict(
            beneficiary_summary_list(user=user, filters=filters, grain=grain)
            .filter(status__in=CURRENT_STATUSES)
            .annotate(area=prefix)
            .values_list("area")
            .annotate(total=Sum("count"))
            .order_by()
        )
    # Rows of people registered at a higher level than `depth` have a shorter prefix: they have no bar.
    paths = sorted(p for p in set(people) | set(current) if len(p) == SEGMENT * (depth + 1))
    places = {
        path: (name, lat, lon)
        for path, name, lat, lon in Location.objects.filter(path__in=paths).values_list(
            "path", "name", "latitude", "longitude"
        )
    }
    areas = []
    for path in paths:
        name, lat, lon = places.get(path, (path, None, None))
        areas.append(
            Area(
                path=path,
                name=name,
                latitude=float(lat) if lat is not None else None,
                longitude=float(lon) if lon is not None else None,
                people=int(people.get(path) or 0),
                current=int(current.get(path) or 0),
            )
        )
    return areas


def coverage_chart(*, areas: list[Area]) -> dict[str, Any]:
    """People registered and current beneficiaries per area."""
    labels = [area.name for area in areas]
    data = [
        _bar("People registered", labels, [area.people for area in areas]),
        _bar("Current beneficiaries", labels, [area.current for area in areas]),
    ]
    return _figure(data, barmode="group", xaxis={"type": "category"})


def map_chart(*, areas: list[Area]) -> dict[str, Any] | None:
    """A bubble per area at its coordinates (longitude, latitude at equal scale), sized by people registered.

    A plain scatter, not a geo map: Plotly's geo and tile maps fetch topojson or tiles from the internet,
    which neither the servers nor the strict CSP allow. None when no area has coordinates.
    """
    placed = [a for a in areas if a.latitude is not None and a.longitude is not None]
    if not placed:
        return None
    largest = max([a.people for a in placed] + [1])
    bubbles = {
        "type": "scatter",
        "x": [a.longitude for a in placed],
        "y": [a.latitude for a in placed],
        "text": [a.name for a in placed],
        "customdata": [
            [a.people, a.current, round(100 * a.current / a.people, 1) if a.people else 0] for a in placed
        ],
        "mode": "markers+text",
        "textposition": "top center",
        "name": "People registered",
        "marker": {
            "size": [a.people for a in placed],
            "sizemode": "area",
            "sizeref": 2 * largest / MAP_BUBBLE_MAX_PX**2,
            "sizemin": 4,
            "color": [round(100 * a.current / a.people, 1) if a.people else 0 for a in placed],
            "colorscale": "Blues",
            "cmin": 0,
            "showscale": True,
            "colorbar": {"title": {"text": "% current"}, "thickness": 12},
            "line": {"width": 1, "color": "#335"},
            "opacity": 0.8,
        },
        "hovertemplate": (
            "<b>%{text}</b><br>People registered: %{customdata[0]:,}"
            "<br>Current beneficiaries: %{customdata[1]:,} (%{customdata[2]}%)"
            "<br>%{y:.3f}, %{x:.3f}<extra></extra>"
        ),
    }
    return _figure(
        [bubbles],
        xaxis={"title": {"text": "Longitude"}, "zeroline": False},
        yaxis={"title": {"text": "Latitude"}, "zeroline": False, "scaleanchor": "x", "scaleratio": 1},
        showlegend=False,
    )


def pyramid_chart(*, rollup: RegistryRollup) -> dict[str, Any]:
    """Men to the left (negative), women to the right; unknown ages and other sexes are left out."""
    counts = rollup.by_sex_band(SummaryKind.INDIVIDUAL)
    bands = age_bands()
    men = [counts.get(("M", b), 0) for b in bands]
    women = [counts.get(("F", b), 0) for b in bands]
    data = [
        _bar(
            "Men",
            [-n for n in men],
            bands,
            customdata=men,
            orientation="h",
            hovertemplate="%{customdata}<extra>Men %{y}</extra>",
        ),
        _bar("Women", women, bands, orientation="h", hovertemplate="%{x}<extra>Women %{y}</extra>"),
    ]
    return _figure(
        data,
        barmode="relative",
        yaxis={"type": "category", "title": {"text": "Age"}},
        xaxis={"title": {"text": "People"}},
    )


def payments_chart(
    *, user: User, filters: SummaryFilters, grain: int = SummaryGrain.LOCATION
) -> dict[str, Any]:
    """Per payment cycle: the amount issued (lines of approved payrolls) and the amount reported paid."""
    rows = (
        payment_summary_list(user=user, filters=filters, grain=grain)
        .values_list("cycle_id")
        .annotate(issued=Sum("amount"), paid=Sum("amount_paid", filter=Q(status=BenefitStatus.PAID)))
        .order_by()
    )
    amounts = {cycle_id: (float(issued or 0), float(paid or 0)) for cycle_id, issued, paid in rows}
    cycles = dict(
        PaymentCycle.objects.filter(pk__in=amounts).order_by("start_date").values_list("pk", "code")
    )
    codes = list(cycles.values())
    data = [
        _bar("Issued", codes, [amounts[pk][0] for pk in cycles]),
        _bar("Paid", codes, [amounts[pk][1] for pk in cycles]),
    ]
    return _figure(
        data,
        barmode="group",
        xaxis={"type": "category", "title": {"text": "Payment cycle"}},
        yaxis={"title": {"text": "Amount"}},
    )


@dataclass(frozen=True)
class CycleReconciliation:
    """One payment cycle's lines: issued (not carried or cancelled), paid, failed, pending (incl. held)."""

    code: str
    issued: int
    issued_amount: float
    paid: int
    paid_amount: float
    failed: int
    pending: int

    @property
    def paid_rate(self) -> float:
        return round(100 * self.paid / self.issued, 1) if self.issued else 0.0

    @property
    def paid_amount_rate(self) -> float:
        return round(100 * self.paid_amount / self.issued_amount, 1) if self.issued_amount else 0.0


def reconciliation_by_cycle(
    *, user: User, filters: SummaryFilters, grain: int = SummaryGrain.LOCATION
) -> list[CycleReconciliation]:
    rows = (
        payment_summary_list(user=user, filters=filters, grain=grain)
        .exclude(status__in=NOT_ISSUED_LINES)
        .values_list("cycle_id", "status")
        .annotate(n=Sum("count"), amount=Sum("amount"), paid=Sum("amount_paid"))
        .order_by()
    )
    by_cycle: dict[int, dict[str, tuple[int, float, float]]] = {}
    for cycle_id, status, n, amount, paid in rows:
        by_cycle.setdefault(cycle_id, {})[status] = (int(n), float(amount or 0), float(paid or 0))
    cycles = PaymentCycle.objects.filter(pk__in=by_cycle).order_by("start_date").values_list("pk", "code")
    out = []
    for pk, code in cycles:
        lines = by_cycle[pk]
        counts = {status: n for status, (n, _, _) in lines.items()}
        out.append(
            CycleReconciliation(
                code=code,
                issued=sum(counts.values()),
                issued_amount=sum(amount for _, amount, _ in lines.values()),
                paid=counts.get(BenefitStatus.PAID, 0),
                paid_amount=lines.get(BenefitStatus.PAID, (0, 0.0, 0.0))[2],
                failed=counts.get(BenefitStatus.FAILED, 0),
                pending=counts.get(BenefitStatus.PENDING, 0) + counts.get(BenefitStatus.HELD, 0),
            )
        )
    return out


def reconciliation_chart(*, cycles: list[CycleReconciliation]) -> dict[str, Any]:
    """Lines paid, failed and pending per cycle (bars), and paid / issued by count and amount (lines, %)."""
    codes = [c.code for c in cycles]
    data = [
        _bar("Paid", codes, [c.paid for c in cycles]),
        _bar("Failed", codes, [c.failed for c in cycles]),
        _bar("Pending", codes, [c.pending for c in cycles]),
        {
            "type": "scatter",
            "name": "Paid / issued, lines (%)",
            "x": codes,
            "y": [c.paid_rate for c in cycles],
            "customdata": [[c.paid, c.issued] for c in cycles],
            "yaxis": "y2",
            "mode": "lines+markers",
            "hovertemplate": "%{y}% (%{customdata[0]:,} of %{customdata[1]:,} lines)<extra></extra>",
        },
        {
            "type": "scatter",
            "name": "Paid / issued, amount (%)",
            "x": codes,
            "y": [c.paid_amount_rate for c in cycles],
            "customdata": [[c.paid_amount, c.issued_amount] for c in cycles],
            "yaxis": "y2",
            "mode": "lines+markers",
            "hovertemplate": "%{y}% (%{customdata[0]:,.2f} of %{customdata[1]:,.2f})<extra></extra>",
        },
    ]
    return _figure(
        data,
        barmode="stack",
        xaxis={"type": "category", "title": {"text": "Payment cycle"}},
        yaxis={"title": {"text": "Payment lines"}},
        yaxis2={
            "title": {"text": "% paid"},
            "overlaying": "y",
            "side": "right",
            "range": [0, 105],
            "showgrid": False,
        },
    )


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    """Everything the dashboard template shows, for the request's user and GET filters."""
    user = request.user
    form = DashboardFilterForm(request.GET, user=user)
    filters, location = form.summary_filters(today=timezone.localdate())
    # Coverage bars are the top-level locations, or the children of the chosen one.
    refreshed: SummaryRefresh | None = summary_refreshed_last()
    depth = location.depth + 1 if location else 0
    # The coarsest summary rows that answer this viewer, these filters and areas at `depth`.
    grain = summary_grain(user=user, filters=filters, depth=depth)
    rollup = registry_rollup_cached(user=user, filters=filters, depth=depth, refreshed=refreshed, grain=grain)
    charts = [Chart("registrations", "Registrations by month", registrations_chart(rollup=rollup))]
    if user.has_perm("programs.view_beneficiary"):
        charts.append(
            Chart(
                "beneficiaries",
                "Beneficiaries by plan and status",
                beneficiaries_chart(user=user, filters=filters, grain=grain),
            )
        )
    areas = coverage_areas(user=user, filters=filters, rollup=rollup, grain=grain)
    charts.append(Chart("coverage", "Coverage by location", coverage_chart(areas=areas)))
    figure = map_chart(areas=areas)
    charts.append(
        Chart("map", "Coverage map", figure or {}, note="" if figure else "No location here has coordinates.")
    )
    charts.append(Chart("pyramid", "People by age and sex", pyramid_chart(rollup=rollup)))
    if user.has_perm("payments.view_payroll"):
        charts.append(
            Chart("payments", "Payments by cycle", payments_chart(user=user, filters=filters, grain=grain))
        )
        cycles = reconciliation_by_cycle(user=user, filters=filters, grain=grain)
        charts.append(Chart("reconciliation", "Reconciliation by cycle", reconciliation_chart(cycles=cycles)))
    grievances = grievance_figures(user=user) if user.has_perm("grievances.view_ticket") else None
    if grievances is not None:
        charts.append(
            Chart(
                "grievances", "Open grievances by category and age", grievances_chart(grievances=grievances)
            )
        )
        charts.append(
            Chart(
                "grievance-resolution",
                "Grievances: time to resolution and overdue share",
                grievance_resolution_chart(grievances=grievances),
            )
        )
    return {
        "key_figures": dashboard_figures(
            user=user, filters=filters, rollup=rollup, grain=grain, grievances=grievances
        ),
        "charts": charts,
        "filter_form": form,
        "summary_refreshed": refreshed,
        "refresh_url": reverse("admin:portal_dashboard_refresh"),
    }


@require_POST
def dashboard_refresh_view(request: HttpRequest) -> HttpResponse:
    """Start the refresh job. Any staff user who sees the dashboard may: it recounts everything, reveals
    nothing (reads stay scoped) and a second click while one runs reuses the running job."""
    from django.contrib import messages

    from portal.summaries import summaries_refresh_start

    job = summaries_refresh_start(user=request.user)  # type: ignore[arg-type]
    messages.info(request, f"Refreshing the figures (job #{job.pk}); reload the page in a moment.")
    # Back to the same filters; re-encoded, so it can only ever be a query string on the dashboard.
    query = QueryDict(request.POST.get("query", "")).urlencode()
    return HttpResponseRedirect(reverse("admin:index") + (f"?{query}" if query else ""))
