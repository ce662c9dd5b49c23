"""Payment verification: a plan on a paid payroll, its random sample drawn in the database, verifiers
assigned, and what each sampled recipient said; a discrepancy is announced after the commit.

The sample is one INSERT ... SELECT: the payroll's paid lines ranked in each stratum by md5(seed || id)
(random, and the same for the same seed), each stratum keeping its proportional share (rounded up), the
kept lines split among the verifiers in contiguous blocks ordered by location, so that each verifier's
lines lie together. No line passes through Python.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from access.records import records_in_scope
from access.roles import VERIFIES_PAYMENTS_ROLES, user_in_roles
from access.scope import path_scope_q
from payments.models import (
    Benefit,
    BenefitStatus,
    Payroll,
    PayrollStatus,
    VerificationMethod,
    VerificationPlan,
    VerificationPlanStatus,
    VerificationRecord,
    VerificationRecordStatus,
)
from payments.sampling import sample_size
from payments.services.checks import require_payroll, require_permission
from payments.signals import verification_discrepancy
from registry.models import PATH_STEP, Location

logger = logging.getLogger(__name__)
User = AbstractBaseUser | AnonymousUser

# A payroll has been paid once the provider may have reported: sent, reconciling or reconciled.
VERIFIABLE_PAYROLL_STATES = (PayrollStatus.SENT, PayrollStatus.RECONCILING, PayrollStatus.RECONCILED)


@dataclass(frozen=True)
class SamplingSettings:
    confidence_level: Decimal = Decimal("0.950")
    margin_of_error: Decimal | None = Decimal("0.050")
    expected_proportion: Decimal = Decimal("0.500")
    finite_population_correction: bool = True
    fixed_size: int | None = None
    strata_depth: int | None = None


def _settings_errors(settings: SamplingSettings) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    if not Decimal("0.5") < settings.confidence_level < 1:
        errors["confidence_level"] = _("The confidence level lies between 0.5 and 1, e.g. 0.95.")
    if settings.fixed_size is None and settings.margin_of_error is None:
        errors["margin_of_error"] = _("Give a margin of error, or a fixed sample size.")
    if settings.margin_of_error is not None and not 0 < settings.margin_of_error < Decimal("0.5"):
        errors["margin_of_error"] = _("The margin of error lies between 0 and 0.5, e.g. 0.05.")
    if not 0 < settings.expected_proportion < 1:
        errors["expected_proportion"] = _("The expected proportion lies between 0 and 1, e.g. 0.5.")
    if settings.fixed_size is not None and settings.fixed_size < 1:
        errors["fixed_size"] = _("A fixed sample size is at least 1.")
    if settings.strata_depth is not None and settings.strata_depth < 0:
        errors["strata_depth"] = _("A location level's depth is 0 or more.")
    return errors


def _paid_lines(payroll: Payroll) -> Any:
    return Benefit.objects.filter(payroll=payroll, status=BenefitStatus.PAID)


def verifier_refusal(*, verifier: Any, payroll: Payroll) -> str | None:
    """Why this user may not verify the payroll (None: they may): a verifier or payment officer, active,
    whose locations hold every paid line of the payroll (one semi-join over the lines' locations)."""
    if not user_in_roles(verifier, VERIFIES_PAYMENTS_ROLES):
        return _("%(user)s is neither a verifier nor a payment officer.") % {"user": verifier}
    used = _paid_lines(payroll).values("location_id")
    outside = Location.objects.filter(pk__in=used).exclude(path_scope_q(verifier, path_field="path"))
    if outside.exists():
        return _("%(user)s does not cover every location paid by %(payroll)s.") % {
            "user": verifier,
            "payroll": payroll,
        }
    return None


def _payroll_verifiable(payroll: Payroll) -> None:
    if payroll.status not in VERIFIABLE_PAYROLL_STATES:
        raise ValidationError(
            _("%(payroll)s is %(status)s: only a payroll sent to its provider and paid is verified.")
            % {"payroll": payroll, "status": payroll.get_status_display().lower()}
        )
    if not _paid_lines(payroll).exists():
        raise ValidationError(_("%(payroll)s has no paid line to verify yet.") % {"payroll": payroll})


@transaction.atomic
def verification_plan_create(
    *,
    user: User,
    payroll: Payroll,
    settings: SamplingSettings,
    verifiers: list[Any],
    name: str = "",
) -> VerificationPlan:
    """A draft verification plan of a paid payroll, with its sampling settings and verifiers."""
    require_permission(user, "payments.add_verificationplan", _("plan payment verifications"))
    payroll = Payroll.objects.select_related("payment_plan__benefit_plan").get(pk=payroll.pk)
    require_payroll(user, payroll, _("verify"))
    _payroll_verifiable(payroll)
    errors = _settings_errors(settings)  # every refusal of the form at once, each naming its field
    if not verifiers:
        errors["verifiers"] = _("Choose at least one verifier.")
    refusals = [refusal for v in verifiers if (refusal := verifier_refusal(verifier=v, payroll=payroll))]
    if refusals:
        errors["verifiers"] = refusals
    if errors:
        raise ValidationError(errors)
    plan = VerificationPlan(
        payroll=payroll,
        name=name,
        confidence_level=settings.confidence_level,
        margin_of_error=settings.margin_of_error,
        expected_proportion=settings.expected_proportion,
        finite_population_correction=settings.finite_population_correction,
        fixed_size=settings.fixed_size,
        strata_depth=settings.strata_depth,
        created_by=user,
    )
    plan.full_clean(exclude=["created_by", "payroll"])
    plan.save()
    plan.verifiers.set(verifiers)
    return plan


def verification_planned_size(plan: VerificationPlan, population: int) -> int:
    return sample_size(
        population=population,
        confidence_level=plan.confidence_level,
        margin_of_error=plan.margin_of_error,
        proportion=plan.expected_proportion,
        finite_population_correction=plan.finite_population_correction,
        fixed_size=plan.fixed_size,
    )


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def verification_sample_draw(*, plan: VerificationPlan, size: int, verifier_ids: list[int]) -> int:
    """Insert the plan's sample of `size` lines (split proportionally among strata, rounded up in each)
    with their verifiers, in one statement; returns the lines drawn. The caller holds the transaction."""
    record = VerificationRecord._meta
    benefit_table = _quote(Benefit._meta.db_table)
    location_table = _quote(Location._meta.db_table)
    if plan.strata_depth is None:
        stratum = "CAST(NULL AS INTEGER)"
    else:
        start = plan.strata_depth * (PATH_STEP + 1) + 1
        stratum = (
            f"CASE WHEN l.depth >= {int(plan.strata_depth)} "
            f"THEN CAST(SUBSTR(l.path, {start}, {PATH_STEP}) AS INTEGER) ELSE l.id END"
        )
    if verifier_ids:
        whens = " ".join(f"WHEN {index} THEN {int(pk)}" for index, pk in enumerate(verifier_ids))
        verifier = f"CASE ((k - 1) * {len(verifier_ids)}) / total {whens} END"
    else:
        verifier = "CAST(NULL AS INTEGER)"
    columns = ["plan_id", "benefit_id", "location_id", "stratum_id", "verifier_id", "amount_paid", "status"]
    columns += ["method", "comment", "discrepancy"]
    statement = f"""
        INSERT INTO {_quote(record.db_table)} ({", ".join(map(_quote, columns))})
        WITH ranked AS (
            SELECT b.id AS benefit_id, b.location_id, l.path AS location_path, {stratum} AS stratum,
                   COALESCE(b.amount_paid, b.amount, 0) AS paid,
                   ROW_NUMBER() OVER (
                       PARTITION BY {stratum} ORDER BY MD5(CAST(%s AS TEXT) || CAST(b.id AS TEXT)), b.id
                   ) AS rn,
                   COUNT(*) OVER (PARTITION BY {stratum}) AS stratum_lines,
                   COUNT(*) OVER () AS lines
            FROM {benefit_table} b JOIN {location_table} l ON l.id = b.location_id
            WHERE b.payroll_id = %s AND b.status = %s
        ), chosen AS (
            SELECT benefit_id, location_id, stratum, paid,
                   ROW_NUMBER() OVER (ORDER BY location_path, stratum, rn) AS k,
                   COUNT(*) OVER () AS total
            FROM ranked
            WHERE rn <= (%s * stratum_lines + lines - 1) / lines
        )
        SELECT %s, benefit_id, location_id, stratum, {verifier}, paid, %s, '', '', %s FROM chosen
    """
    params = [plan.seed, plan.payroll_id, BenefitStatus.PAID, size, plan.pk]
    params += [VerificationRecordStatus.PENDING, False]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def _plan_locked(plan: VerificationPlan) -> VerificationPlan:
    return (
        VerificationPlan.objects.select_for_update()
        .select_related("payroll__payment_plan__benefit_plan")
        .get(pk=plan.pk)
    )


def _state_error(plan: VerificationPlan, doing: str) -> ValidationError:
    return ValidationError(
        _("%(plan)s is %(status)s: it cannot be %(doing)s.")
        % {"plan": plan, "status": plan.get_status_display().lower(), "doing": doing}
    )


@transaction.atomic
def verification_plan_activate(*, user: User, plan: VerificationPlan) -> VerificationPlan:
    """Draft → active: the sample drawn and split among the verifiers, who then see their lines."""
    require_permission(user, "payments.change_verificationplan", _("start payment verifications"))
    plan = _plan_locked(plan)
    require_payroll(user, plan.payroll, _("verify"))
    if plan.status != VerificationPlanStatus.DRAFT:
        raise _state_error(plan, _("started"))
    _payroll_verifiable(plan.payroll)
    verifiers = list(plan.verifiers.order_by("username"))
    if not verifiers:
        raise ValidationError(_("Assign at least one verifier before starting."))
    refusals = [refusal for v in verifiers if (refusal := verifier_refusal(verifier=v, payroll=plan.payroll))]
    if refusals:
        raise ValidationError(refusals)
    population = _paid_lines(plan.payroll).count()
    drawn = verification_sample_draw(
        plan=plan,
        size=verification_planned_size(plan, population),
        verifier_ids=[verifier.pk for verifier in verifiers],
    )
    plan.population_size = population
    plan.sample_size = drawn
    plan.activated_at = timezone.now()
    plan.activate()
    plan.save()
    return plan


@transaction.atomic
def verification_plan_finish(*, user: User, plan: VerificationPlan) -> VerificationPlan:
    """Active → finished: no more records; lines not reached stay unverified and out of the figures."""
    require_permission(user, "payments.change_verificationplan", _("finish payment verifications"))
    plan = _plan_locked(plan)
    require_payroll(user, plan.payroll, _("verify"))
    if plan.status != VerificationPlanStatus.ACTIVE:
        raise _state_error(plan, _("finished"))
    plan.finished_at = timezone.now()
    plan.finish()
    plan.save()
    return plan


@dataclass(frozen=True)
class VerificationAnswer:
    received: bool | None
    amount_received: Decimal | str | None
    received_on: date | None
    method: str
    comment: str = ""


def _answer_check(answer: VerificationAnswer, paid: Decimal) -> tuple[Decimal | None, dict[str, str]]:
    errors: dict[str, str] = {}
    if answer.received is None:
        errors["received"] = _("Say whether the money was received.")
    if answer.method not in VerificationMethod.values:
        errors["method"] = _("Say how it was checked: %(choices)s.") % {
            "choices": ", ".join(str(label) for label in VerificationMethod.labels)
        }
    amount: Decimal | None = None
    if answer.amount_received not in (None, ""):
        try:
            amount = Decimal(str(answer.amount_received)).quantize(Decimal("0.01"))
        except InvalidOperation:
            errors["amount_received"] = _("The amount received is a number, e.g. 150.00.")
        else:
            if amount < 0:
                errors["amount_received"] = _("The amount received cannot be negative.")
    if answer.received and amount is None and "amount_received" not in errors:
        errors["amount_received"] = _("Give the amount received (the amount paid was %(paid)s).") % {
            "paid": paid
        }
    if answer.received is False:
        if amount not in (None, Decimal("0.00")):
            errors["amount_received"] = _("Nothing was received: leave the amount empty or 0.")
        amount = Decimal("0.00")
    if answer.received and answer.received_on is not None and answer.received_on > timezone.localdate():
        errors["received_on"] = _("The date received cannot be in the future.")
    return amount, errors


def verification_record_refusal(*, user: User, record: VerificationRecord) -> str | None:
    """Why the user may not record this sampled line (None: they may): its verifier, inside their
    locations, or a payment officer acting on the payroll; and the plan is active."""
    if not (user.is_authenticated and user.is_active and user.has_perm("payments.change_verificationrecord")):
        return _("You may not record payment verifications.")
    plan = record.plan
    if plan.status != VerificationPlanStatus.ACTIVE:
        return _("%(plan)s is %(status)s: its records cannot change.") % {
            "plan": plan,
            "status": plan.get_status_display().lower(),
        }
    if record.verifier_id == user.pk:
        mine = records_in_scope(VerificationRecord.objects.filter(pk=record.pk), user=user)
        if mine.exists():
            return None
        return _("This line lies outside your locations.")
    try:
        require_payroll(user, plan.payroll, _("verify"))
    except ValidationError:
        return _("This line is not in your sample.")
    if not user.has_perm("payments.change_verificationplan"):
        return _("This line is not in your sample.")
    return None


@transaction.atomic
def verification_record_save(
    *,
    user: User,
    plan: VerificationPlan,
    benefit: Benefit | int,
    answer: VerificationAnswer,
) -> VerificationRecord:
    """Record what the recipient of a sampled line said. A line not in the plan's sample is refused.
    Not received, or less than paid, is a discrepancy: announced once, after the commit."""
    benefit_id = benefit if isinstance(benefit, int) else benefit.pk
    record = (
        VerificationRecord.objects.select_for_update(of=("self",))
        .select_related("plan__payroll__payment_plan__benefit_plan", "benefit")
        .filter(plan=plan, benefit_id=benefit_id)
        .first()
    )
    if record is None:
        raise ValidationError(
            _("Line %(line)s is not in the sample of %(plan)s.") % {"line": benefit, "plan": plan}
        )
    refusal = verification_record_refusal(user=user, record=record)
    if refusal:
        raise ValidationError(refusal)
    amount, errors = _answer_check(answer, record.amount_paid)
    if errors:
        raise ValidationError(errors)
    was_discrepant = record.discrepancy
    record.received = answer.received
    record.amount_received = amount
    record.received_on = answer.received_on if answer.received else None
    record.method = answer.method
    record.comment = answer.comment
    record.discrepancy = (not answer.received) or (amount is not None and amount < record.amount_paid)
    record.status = VerificationRecordStatus.RECORDED
    record.recorded_by = user  # type: ignore[assignment]
    record.recorded_at = timezone.now()
    record.save()
    if record.discrepancy and not was_discrepant:
        transaction.on_commit(lambda: _discrepancy_announce(record))
    return record


def _discrepancy_announce(record: VerificationRecord) -> None:
    """Every receiver runs; one that fails is logged, never silently lost, and does not stop the others."""
    for receiver, outcome in verification_discrepancy.send_robust(
        sender=VerificationRecord, record=record, line=record.benefit
    ):
        if isinstance(outcome, Exception):
            logger.error(
                "verification_discrepancy receiver %r failed for record %s",
                receiver,
                record.pk,
                exc_info=outcome,
            )
