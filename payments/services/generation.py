"""Payroll generation: a payroll for a plan x cycle (x payment point) in the officer's scope, its lines
written by `INSERT ... SELECT` in chunks with the amount computed in the database by the compiled formula."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from approvals.services import error_text
from payments.expressions import payment_context, payment_expressions_check
from payments.models import (
    INACTIVE_LINE_STATES,
    Benefit,
    BenefitEventKind,
    BenefitStatus,
    PaymentCycle,
    PaymentPlan,
    PaymentPoint,
    Payroll,
    PayrollStatus,
)
from payments.services.checks import User, require_permission, require_plan
from payments.services.events import benefit_events_record
from payments.services.plans import payment_amount, payment_beneficiaries
from payments.services.points import PaymentScope, payment_scope, served_location_ids
from programs.models import Beneficiary, BenefitPlan, CeilingAction
from registry.expressions import null_reasons
from registry.models import HouseholdMember, HouseholdRole

Progress = Callable[..., None]

# Beneficiaries per INSERT ... SELECT of a payroll: the job's progress moves between chunks. Each chunk
# scans the tables its formula joins (households) again, so fewer, larger chunks cost less.
GENERATION_CHUNK = 200_000
# The columns of a payroll line written by SQL (generation and carry-over), NOT NULL text ones included.
LINE_COLUMNS = (
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
)


def payroll_live(
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
    require_permission(user, "payments.add_payroll", "generate payrolls")
    require_plan(user, payment_plan.benefit_plan)
    payment_expressions_check(
        plan=payment_plan.benefit_plan,
        amount_formula=payment_plan.amount_formula,
        filter_expression=payment_plan.filter_expression,
    )
    # The scope comes from the user's profile, never from the request: no form field can widen it.
    scope = payment_scope(user=user)
    if payment_point is not None and not scope.everywhere:
        served = served_location_ids(payment_point=payment_point, scope_paths=scope.paths)
        if not served:
            raise ValidationError(
                f"{payment_point} serves none of your locations "
                f"({', '.join(location.name for location in scope.locations)}): choose one that does."
            )
    existing = payroll_live(payment_plan, cycle, payment_point, scope)
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
    if not plan.is_household:
        return F("individual_id")
    members = HouseholdMember.objects.filter(
        household=OuterRef("household_id"), end_date__isnull=True
    ).order_by()
    primary = members.filter(is_primary_recipient=True).values("individual_id")[:1]
    head = members.filter(role=HouseholdRole.HEAD).values("individual_id")[:1]
    return Coalesce(Subquery(primary), Subquery(head))


@dataclass
class _LineRules:
    """The SQL deciding a line's amount, whether it is held, and why, each with its parameters."""

    amount: str = "src.line_amount"
    amount_params: list[Any] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    held_params: list[Any] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    reason_params: list[Any] = field(default_factory=list)


def _line_rules(payroll: Payroll, number: Callable[[Decimal], Any]) -> _LineRules:
    """The amount capped at the plan's ceiling per beneficiary or held above it (as the plan says), held when
    null, negative or above the per-transaction limit."""
    limit = payroll.payment_plan.per_transaction_limit
    plan = payroll.payment_plan.benefit_plan
    ceiling = plan.ceiling_per_beneficiary
    rules = _LineRules()
    if ceiling is not None and plan.ceiling_action == CeilingAction.CAP:
        rules.amount = "(CASE WHEN src.line_amount > %s THEN %s ELSE src.line_amount END)"
        rules.amount_params = [number(ceiling), number(ceiling)]
    amount, amount_params = rules.amount, rules.amount_params
    rules.held = [f"{amount} IS NULL", f"{amount} < 0"]
    rules.held_params = [*amount_params, *amount_params]
    rules.reasons = [f"WHEN {amount} IS NULL THEN ''", f"WHEN {amount} < 0 THEN %s"]
    rules.reason_params = [*amount_params, *amount_params, "The formula gives a negative amount."]
    if ceiling is not None and plan.ceiling_action == CeilingAction.HOLD:
        rules.held.append("src.line_amount > %s")
        rules.held_params.append(number(ceiling))
        rules.reasons.append("WHEN src.line_amount > %s THEN %s")
        rules.reason_params += [
            number(ceiling),
            f"Above the plan's ceiling per beneficiary of {ceiling}: needs separate approval.",
        ]
    if limit is not None:
        rules.held.append(f"{amount} > %s")
        rules.held_params += [*amount_params, number(limit)]
        rules.reasons.append(f"WHEN {amount} > %s THEN %s")
        rules.reason_params += [
            *amount_params,
            number(limit),
            f"Above the per-transaction limit of {limit}: needs separate approval.",
        ]
    return rules


