"""Writes of payments: payment plans and their preview, provider keys, payroll generation and lifecycle.

Payroll lines are written by one `INSERT ... SELECT` with the amount computed in the database by
the compiled formula; approval goes through maker-checker (`payments.payroll_approve`); the
provider's results are applied by `payments.reconciliation`. Every function checks permission
and state itself, so no screen or forged POST can skip it.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    Avg,
    Case,
    Count,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Round
from django.utils import timezone

from approvals.models import Task
from approvals.services import approval_request
from payments.events import benefit_events_record
from payments.expressions import payment_context, payment_expressions_check
from payments.models import (
    Benefit,
    BenefitEvent,
    BenefitEventKind,
    BenefitStatus,
    PaymentCycle,
    PaymentPlan,
    PaymentPoint,
    Payroll,
    PayrollStatus,
    api_key_hash,
)
from payments.selectors import payroll_lines_all_visible, user_can_request_payments
from programs.models import Beneficiary, BenefitPlan, CeilingAction
from programs.selectors import user_can_view_plan
from registry.expressions import ExpressionError, compile_expression, compile_filter, null_reasons
from registry.models import HouseholdMember, HouseholdRole, Location
from registry.selectors import user_sees_everywhere

User = AbstractBaseUser | AnonymousUser
Progress = Callable[..., None]

SAMPLE_SIZE = 20
# Beneficiaries per INSERT ... SELECT of a payroll: the job's progress moves between chunks. Each chunk
# scans the tables its formula joins (households) again, so fewer, larger chunks cost less.
GENERATION_CHUNK = 200_000
APPROVE_ACTION = "payments.payroll_approve"
RELEASE_ACTION = "payments.benefit_release"
# A line no longer counts against the one-payment-per-cycle rule in these states.
INACTIVE_LINE_STATES = (BenefitStatus.CARRIED, BenefitStatus.CANCELLED)


def _require(user: User, permission: str, what: str) -> None:
    if not (user.is_authenticated and user.is_active and user.has_perm(permission)):
        raise ValidationError(f"You may not {what}.")


def _require_payroll(user: User, payroll: Payroll, what: str) -> None:
    """A step on a payroll needs the plan's payment permission and every line of it in the user's area."""
    _require_plan(user, payroll.payment_plan.benefit_plan)
    if not payroll_lines_all_visible(user=user, payroll=payroll):
        raise ValidationError(f"{payroll} pays lines outside your locations: you may not {what} it.")


def _require_plan(user: User, plan: BenefitPlan) -> None:
    if not user_can_request_payments(user, plan):
        raise ValidationError(
            f"You may not request payments for {plan}: ask an administrator to assign you to it."
        )


# --- payment plans ------------------------------------------------------------------------------


@transaction.atomic
def payment_plan_save(*, user: User, payment_plan: PaymentPlan) -> PaymentPlan:
    """Create or change a payment plan; the formula and filter are type-checked first."""
    adding = payment_plan.pk is None
    _require(
        user, "payments.add_paymentplan" if adding else "payments.change_paymentplan", "edit payment plans"
    )
    _require_plan(user, payment_plan.benefit_plan)
    payment_plan.full_clean()
    payment_plan.save()
    return payment_plan


@dataclass(frozen=True)
class PaymentScope:
    """Where an officer may pay: the locations of their profile, or everywhere (no locations)."""

    locations: tuple[Location, ...] = ()

    @property
    def everywhere(self) -> bool:
        return not self.locations

    @property
    def paths(self) -> list[str]:
        return [location.path for location in self.locations]

    def label(self) -> str:
        if self.everywhere:
            return "every location of the plan"
        return f"limited to your locations: {', '.join(location.name for location in self.locations)}"


def payment_scope(*, user: User) -> PaymentScope:
    """The officer's scope for payrolls; an officer limited to no location at all may pay nobody."""
    if user_sees_everywhere(user):
        return PaymentScope()
    locations = tuple(Location.objects.filter(user_profiles__user=user).order_by("path")) if user.pk else ()
    if not locations:
        raise ValidationError("No location is on your profile: ask an administrator to give you some.")
    return PaymentScope(locations)


def _paths_q(paths: list[str]) -> Q:
    condition = Q(pk__in=[])
    for path in paths:
        condition |= Q(path__startswith=path)
    return condition


