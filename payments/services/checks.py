"""The checks every payment service makes before it writes: permission, the plan's payment permission, the
payroll's lines inside the user's area, the payroll row locked and in the right state."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError

from access.plans import user_can_request_payments
from payments.models import Payroll
from payments.selectors import payroll_lines_all_visible
from programs.models import BenefitPlan

User = AbstractBaseUser | AnonymousUser


def require_permission(user: User, permission: str, what: str) -> None:
    if not (user.is_authenticated and user.is_active and user.has_perm(permission)):
        raise ValidationError(f"You may not {what}.")


def require_plan(user: User, plan: BenefitPlan) -> None:
    if not user_can_request_payments(user, plan):
        raise ValidationError(
            f"You may not request payments for {plan}: ask an administrator to assign you to it."
        )


def require_payroll(user: User, payroll: Payroll, what: str) -> None:
    """A step on a payroll needs the plan's payment permission and every line of it in the user's area."""
    require_plan(user, payroll.payment_plan.benefit_plan)
    if not payroll_lines_all_visible(user=user, payroll=payroll):
        raise ValidationError(f"{payroll} pays lines outside your locations: you may not {what} it.")


def payroll_locked(payroll: Payroll) -> Payroll:
    """The payroll read again with its row locked until the transaction ends."""
    return (
        Payroll.objects.select_for_update(of=("self",))
        .select_related("payment_plan__benefit_plan")
        .get(pk=payroll.pk)
    )


def state_error(payroll: Payroll, doing: str) -> ValidationError:
    return ValidationError(f"{payroll} is {payroll.get_status_display().lower()}: it cannot be {doing}.")


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))
