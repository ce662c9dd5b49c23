"""Reads of payment verification scoped through access: the plans and sampled lines a user may see, and
what a plan's sample says (received rate with its Wilson interval, amount missing and its estimate)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Case, Count, DecimalField, F, Q, QuerySet, Sum, Value, When

from access.records import records_in_scope
from payments.models import VerificationPlan, VerificationRecord, VerificationRecordStatus
from payments.sampling import total_estimate, wilson_interval, z_score
from payments.selectors import payroll_list

User = AbstractBaseUser | AnonymousUser


def verification_plan_list(*, user: User) -> QuerySet[VerificationPlan]:
    """Plans of the user's payrolls, and the plans the user verifies."""
    return VerificationPlan.objects.filter(
        Q(payroll__in=payroll_list(user=user).values("pk")) | Q(pk__in=_verified_plans(user))
    )


def _verified_plans(user: User) -> Any:
    if not user.is_authenticated:
        return VerificationPlan.objects.none().values("pk")
    return VerificationPlan.verifiers.through.objects.filter(user_id=user.pk).values("verificationplan_id")


def verification_record_list(*, user: User) -> QuerySet[VerificationRecord]:
    """Sampled lines in the user's locations: those assigned to them, and those of their payrolls."""
    if not user.is_authenticated:
        return VerificationRecord.objects.none()
    mine = Q(verifier_id=user.pk) | Q(plan__payroll__in=payroll_list(user=user).values("pk"))
    return records_in_scope(VerificationRecord.objects.filter(mine), user=user)


def _missing() -> Any:
    """What a recorded line lacks: paid − received when less was received, else 0."""
    return Case(
        When(amount_received__lt=F("amount_paid"), then=F("amount_paid") - F("amount_received")),
        default=Value(Decimal("0")),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )


def verification_summary(*, plan: VerificationPlan) -> dict[str, Any]:
    """The sample's figures in one aggregate query: lines drawn and recorded, received rate with its
    Wilson interval, amount missing on the recorded lines and its estimate over the payroll's paid lines.

    The estimate treats the recorded lines as a simple random sample of the paid lines (proportional
    allocation keeps a stratified sample close to self-weighting)."""
    recorded = Q(status=VerificationRecordStatus.RECORDED)
    row = VerificationRecord.objects.filter(plan=plan).aggregate(
        drawn=Count("pk"),
        recorded=Count("pk", filter=recorded),
        received=Count("pk", filter=recorded & Q(received=True)),
        discrepancies=Count("pk", filter=recorded & Q(discrepancy=True)),
        paid=Sum("amount_paid", filter=recorded),
        missing=Sum(_missing(), filter=recorded),
        missing_squares=Sum(_missing() * _missing(), filter=recorded),
    )
    z = z_score(plan.confidence_level)
    rate = wilson_interval(row["received"], row["recorded"], z=z)
    estimate = total_estimate(
        total=float(row["missing"] or 0),
        total_of_squares=float(row["missing_squares"] or 0),
        n=row["recorded"],
        population=plan.population_size or 0,
        z=z,
    )
    return {
        "plan": plan,
        "confidence_percent": float(plan.confidence_level) * 100,
        "population": plan.population_size,
        "drawn": row["drawn"],
        "recorded": row["recorded"],
        "received": row["received"],
        "discrepancies": row["discrepancies"],
        "received_rate": rate,
        "paid_sampled": row["paid"] or Decimal("0.00"),
        "missing_sampled": (row["missing"] or Decimal("0")).quantize(Decimal("0.01")),
        "missing_estimate": estimate,
    }


def payroll_verification_summaries(*, payroll: Any) -> list[dict[str, Any]]:
    """The summary of each started verification of a payroll, latest first."""
    plans = VerificationPlan.objects.filter(payroll=payroll, sample_size__isnull=False).order_by("-pk")
    return [verification_summary(plan=plan) for plan in plans[:5]]