def _served_location_ids(
    *, payment_point: PaymentPoint | None, scope_paths: list[str] | None
) -> list[int] | None:
    """Ids of the locations both the payment point serves and the scope covers (None: no limit).

    One path-prefix query on the location tree; the beneficiaries are then filtered by these ids inside the
    INSERT ... SELECT: PostgreSQL estimates a list of ids well and scans the beneficiaries once, where a
    join on path prefixes looked like one location and led to nested loops.
    """
    if payment_point is None and not scope_paths:
        return None
    locations = Location.objects.all()
    if payment_point is not None:
        locations = locations.filter(_paths_q(list(payment_point.locations.values_list("path", flat=True))))
    if scope_paths:
        locations = locations.filter(_paths_q(scope_paths))
    return list(locations.values_list("pk", flat=True))


def payment_points_usable(*, user: User) -> QuerySet[PaymentPoint]:
    """Active payment points the user may generate a payroll for: every one for those who see everywhere,
    else those serving at least one of their locations (the test `payroll_generate` applies). Payment points
    are few (tens): one small query each."""
    points = PaymentPoint.objects.filter(is_active=True)
    try:
        scope = payment_scope(user=user)
    except ValidationError:
        return points.none()
    if scope.everywhere:
        return points
    usable = [
        point.pk
        for point in points.prefetch_related("locations")
        if _served_location_ids(payment_point=point, scope_paths=scope.paths)
    ]
    return points.filter(pk__in=usable)


def _source(
    *,
    payment_plan: PaymentPlan,
    payment_point: PaymentPoint | None,
    amount_formula: str,
    filter_expression: str,
    scope_paths: list[str] | None = None,
) -> QuerySet[Beneficiary]:
    context = payment_context(payment_plan.benefit_plan)
    rows = Beneficiary.objects.filter(benefit_plan=payment_plan.benefit_plan)
    try:
        if filter_expression.strip():
            rows = rows.filter(compile_filter(filter_expression, context))
    except ExpressionError as exc:
        raise ValidationError({"filter_expression": str(exc)}) from None
    location_ids = _served_location_ids(payment_point=payment_point, scope_paths=scope_paths)
    if location_ids is not None:
        rows = rows.filter(location_id__in=location_ids) if location_ids else rows.none()
    return rows


def _amount(payment_plan: PaymentPlan, formula: str, today: date) -> Any:
    try:
        return Round(
            compile_expression(
                formula, payment_context(payment_plan.benefit_plan), expect="number", today=today
            ),
            2,
        )
    except ExpressionError as exc:
        raise ValidationError({"amount_formula": str(exc)}) from None


@dataclass
class PaymentPreview:
    count: int
    total: Decimal
    minimum: Decimal | None
    maximum: Decimal | None
    average: Decimal | None
    held_above_limit: int
    without_amount: int
    sample: list[dict[str, Any]] = field(default_factory=list)
    scope: str = "every location of the plan"
    above_ceiling: int = 0  # lines the plan's ceiling per beneficiary will cap or hold


def payment_plan_preview(
    *,
    user: User,
    payment_plan: PaymentPlan,
    amount_formula: str | None = None,
    filter_expression: str | None = None,
    payment_point: PaymentPoint | None = None,
    today: date | None = None,
) -> PaymentPreview:
    """Count, total, min/max/average and a sample of what a payroll would pay, computed in the database."""
    plan = payment_plan.benefit_plan
    if not user_can_view_plan(user, plan):
        raise ValidationError(f"You may not see {plan}.")
    formula = payment_plan.amount_formula if amount_formula is None else amount_formula
    condition = payment_plan.filter_expression if filter_expression is None else filter_expression
    payment_expressions_check(plan=plan, amount_formula=formula, filter_expression=condition)
    today = today or timezone.localdate()
    scope = payment_scope(user=user)
    rows = _source(
        payment_plan=payment_plan,
        payment_point=payment_point,
        amount_formula=formula,
        filter_expression=condition,
        scope_paths=scope.paths,
    ).annotate(payment_amount=_amount(payment_plan, formula, today))
    limit = payment_plan.per_transaction_limit
    figures = rows.order_by().aggregate(
        count=Count("pk"),
        total=Sum("payment_amount"),
        minimum=Min("payment_amount"),
        maximum=Max("payment_amount"),
        average=Avg("payment_amount"),
        without_amount=Count("pk", filter=Q(payment_amount__isnull=True)),
        above=Count("pk", filter=Q(payment_amount__gt=limit))
        if limit is not None
        else Count("pk", filter=Q(pk__in=[])),
        above_ceiling=Count("pk", filter=Q(payment_amount__gt=plan.ceiling_per_beneficiary))
        if plan.ceiling_per_beneficiary is not None
        else Count("pk", filter=Q(pk__in=[])),
    )
    sample = [
        {
            "beneficiary": row["pk"],
            "who": row["household__code"]
            or f"{row['individual__given_name']} {row['individual__family_name']}",
            "amount": None if row["payment_amount"] is None else _money(row["payment_amount"]),
        }
        for row in rows.order_by("pk").values(
            "pk", "household__code", "individual__given_name", "individual__family_name", "payment_amount"
        )[:SAMPLE_SIZE]
    ]

    def money(value: Any) -> Decimal | None:
        return None if value is None else _money(value)

    return PaymentPreview(
        count=figures["count"],
        total=money(figures["total"]) or Decimal("0.00"),
        minimum=money(figures["minimum"]),
        maximum=money(figures["maximum"]),
        average=money(figures["average"]),
        held_above_limit=figures["above"],
        without_amount=figures["without_amount"],
        sample=sample,
        scope=scope.label(),
        above_ceiling=figures["above_ceiling"],
    )


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


