"""The payments' approvable actions: approve a payroll (extra levels above an amount), release held lines,
re-issue a failed line into the next payroll."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from approvals.actions import Description, action_register
from approvals.models import Task
from payments.models import Benefit, BenefitStatus, Payroll
from payments.selectors import benefit_list, payroll_decidable_list
from payments.services import (
    APPROVE_ACTION,
    REISSUE_ACTION,
    RELEASE_ACTION,
    benefit_reissue_execute,
    benefit_release_execute,
    payroll_approve_execute,
)


def _amount(*, target: Payroll, payload: dict[str, Any]) -> Decimal | None:
    return Decimal(payload["total"]) if payload.get("total") else None


def _sample(payroll: Payroll, status: str) -> list[str]:
    lines = Benefit.objects.filter(payroll=payroll, status=status).order_by("pk")[:10]
    return [f"{line.reference}: {line.amount}" for line in lines.only("reference", "amount")]


def approve_describe(*, target: Payroll, payload: dict[str, Any]) -> Description:
    count = Benefit.objects.filter(payroll=target, status=BenefitStatus.PENDING).count()
    held = Benefit.objects.filter(payroll=target, status=BenefitStatus.HELD).count()
    currency = target.payment_plan.currency
    summary = f"Pay {count:,} lines, {payload.get('total')} {currency}, for cycle {target.cycle}."
    if held:
        summary += f" {held:,} lines are held and not part of it."
    summary += f" Generated for {target.scope_label()}."
    return Description(
        count=count,
        total=Decimal(payload["total"]),
        sample=_sample(target, BenefitStatus.PENDING),
        summary=summary,
    )


def release_describe(*, target: Payroll, payload: dict[str, Any]) -> Description:
    return Description(
        count=payload.get("count"),
        total=Decimal(payload["total"]),
        sample=_sample(target, BenefitStatus.HELD),
        summary=f"Pay {payload.get('count')} held lines of {target} "
        "(above the per-transaction limit or the plan's ceiling).",
    )


def approve_execute(*, target: Payroll, payload: dict[str, Any], task: Task, **kwargs: Any) -> dict[str, Any]:
    return payroll_approve_execute(payroll=target, payload=payload, task=task)


def release_execute(*, target: Payroll, payload: dict[str, Any], task: Task, **kwargs: Any) -> dict[str, Any]:
    return benefit_release_execute(payroll=target, payload=payload, task=task)


def reissue_describe(*, target: Benefit, payload: dict[str, Any]) -> Description:
    return Description(
        count=1,
        total=Decimal(payload["amount"]),
        sample=[f"{target.reference}: {target.amount}"],
        summary=f"Pay failed line {target.reference} ({payload.get('amount')}) again "
        f"in the next payroll of {target.payroll.payment_plan}.",
    )


def reissue_execute(*, target: Benefit, payload: dict[str, Any], task: Task, **kwargs: Any) -> dict[str, Any]:
    return benefit_reissue_execute(benefit=target, payload=payload, task=task)


def register() -> None:
    action_register(
        APPROVE_ACTION,
        label="Approve a payroll",
        executor=approve_execute,
        describer=approve_describe,
        visible=lambda user: payroll_decidable_list(user=user),
        amount=_amount,
    )
    action_register(
        RELEASE_ACTION,
        label="Pay held payroll lines",
        executor=release_execute,
        describer=release_describe,
        visible=lambda user: payroll_decidable_list(user=user),
        amount=_amount,
    )
    action_register(
        REISSUE_ACTION,
        label="Re-issue a failed payment line",
        executor=reissue_execute,
        describer=reissue_describe,
        visible=lambda user: benefit_list(user=user),
        amount=lambda *, target, payload: Decimal(payload["amount"]) if payload.get("amount") else None,
    )
