"""Payroll steps after generation: submit for approval (maker-checker), approve, reject when the approval ends
without running, send, cancel, close, release held lines, and carry failed lines over into a new payroll."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, Sum
from django.utils.translation import gettext as _

from approvals.models import Task, TaskState
from approvals.services import approval_request
from payments.models import (
    INACTIVE_LINE_STATES,
    Benefit,
    BenefitEvent,
    BenefitEventKind,
    BenefitStatus,
    PaymentCycle,
    Payroll,
    PayrollStatus,
)
from payments.services.checks import (
    User,
    money,
    payroll_locked,
    require_payroll,
    require_permission,
    state_error,
)
from payments.services.events import benefit_events_record
from payments.services.generation import LINE_COLUMNS

APPROVE_ACTION = "payments.payroll_approve"
RELEASE_ACTION = "payments.benefit_release"


def payroll_total(payroll: Payroll) -> Decimal:
    total = Benefit.objects.filter(payroll=payroll, status=BenefitStatus.PENDING).aggregate(t=Sum("amount"))[
        "t"
    ]
    return money(total or 0)


@transaction.atomic
def payroll_submit(*, user: User, payroll: Payroll, reason: str = "") -> Task:
    """Draft → awaiting approval: queue the approval task with the payroll's total as its amount."""
    require_permission(user, "payments.change_payroll", "submit payrolls")
    payroll = payroll_locked(payroll)
    require_payroll(user, payroll, "submit")
    if payroll.status != PayrollStatus.DRAFT:
        raise state_error(payroll, "submitted for approval")
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


def _lines_cancel(payroll: Payroll, *, note: str, user: Any, task: Task | None = None) -> None:
    """The payroll's live lines cancelled (events first): they no longer hold the cycle's one payment."""
    lines = Benefit.objects.filter(payroll=payroll).exclude(status__in=INACTIVE_LINE_STATES)
    benefit_events_record(
        lines=lines,
        kind=BenefitEventKind.CANCELLED,
        to_status=BenefitStatus.CANCELLED,
        note=note,
        user=user,
        task=task,
    )
    lines.update(status=BenefitStatus.CANCELLED)


def _approver(task: Task | None) -> Any:
    """Who made the task's last decision: the approval that runs it, or the rejection or cancel ending it."""
    if task is None:
        return None
    decision = task.approvals.order_by("-pk").select_related("user").first()
    return decision.user if decision is not None else None


def payroll_approve_execute(
    *, payroll: Payroll, payload: dict[str, Any], task: Task | None = None
) -> dict[str, Any]:
    """The approved task's executor: awaiting approval → approved, if the total is still the one approved."""
    payroll = payroll_locked(payroll)
    if payroll.status != PayrollStatus.AWAITING_APPROVAL:
        raise state_error(payroll, "approved")
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


# The ends of an approval task that leave its payroll unapproved: approvals.signals.ENDED_STATES but executed.
APPROVAL_UNDONE = (TaskState.REJECTED, TaskState.CANCELLED, TaskState.FAILED)


@transaction.atomic
def payroll_approval_undone(*, task: Task, outcome: str) -> Payroll | None:
    """The payroll's approval task ended without approving it (rejected, cancelled, failed): awaiting
    approval → rejected, with the reason, and its lines cancelled, so that a new payroll may pay the same
    beneficiaries in the cycle. Called by the receiver of `approvals.signals.task_ended`, never on a page
    view.

    Idempotent: the payroll row is locked, and a payroll no longer awaiting approval, or awaiting a later
    task, is left as it is. Returns the payroll, or None when the task approves no payroll or it is gone.
    """
    if task.action != APPROVE_ACTION or outcome not in APPROVAL_UNDONE:
        return None
    payroll_type = ContentType.objects.get_for_model(Payroll)
    if task.content_type_id != payroll_type.pk or task.object_id is None:
        return None
    payroll = Payroll.objects.select_for_update().filter(pk=task.object_id).first()
    if payroll is None or payroll.status != PayrollStatus.AWAITING_APPROVAL:
        return payroll
    later = Task.objects.filter(
        action=APPROVE_ACTION, content_type=payroll_type, object_id=payroll.pk, pk__gt=task.pk
    )
    if later.exists():
        return payroll  # a later request decides it
    payroll.reject()
    payroll.error = _("Task #%(task)s was %(outcome)s.") % {
        "task": task.pk,
        "outcome": TaskState(outcome).label.lower(),
    }
    payroll.save()
    _lines_cancel(payroll, note=payroll.error, user=_approver(task), task=task)
    return payroll