# --- payment points -----------------------------------------------------------------------------


@transaction.atomic
def payment_point_key_rotate(*, user: User, payment_point: PaymentPoint) -> str:
    """A new API key for the provider: returned once, stored only as its hash."""
    _require(user, "payments.change_paymentpoint", "change payment points")
    key = f"pp_{secrets.token_urlsafe(32)}"
    payment_point.api_key_hash = api_key_hash(key)
    payment_point.api_key_prefix = key[:8]
    payment_point.save(update_fields=["api_key_hash", "api_key_prefix"])
    return key


def payment_point_by_key(key: str) -> PaymentPoint | None:
    if not key:
        return None
    return PaymentPoint.objects.filter(api_key_hash=api_key_hash(key), is_active=True).first()


# --- payroll generation -------------------------------------------------------------------------


def _live_payroll(
    payment_plan: PaymentPlan, cycle: PaymentCycle, point: PaymentPoint | None, scope: PaymentScope
) -> Payroll | None:
    """The payroll already paying this plan, cycle and point for the same scope (few rows: plan x cycle)."""
    dead = (PayrollStatus.CANCELLED, PayrollStatus.REJECTED, PayrollStatus.FAILED)
    wanted = {location.pk for location in scope.locations}
    candidates = (
        Payroll.objects.filter(payment_plan=payment_plan, cycle=cycle, payment_point=point, carried_from=None)
        .exclude(status__in=dead)
        .prefetch_related("locations")
    )
    return next((p for p in candidates if {loc.pk for loc in p.locations.all()} == wanted), None)


@transaction.atomic
def payroll_create(
    *,
    user: User,
    payment_plan: PaymentPlan,
    cycle: PaymentCycle,
    payment_point: PaymentPoint | None = None,
    payment_date: date | None = None,
    background: bool = True,
) -> Payroll:
    """A payroll in `generating`; a background job writes its lines (at once when not `background`)."""
    _require(user, "payments.add_payroll", "generate payrolls")
    _require_plan(user, payment_plan.benefit_plan)
    payment_expressions_check(
        plan=payment_plan.benefit_plan,
        amount_formula=payment_plan.amount_formula,
        filter_expression=payment_plan.filter_expression,
    )
    # The scope comes from the user's profile, never from the request: no form field can widen it.
    scope = payment_scope(user=user)
    if payment_point is not None and not scope.everywhere:
        served = _served_location_ids(payment_point=payment_point, scope_paths=scope.paths)
        if not served:
            raise ValidationError(
                f"{payment_point} serves none of your locations "
                f"({', '.join(location.name for location in scope.locations)}): choose one that does."
            )
    existing = _live_payroll(payment_plan, cycle, payment_point, scope)
    if existing is not None:
        raise ValidationError(
            f"{existing} already pays {payment_plan} for cycle {cycle}"
            f"{f' through {payment_point}' if payment_point else ''}: cancel it first."
        )
    payroll = Payroll.objects.create(
        payment_plan=payment_plan,
        cycle=cycle,
        payment_point=payment_point,
        name=(
            f"{payment_plan.name} {cycle.code}{f' {payment_point}' if payment_point else ''}"
            f"{'' if scope.everywhere else ' (' + ', '.join(loc.name for loc in scope.locations) + ')'}"
        )[:200],
        amount_formula=payment_plan.amount_formula,
        filter_expression=payment_plan.filter_expression,
        payment_date=payment_date or cycle.start_date,
        created_by=user,
    )
    payroll.locations.set(scope.locations)
    if background:
        from jobs.services import job_start
        from payments.tasks import payroll_generate_job

        payroll.job = job_start(
            task=payroll_generate_job, label=f"Generate {payroll}", user=user, args=(payroll.pk,)
        )
        payroll.save(update_fields=["job"])
    else:
        payroll_generate(payroll=payroll)
    return payroll