def _source_sql(source: QuerySet[Beneficiary], amount: Any, recipient: Any) -> tuple[str, list[Any]]:
    """The SELECT of (beneficiary, amount, recipient, location) per beneficiary of `source`."""
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
    sql, params = inner.query.get_compiler(using=inner.db).as_sql()
    if connection.vendor == "postgresql":
        # OFFSET 0 keeps PostgreSQL from inlining the subquery: the formula is computed once per row,
        # not once per CASE that reads it.
        sql += " OFFSET 0"
    return sql, list(params)


def _insert_lines(payroll: Payroll, source: QuerySet[Beneficiary], amount: Any, recipient: Any) -> int:
    """One INSERT ... SELECT of the lines of `source`, amounts from the database (see `_line_rules`)."""
    is_pg = connection.vendor == "postgresql"

    def number(value: Decimal) -> Any:
        return value if is_pg else float(value)

    rules = _line_rules(payroll, number)
    inner_sql, inner_params = _source_sql(source, amount, recipient)
    text = "VARCHAR(40)" if is_pg else "TEXT"
    quote = connection.ops.quote_name
    statement = (
        f"INSERT INTO {quote(Benefit._meta.db_table)} ({', '.join(map(quote, LINE_COLUMNS))}) "
        f"SELECT %s, %s, src.line_beneficiary, src.line_recipient, src.line_location, {rules.amount}, "
        f"CASE WHEN {' OR '.join(rules.held)} THEN %s ELSE %s END, "
        f"CASE {' '.join(rules.reasons)} ELSE '' END, "
        f"CAST(%s AS {text}) || CAST(src.line_beneficiary AS {text}), '', '', '', '' "
        f"FROM ({inner_sql}) src"
    )
    params = [
        payroll.pk,
        payroll.cycle_id,
        *rules.amount_params,
        *rules.held_params,
        BenefitStatus.HELD,
        BenefitStatus.PENDING,
        *rules.reason_params,
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


def _lines_write(payroll: Payroll, progress: Progress | None, chunk_size: int) -> tuple[int, int]:
    """The payroll's lines, chunk by chunk of beneficiary ids; (lines written, beneficiaries of the plan)."""
    plan = payroll.payment_plan.benefit_plan
    source = payment_beneficiaries(
        payment_plan=payroll.payment_plan,
        payment_point=payroll.payment_point,
        filter_expression=payroll.filter_expression,
        scope_paths=list(payroll.locations.values_list("path", flat=True)),
    )
    paid_this_cycle = Benefit.objects.filter(beneficiary=OuterRef("pk"), cycle=payroll.cycle_id).exclude(
        status__in=INACTIVE_LINE_STATES
    )
    amount = payment_amount(payroll.payment_plan, payroll.amount_formula, payroll.payment_date)
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
                done=total * (index + 1) // len(bounds), total=total, message=f"{written:,} lines written"
            )
    return written, total


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
            written, total = _lines_write(payroll, progress, chunk_size)
            if progress:
                progress(done=total, total=total, message="Explaining lines without an amount")
            explained = _explain_null_lines(payroll)
            benefit_events_record(
                lines=Benefit.objects.filter(payroll=payroll),
                kind=BenefitEventKind.GENERATED,
                from_status="",
                note=_generation_note(payroll.payment_plan.benefit_plan),
                user=payroll.created_by,
            )
            from payments.services.reissue import benefit_reissues_issue  # it reuses LINE_COLUMNS

            reissued = benefit_reissues_issue(payroll=payroll)
            payroll.generated()
            payroll.save()
    except Exception as exc:
        Payroll.objects.filter(pk=payroll.pk, status=PayrollStatus.GENERATING).update(
            status=PayrollStatus.FAILED, error=error_text(exc)[:2000]
        )
        raise
    return {"lines": written + reissued, "without_amount": explained, "reissued": reissued}