@transaction.atomic
def payroll_send(*, user: User, payroll: Payroll) -> Payroll:
    """Approved → sent: the file went to the provider, which may now report results."""
    require_permission(user, "payments.change_payroll", "send payrolls")
    payroll = payroll_locked(payroll)
    require_payroll(user, payroll, "send")
    if payroll.status != PayrollStatus.APPROVED:
        raise state_error(payroll, "sent")
    payroll.send()
    payroll.save()
    return payroll


@transaction.atomic
def payroll_cancel(*, user: User, payroll: Payroll, reason: str) -> Payroll:
    """Draft / awaiting approval / failed → cancelled; its lines are cancelled and free the cycle."""
    require_permission(user, "payments.change_payroll", "cancel payrolls")
    payroll = payroll_locked(payroll)
    require_payroll(user, payroll, "cancel")
    if not reason.strip():
        raise ValidationError("Say why the payroll is cancelled.")
    if payroll.status not in (PayrollStatus.DRAFT, PayrollStatus.AWAITING_APPROVAL, PayrollStatus.FAILED):
        raise state_error(payroll, "cancelled")
    payroll.cancel()
    payroll.error = reason
    payroll.save()
    _lines_cancel(payroll, note=reason, user=user)
    return payroll


@transaction.atomic
def payroll_close(*, user: User, payroll: Payroll) -> Payroll:
    """Reconciling → reconciled once no line is pending any more."""
    require_permission(user, "payments.change_payroll", "close payrolls")
    payroll = payroll_locked(payroll)
    require_payroll(user, payroll, "close")
    if payroll.status not in (PayrollStatus.SENT, PayrollStatus.RECONCILING):
        raise state_error(payroll, "closed")
    pending = Benefit.objects.filter(payroll=payroll, status=BenefitStatus.PENDING).count()
    if pending:
        raise ValidationError(f"{pending:,} lines of {payroll} still wait for the provider's result.")
    payroll.close_reconciled()
    payroll.save()
    return payroll


@transaction.atomic
def benefit_release_request(*, user: User, payroll: Payroll, reason: str = "") -> Task:
    """Ask approval to pay the lines held above the per-transaction limit."""
    require_permission(user, "payments.change_payroll", "release held lines")
    require_payroll(user, payroll, "release the held lines of")
    held = Benefit.objects.filter(payroll=payroll, status=BenefitStatus.HELD, amount__gte=0)
    figures = held.aggregate(count=Count("pk"), total=Sum("amount"))
    if not figures["count"]:
        raise ValidationError(f"{payroll} has no held line with an amount to release.")
    if payroll.status not in (PayrollStatus.DRAFT, PayrollStatus.AWAITING_APPROVAL, PayrollStatus.APPROVED):
        raise state_error(payroll, "changed")
    return approval_request(
        action=RELEASE_ACTION,
        target=payroll,
        payload={"count": figures["count"], "total": str(money(figures["total"]))},
        maker=user,
        reason=reason,
    )


def benefit_release_execute(
    *, payroll: Payroll, payload: dict[str, Any], task: Task | None = None
) -> dict[str, Any]:
    payroll = payroll_locked(payroll)
    if payroll.status not in (PayrollStatus.DRAFT, PayrollStatus.AWAITING_APPROVAL, PayrollStatus.APPROVED):
        raise state_error(payroll, "changed")
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
    require_permission(user, "payments.add_payroll", "generate payrolls")
    payroll = payroll_locked(payroll)
    require_payroll(user, payroll, "carry over the lines of")
    if payroll.status not in (PayrollStatus.RECONCILING, PayrollStatus.RECONCILED):
        raise state_error(payroll, "carried over")
    # A line scheduled for re-issue (a grievance's approved resolution) goes into the plan's next payroll.
    failed = Benefit.objects.filter(payroll=payroll, status=BenefitStatus.FAILED, reissue__isnull=True)
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
            f"INSERT INTO {table} ({', '.join(map(quote, LINE_COLUMNS))}) "
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