def _recipient(plan: BenefitPlan) -> Any:
    from django.db.models import Subquery

    if not plan.is_household:
        return F("individual_id")
    members = HouseholdMember.objects.filter(
        household=OuterRef("household_id"), end_date__isnull=True
    ).order_by()
    primary = members.filter(is_primary_recipient=True).values("individual_id")[:1]
    head = members.filter(role=HouseholdRole.HEAD).values("individual_id")[:1]
    return Coalesce(Subquery(primary), Subquery(head))


def _insert_lines(payroll: Payroll, source: QuerySet[Beneficiary], amount: Any, recipient: Any) -> int:
    """One INSERT ... SELECT: the amount from the database, capped at the plan's ceiling per beneficiary or
    held above it (as the plan says), held when null, negative or above the per-transaction limit."""
    limit = payroll.payment_plan.per_transaction_limit
    plan = payroll.payment_plan.benefit_plan
    ceiling = plan.ceiling_per_beneficiary
    inner = (
        source.order_by()
        .annotate(
            line_beneficiary=F("pk"),
            line_amount=amount,
            line_recipient=recipient,
            line_location=F("location_id"),
        )
        .values("line_beneficiary", "line_amount", "line_recipient", "line_location")
    )
    inner_sql, inner_params = inner.query.get_compiler(using=inner.db).as_sql()
    is_pg = connection.vendor == "postgresql"
    if is_pg:
        # OFFSET 0 keeps PostgreSQL from inlining the subquery: the formula is computed once per row,
        # not once per CASE that reads it.
        inner_sql += " OFFSET 0"

    def number(value: Decimal) -> Any:
        return value if is_pg else float(value)

    # The line's amount: the formula's, or the ceiling when the plan caps lines above it.
    line_amount = "src.line_amount"
    amount_params: list[Any] = []
    if ceiling is not None and plan.ceiling_action == CeilingAction.CAP:
        line_amount = "(CASE WHEN src.line_amount > %s THEN %s ELSE src.line_amount END)"
        amount_params = [number(ceiling), number(ceiling)]
    held = [f"{line_amount} IS NULL", f"{line_amount} < 0"]
    held_params: list[Any] = [*amount_params, *amount_params]
    reasons = [f"WHEN {line_amount} IS NULL THEN ''", f"WHEN {line_amount} < 0 THEN %s"]
    reason_params: list[Any] = [*amount_params, *amount_params, "The formula gives a negative amount."]
    if ceiling is not None and plan.ceiling_action == CeilingAction.HOLD:
        held.append("src.line_amount > %s")
        held_params.append(number(ceiling))
        reasons.append("WHEN src.line_amount > %s THEN %s")
        reason_params += [
            number(ceiling),
            f"Above the plan's ceiling per beneficiary of {ceiling}: needs separate approval.",
        ]
    if limit is not None:
        held.append(f"{line_amount} > %s")
        held_params += [*amount_params, number(limit)]
        reasons.append(f"WHEN {line_amount} > %s THEN %s")
        reason_params += [
            *amount_params,
            number(limit),
            f"Above the per-transaction limit of {limit}: needs separate approval.",
        ]
    text = "VARCHAR(40)" if is_pg else "TEXT"
    quote = connection.ops.quote_name
    columns = [
        "payroll_id",
        "cycle_id",
        "beneficiary_id",
        "recipient_id",
        "location_id",
        "amount",
        "status",
        "hold_reason",
        "reference",
        "transaction_id",
        "failure_reason",
        "evidence_agent",
        "evidence_photo",
    ]
    statement = (
        f"INSERT INTO {quote(Benefit._meta.db_table)} ({', '.join(map(quote, columns))}) "
        f"SELECT %s, %s, src.line_beneficiary, src.line_recipient, src.line_location, {line_amount}, "
        f"CASE WHEN {' OR '.join(held)} THEN %s ELSE %s END, "
        f"CASE {' '.join(reasons)} ELSE '' END, "
        f"CAST(%s AS {text}) || CAST(src.line_beneficiary AS {text}), '', '', '', '' "
        f"FROM ({inner_sql}) src"
    )
    params = [
        payroll.pk,
        payroll.cycle_id,
        *amount_params,
        *held_params,
        BenefitStatus.HELD,
        BenefitStatus.PENDING,
        *reason_params,
        f"PR{payroll.pk}-",
        *inner_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def _explain_null_lines(payroll: Payroll) -> int:
    """Held lines without an amount get the reason the formula gave none (division by zero, missing value)."""
    held = Benefit.objects.filter(payroll=payroll, status=BenefitStatus.HELD, amount__isnull=True)
    if not held.exists():
        return 0
    context = payment_context(payroll.payment_plan.benefit_plan)
    rows = Beneficiary.objects.filter(pk__in=held.values("beneficiary_id"))
    reasons = null_reasons(rows, payroll.amount_formula, context, today=payroll.payment_date)
    by_reason: dict[str, list[int]] = defaultdict(list)
    for beneficiary_id, reason in reasons.items():
        by_reason[f"No amount: {reason}"].append(beneficiary_id)
    for reason, ids in by_reason.items():
        for start in range(0, len(ids), 5000):
            held.filter(beneficiary_id__in=ids[start : start + 5000]).update(hold_reason=reason)
    held.filter(hold_reason="").update(hold_reason="No amount: the formula gives no value.")
    return len(reasons)


def _generation_note(plan: BenefitPlan) -> Any:
    """What the line's first event says: why it is held, or that it is at the plan's ceiling."""
    whens = [When(status=BenefitStatus.HELD, then=F("hold_reason"))]
    ceiling = plan.ceiling_per_beneficiary
    if ceiling is not None and plan.ceiling_action == CeilingAction.CAP:
        whens.append(
            When(
                amount=ceiling,
                then=Value(
                    f"At the plan's ceiling per beneficiary of {ceiling}: amounts above it are capped."
                ),
            )
        )
    return Case(*whens, default=Value(""), output_field=TextField())


def _chunk_bounds(plan: BenefitPlan, size: int) -> tuple[list[tuple[int, int | None]], int]:
    """Id ranges [start, end) of about `size` of the plan's beneficiaries each (the last one open), and
    their count: one aggregate over the plan's index, no Python loop over the rows."""
    figures = Beneficiary.objects.filter(benefit_plan=plan).aggregate(
        low=Min("pk"), high=Max("pk"), count=Count("pk")
    )
    total = figures["count"]
    if not total:
        return [(0, None)], 0
    chunks = -(-total // size)
    width = -(-(figures["high"] - figures["low"] + 1) // chunks)
    starts = [figures["low"] + index * width for index in range(chunks)]
    return [(start, starts[i + 1] if i + 1 < chunks else None) for i, start in enumerate(starts)], total


def payroll_generate(
    *, payroll: Payroll, progress: Progress | None = None, chunk_size: int = GENERATION_CHUNK
) -> dict[str, Any]:
    """Write the payroll's lines set-based; on failure the payroll is marked failed and no line stays.

    The INSERT ... SELECT runs in chunks of `chunk_size` beneficiaries (by id range), all in the one
    transaction, so the job's progress (written on its own connection) moves while the lines are written.
    """
    try:
        with transaction.atomic():
            payroll = (
                Payroll.objects.select_for_update(of=("self",))
                .select_related("payment_plan__benefit_plan", "payment_point")
                .get(pk=payroll.pk)
            )
            if payroll.status != PayrollStatus.GENERATING:
                raise ValidationError(
                    f"{payroll} is {payroll.get_status_display().lower()}: it was generated already."
                )
            plan = payroll.payment_plan.benefit_plan
            source = _source(
                payment_plan=payroll.payment_plan,
                payment_point=payroll.payment_point,
                amount_formula=payroll.amount_formula,
                filter_expression=payroll.filter_expression,
                scope_paths=list(payroll.locations.values_list("path", flat=True)),
            )
            paid_this_cycle = Benefit.objects.filter(
                beneficiary=OuterRef("pk"), cycle=payroll.cycle_id
            ).exclude(status__in=INACTIVE_LINE_STATES)
            amount = _amount(payroll.payment_plan, payroll.amount_formula, payroll.payment_date)
            recipient = _recipient(plan)
            bounds, total = _chunk_bounds(plan, chunk_size)
            if connection.vendor == "postgresql":
                # Compiling each chunk's statement to machine code costs more than it saves on a chunk.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL jit = off")
            if progress:
                progress(done=0, total=total, message="Computing amounts and writing lines")
            written = 0
            for index, (start, end) in enumerate(bounds):
                # The id range bounds the lines already paid this cycle too: an index range scan per chunk,
                # not a scan of every line of the table (which grows as the chunks are written).
                in_range = Q(pk__gte=start)
                paid_in_range = Q(beneficiary_id__gte=start)
                if end is not None:
                    in_range &= Q(pk__lt=end)
                    paid_in_range &= Q(beneficiary_id__lt=end)
                chunk = source.filter(in_range).filter(~Exists(paid_this_cycle.filter(paid_in_range)))
                written += _insert_lines(payroll, chunk, amount, recipient)
                if progress:
                    progress(
                        done=total * (index + 1) // len(bounds),
                        total=total,
                        message=f"{written:,} lines written",
                    )
            if progress:
                progress(done=total, total=total, message="Explaining lines without an amount")
            explained = _explain_null_lines(payroll)
            benefit_events_record(
                lines=Benefit.objects.filter(payroll=payroll),
                kind=BenefitEventKind.GENERATED,
                from_status="",
                note=_generation_note(plan),
                user=payroll.created_by,
            )
            payroll.generated()
            payroll.save()
    except Exception as exc:
        from approvals.services import error_text

        Payroll.objects.filter(pk=payroll.pk, status=PayrollStatus.GENERATING).update(
            status=PayrollStatus.FAILED, error=error_text(exc)[:2000]
        )
        raise
    return {"lines": written, "without_amount": explained}


# --- lifecycle ----------------------------------------------------------------------------------


def _locked(payroll: Payroll) -> Payroll:
    return Payroll.objects.select_for_update().select_related("payment_plan__benefit_plan").get(pk=payroll.pk)


def _state_error(payroll: Payroll, doing: str) -> ValidationError:
    return ValidationError(f"{payroll} is {payroll.get_status_display().lower()}: it cannot be {doing}.")


def payroll_total(payroll: Payroll) -> Decimal:
    total = Benefit.objects.filter(payroll=payroll, status=BenefitStatus.PENDING).aggregate(t=Sum("amount"))[
        "t"
    ]
    return _money(total or 0)


@transaction.atomic
def payroll_submit(*, user: User, payroll: Payroll, reason: str = "") -> Task:
    """Draft → awaiting approval: queue the approval task with the payroll's total as its amount."""
    _require(user, "payments.change_payroll", "submit payrolls")
    payroll = _locked(payroll)
    _require_payroll(user, payroll, "submit")
    if payroll.status != PayrollStatus.DRAFT:
        raise _state_error(payroll, "submitted for approval")
    if not Benefit.objects.filter(payroll=payroll, status=BenefitStatus.PENDING).exists():
        raise ValidationError(f"{payroll} has no payable line: there is nothing to approve.")
    payroll.submit()
    payroll.save()
    return approval_request(
        action=APPROVE_ACTION,
        target=payroll,
        payload={"total": str(payroll_total(payroll))},
        maker=user,
        reason=reason,
    )


def _approver(task: Task | None) -> Any:
    """Who gave the approval that runs the task: the last approving decision's user."""
    if task is None:
        return None
    decision = task.approvals.order_by("-pk").select_related("user").first()
    return decision.user if decision is not None else None


def payroll_approve_execute(
    *, payroll: Payroll, payload: dict[str, Any], task: Task | None = None
) -> dict[str, Any]:
    """The approved task's executor: awaiting approval → approved, if the total is still the one approved."""
    payroll = _locked(payroll)
    if payroll.status != PayrollStatus.AWAITING_APPROVAL:
        raise _state_error(payroll, "approved")
    total = payroll_total(payroll)
    if str(total) != payload.get("total"):
        raise ValidationError(
            f"The payroll's total changed from {payload.get('total')} to {total} since the request."
        )
    payroll.approve()
    payroll.save()
    benefit_events_record(
        lines=Benefit.objects.filter(payroll=payroll, status=BenefitStatus.PENDING),
        kind=BenefitEventKind.APPROVED,
        note=f"Payroll approved, total {total}.",
        user=_approver(task),
        task=task,
    )
    return {"total": str(total)}


def payroll_sync_decision(*, payroll: Payroll) -> Payroll:
    """Awaiting approval, its task rejected or cancelled → rejected (approvals know no payroll)."""
    from django.contrib.contenttypes.models import ContentType

    from approvals.models import TaskState

    payroll = Payroll.objects.select_related("payment_plan__benefit_plan").get(pk=payroll.pk)
    if payroll.status != PayrollStatus.AWAITING_APPROVAL:
        return payroll
    task = (
        Task.objects.filter(
            action=APPROVE_ACTION,
            content_type=ContentType.objects.get_for_model(Payroll),
            object_id=payroll.pk,
        )
        .order_by("-pk")
        .first()
    )
    if task is not None and task.state in (TaskState.REJECTED, TaskState.CANCELLED, TaskState.FAILED):
        with transaction.atomic():
            payroll = _locked(payroll)
            if payroll.status == PayrollStatus.AWAITING_APPROVAL:
                payroll.reject()
                payroll.error = f"Task #{task.pk} was {task.get_state_display().lower()}."
                payroll.save()
    return payroll


@transaction.atomic
def payroll_send(*, user: User, payroll: Payroll) -> Payroll:
    """Approved → sent: the file went to the provider, which may now report results."""
    _require(user, "payments.change_payroll", "send payrolls")
    payroll = _locked(payroll)
    _require_payroll(user, payroll, "send")
    if payroll.status != PayrollStatus.APPROVED:
        raise _state_error(payroll, "sent")
    payroll.send()
    payroll.save()
    return payroll


@transaction.atomic
def payroll_cancel(*, user: User, payroll: Payroll, reason: str) -> Payroll:
    """Draft / awaiting approval / failed → cancelled; its lines are cancelled and free the cycle."""
    _require(user, "payments.change_payroll", "cancel payrolls")
    payroll = _locked(payroll)
    _require_payroll(user, payroll, "cancel")
    if not reason.strip():
        raise ValidationError("Say why the payroll is cancelled.")
    if payroll.status not in (PayrollStatus.DRAFT, PayrollStatus.AWAITING_APPROVAL, PayrollStatus.FAILED):
        raise _state_error(payroll, "cancelled")
    payroll.cancel()
    payroll.error = reason
    payroll.save()
    lines = Benefit.objects.filter(payroll=payroll).exclude(status__in=INACTIVE_LINE_STATES)
    benefit_events_record(
        lines=lines,
        kind=BenefitEventKind.CANCELLED,
        to_status=BenefitStatus.CANCELLED,
        note=reason,
        user=user,
    )
    lines.update(status=BenefitStatus.CANCELLED)
    return payroll


@transaction.atomic
def payroll_close(*, user: User, payroll: Payroll) -> Payroll:
    """Reconciling → reconciled once no line is pending any more."""
    _require(user, "payments.change_payroll", "close payrolls")
    payroll = _locked(payroll)
    _require_payroll(user, payroll, "close")
    if payroll.status not in (PayrollStatus.SENT, PayrollStatus.RECONCILING):
        raise _state_error(payroll, "closed")
    pending = Benefit.objects.filter(payroll=payroll, status=BenefitStatus.PENDING).count()
    if pending:
        raise ValidationError(f"{pending:,} lines of {payroll} still wait for the provider's result.")
    payroll.close_reconciled()
    payroll.save()
    return payroll


@transaction.atomic
def benefit_release_request(*, user: User, payroll: Payroll, reason: str = "") -> Task:
    """Ask approval to pay the lines held above the per-transaction limit."""
    _require(user, "payments.change_payroll", "release held lines")
    _require_payroll(user, payroll, "release the held lines of")
    held = Benefit.objects.filter(payroll=payroll, status=BenefitStatus.HELD, amount__gte=0)
    figures = held.aggregate(count=Count("pk"), total=Sum("amount"))
    if not figures["count"]:
        raise ValidationError(f"{payroll} has no held line with an amount to release.")
    if payroll.status not in (PayrollStatus.DRAFT, PayrollStatus.AWAITING_APPROVAL, PayrollStatus.APPROVED):
        raise _state_error(payroll, "changed")
    return approval_request(
        action=RELEASE_ACTION,
        target=payroll,
        payload={"count": figures["count"], "total": str(_money(figures["total"]))},
        maker=user,
        reason=reason,
    )


def benefit_release_execute(
    *, payroll: Payroll, payload: dict[str, Any], task: Task | None = None
) -> dict[str, Any]:
    payroll = _locked(payroll)
    if payroll.status not in (PayrollStatus.DRAFT, PayrollStatus.AWAITING_APPROVAL, PayrollStatus.APPROVED):
        raise _state_error(payroll, "changed")
    held = Benefit.objects.filter(payroll=payroll, status=BenefitStatus.HELD, amount__gte=0)
    # The events first, over the same lines (the payroll row is locked): the note keeps why it was held.
    benefit_events_record(
        lines=held,
        kind=BenefitEventKind.RELEASED,
        to_status=BenefitStatus.PENDING,
        note=F("hold_reason"),
        user=_approver(task),
        task=task,
    )
    released = held.update(status=BenefitStatus.PENDING, hold_reason="")
    return {"released": released}


@transaction.atomic
def payroll_carry_over(*, user: User, payroll: Payroll, cycle: PaymentCycle | None = None) -> Payroll:
    """Unpaid (failed) lines of a reconciled or reconciling payroll go into a new draft payroll."""
    _require(user, "payments.add_payroll", "generate payrolls")
    payroll = _locked(payroll)
    _require_payroll(user, payroll, "carry over the lines of")
    if payroll.status not in (PayrollStatus.RECONCILING, PayrollStatus.RECONCILED):
        raise _state_error(payroll, "carried over")
    failed = Benefit.objects.filter(payroll=payroll, status=BenefitStatus.FAILED)
    if not failed.exists():
        raise ValidationError(f"{payroll} has no failed line to carry over.")
    new = Payroll.objects.create(
        payment_plan=payroll.payment_plan,
        cycle=cycle or payroll.cycle,
        payment_point=payroll.payment_point,
        name=f"{payroll.name} (carried over)",
        status=PayrollStatus.DRAFT,
        amount_formula=payroll.amount_formula,
        filter_expression=payroll.filter_expression,
        payment_date=payroll.payment_date,
        carried_from=payroll,
        created_by=user,
    )
    new.locations.set(payroll.locations.all())  # the same scope, so the same checkers decide it
    # The failed lines become carried first (their events, then one UPDATE), so that the new lines of the
    # same cycle do not meet them in the one-payment-per-cycle constraint; the new lines are then copied
    # from exactly the lines this step carried, found by their event.
    note = f"Carried into {new} (#{new.pk})."
    benefit_events_record(
        lines=failed, kind=BenefitEventKind.CARRIED, to_status=BenefitStatus.CARRIED, note=note, user=user
    )
    failed.update(status=BenefitStatus.CARRIED)
    quote = connection.ops.quote_name
    table = quote(Benefit._meta.db_table)
    events = quote(BenefitEvent._meta.db_table)
    text = "VARCHAR(40)" if connection.vendor == "postgresql" else "TEXT"
    # One INSERT ... SELECT, whatever the number of failed lines (the generation's own columns).
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (payroll_id, cycle_id, beneficiary_id, recipient_id, location_id, amount, "
            f"status, hold_reason, reference, transaction_id, failure_reason, evidence_agent, "
            f"evidence_photo) "
            f"SELECT %s, %s, beneficiary_id, recipient_id, location_id, amount, %s, '', "
            f"CAST(%s AS {text}) || CAST(beneficiary_id AS {text}), '', '', '', '' "
            f"FROM {table} WHERE payroll_id = %s AND status = %s AND id IN "
            f"(SELECT benefit_id FROM {events} WHERE payroll_id = %s AND kind = %s AND note = %s)",
            [
                new.pk,
                new.cycle_id,
                BenefitStatus.PENDING,
                f"PR{new.pk}-",
                payroll.pk,
                BenefitStatus.CARRIED,
                payroll.pk,
                BenefitEventKind.CARRIED,
                note,
            ],
        )
    benefit_events_record(
        lines=Benefit.objects.filter(payroll=new),
        kind=BenefitEventKind.CARRIED_IN,
        from_status="",
        note=f"Carried over from the failed lines of {payroll} (#{payroll.pk}).",
        user=user,
    )
    return new
