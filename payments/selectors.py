"""Reads scoped to the user: payment plans of the plans they see, payrolls and lines in their locations."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from access.plans import plan_list, user_can_request_payments
from access.scope import location_scope_q, paths_q, user_location_paths, user_sees_everywhere
from payments.models import (
    Benefit,
    BenefitEvent,
    BenefitStatus,
    PaymentPlan,
    PaymentPoint,
    Payroll,
    ReconciliationBatch,
)
from registry.models import PATH_STEP, Location

User = AbstractBaseUser | AnonymousUser


def payment_plan_list(*, user: User) -> QuerySet[PaymentPlan]:
    return PaymentPlan.objects.filter(benefit_plan__in=plan_list(user=user).values("pk")).select_related(
        "benefit_plan"
    )


def payroll_list(*, user: User) -> QuerySet[Payroll]:
    """Payrolls of the plans the user sees that pay somewhere in the user's area: generated for a location
    inside it or around it (a region's payroll for a district officer), or plan-wide (no locations)."""
    payrolls = Payroll.objects.filter(payment_plan__benefit_plan__in=plan_list(user=user).values("pk"))
    if user_sees_everywhere(user):
        return payrolls
    paths = user_location_paths(user)
    if not paths:
        return payrolls.none()
    around = {path[:end] for path in paths for end in range(PATH_STEP + 1, len(path), PATH_STEP + 1)}
    overlapping = Q(location__path__in=around) | paths_q(paths, field="location__path")
    scope = Payroll.locations.through.objects.filter(payroll=OuterRef("pk"))
    return payrolls.filter(~Exists(scope) | Exists(scope.filter(overlapping)))


def payroll_decidable_list(*, user: User) -> QuerySet[Payroll]:
    """Payrolls whose approval the user may see and decide: of their plans, and paying only inside their
    locations. A payroll pays in the locations it was generated for, else in its payment point's, else
    everywhere (only users who see everywhere cover that)."""
    payrolls = payroll_list(user=user)
    if user_sees_everywhere(user):
        return payrolls
    paths = user_location_paths(user)
    if not paths:
        return payrolls.none()
    inside = paths_q(paths, field="location__path")
    scope = Payroll.locations.through.objects.filter(payroll=OuterRef("pk"))
    served = PaymentPoint.locations.through.objects.filter(paymentpoint=OuterRef("payment_point_id"))
    return payrolls.filter(
        (Exists(scope) & ~Exists(scope.exclude(inside)))
        | (~Exists(scope) & Exists(served) & ~Exists(served.exclude(inside)))
    )


def payroll_lines_all_visible(*, user: User, payroll: Payroll) -> bool:
    """Whether the user may see every line of the payroll: it is one of their payrolls (plan and area) and
    no line lies outside their locations. One semi-join over the payroll's lines' locations."""
    if not payroll_list(user=user).filter(pk=payroll.pk).exists():
        return False
    return _lines_inside(user, payroll)


def _lines_inside(user: User, payroll: Payroll) -> bool:
    if user_sees_everywhere(user):
        return True
    paths = user_location_paths(user)
    if not paths:
        return False
    inside = paths_q(paths)
    used = Benefit.objects.filter(payroll=payroll).values("location_id")
    return not Location.objects.filter(pk__in=used).exclude(inside).exists()


def payroll_export_refusal(*, user: User, payroll: Payroll) -> str | None:
    """Why the user may not export the payroll's lines (None: they may): they must see every line."""
    if not (user.is_authenticated and user.is_active and user.has_perm("payments.view_benefit")):
        return str(_("You may not see payment lines."))
    if not payroll_list(user=user).filter(pk=payroll.pk).exists():
        return str(_("This payroll is not one of your plans and locations: you may not export it."))
    if not _lines_inside(user, payroll):
        return str(
            _(
                "%(payroll)s pays lines outside your locations or plans: only a user who may see every "
                "line of a payroll exports it."
            )
            % {"payroll": payroll}
        )
    return None


def payroll_results_refusal(*, user: User, payroll: Payroll) -> str | None:
    """Why the user may not record payment results on the payroll (None: they may): a change permission on
    payment lines, the plan's payment permission, and every line of the payroll inside their locations."""
    if not (user.is_authenticated and user.is_active and user.has_perm("payments.change_benefit")):
        return str(_("You may not record payment results."))
    if not payroll_list(user=user).filter(pk=payroll.pk).exists():
        return str(_("This payroll is not one of your plans and locations: you may not record its results."))
    plan = payroll.payment_plan.benefit_plan
    if not user_can_request_payments(user, plan):
        return str(_("You may not record payments of %(plan)s.") % {"plan": plan})
    if not _lines_inside(user, payroll):
        return str(
            _("%(payroll)s pays lines outside your locations: you may not record its results.")
            % {"payroll": payroll}
        )
    return None


def benefit_list(*, user: User, payroll: Payroll | None = None) -> QuerySet[Benefit]:
    qs = Benefit.objects.filter(payroll__in=payroll_list(user=user).values("pk")).filter(
        location_scope_q(user)
    )
    return qs.filter(payroll=payroll) if payroll is not None else qs


def benefit_story(benefit: Benefit) -> list[BenefitEvent]:
    """The line's events, oldest first, with who and which task (one query)."""
    return list(
        BenefitEvent.objects.filter(benefit=benefit)
        .select_related("user", "task", "payment_point")
        .order_by("at", "pk")
    )


def payroll_figures(*, payroll: Payroll) -> dict[str, Any]:
    """Issued / paid / failed / pending / held counts and amounts of a payroll, in one aggregate query."""
    aggregates: dict[str, Any] = {}
    for status in BenefitStatus:
        aggregates[f"{status.value}_count"] = Count("pk", filter=Q(status=status.value))
        aggregates[f"{status.value}_amount"] = Sum("amount", filter=Q(status=status.value))
    aggregates["paid_amount_reported"] = Sum("amount_paid", filter=Q(status=BenefitStatus.PAID))
    row = Benefit.objects.filter(payroll=payroll).aggregate(**aggregates)
    figures: dict[str, Any] = {"status": payroll.status, "status_label": payroll.get_status_display()}
    for status in BenefitStatus:
        figures[status.value] = {
            "count": row[f"{status.value}_count"],
            "amount": str(row[f"{status.value}_amount"] or Decimal("0.00")),
        }
    issued = [BenefitStatus.PENDING, BenefitStatus.PAID, BenefitStatus.FAILED]
    figures["issued"] = {
        "count": sum(row[f"{s.value}_count"] for s in issued),
        "amount": str(sum((row[f"{s.value}_amount"] or Decimal(0)) for s in issued)),
    }
    figures["paid_reported"] = str(row["paid_amount_reported"] or Decimal("0.00"))
    return figures


def reconciliation_batch_list(*, user: User) -> QuerySet[ReconciliationBatch]:
    """What providers sent, for those who may see it: every request for users who see everywhere; else the
    requests of payment points serving only inside the user's locations, and the files they uploaded."""
    if not (user.is_authenticated and user.is_active):
        return ReconciliationBatch.objects.none()
    if user_sees_everywhere(user):
        return ReconciliationBatch.objects.all()
    inside = paths_q(user_location_paths(user), field="location__path")
    served = PaymentPoint.locations.through.objects.filter(paymentpoint=OuterRef("payment_point_id"))
    return ReconciliationBatch.objects.filter(
        (Exists(served) & ~Exists(served.exclude(inside))) | Q(created_by=user)
    )
