"""Resolutions that change data: the maker-checker request made from a ticket, and the ticket's end.

A ticket in progress whose fix changes a record (correct a person's phone number, reinstate a suspended
beneficiary, re-issue a failed payment line into the next payroll) asks for it through the owning app's
request service (`registry.update`, `programs.beneficiary_status`, `payments.benefit_reissue`: each checks
its own rules and queues an `approvals.Task`); the ticket links
the task and resolves when the task is executed (`approvals.signals.task_ended`). A rejected, cancelled or
failed task is recorded on the ticket, which stays in progress for another resolution.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from access.roles import User
from approvals.models import Task, TaskState
from grievances.models import EventKind, Ticket, TicketStatus
from grievances.services import _event, _handler, _locked, _require, _resolve

REGISTRY_EDIT = "registry.update"
BENEFICIARY_STATUS = "programs.beneficiary_status"
PAYMENT_REISSUE = "payments.benefit_reissue"
RESOLUTION_ACTIONS = (REGISTRY_EDIT, BENEFICIARY_STATUS, PAYMENT_REISSUE)
# The ticket page's choice of change, each named for the officer.
RESOLUTION_CHOICES = (
    (REGISTRY_EDIT, gettext_lazy("Correct the person's or household's record")),
    (BENEFICIARY_STATUS, gettext_lazy("Change the beneficiary's status")),
    (PAYMENT_REISSUE, gettext_lazy("Re-issue the failed payment line into the next payroll")),
)


def _registry_edit(
    *, ticket: Ticket, user: User, reason: str, fields: dict[str, Any] | None, **_: Any
) -> Any:
    from registry.approval_actions import registry_update_request

    target = ticket.individual or ticket.household or ticket.complainant_individual
    if target is None:
        raise ValidationError(
            {"action": _("The ticket concerns no person or household whose record could be corrected.")}
        )
    if not fields:
        raise ValidationError({"fields": _("Give the corrected values.")})
    return registry_update_request(target=target, maker=user, fields=fields, reason=reason)


def _beneficiary_status(*, ticket: Ticket, user: User, reason: str, transition: str | None, **_: Any) -> Any:
    from programs.services import beneficiary_status_request

    beneficiary = ticket.beneficiary or (ticket.benefit.beneficiary if ticket.benefit_id else None)
    if beneficiary is None:
        raise ValidationError({"action": _("The ticket concerns no beneficiary.")})
    if not transition:
        raise ValidationError({"transition": _("Choose the status change.")})
    return beneficiary_status_request(
        user=user,
        plan=beneficiary.benefit_plan,
        transition=transition,
        reason=reason,
        beneficiary=beneficiary,
    )


def _payment_reissue(*, ticket: Ticket, user: User, reason: str, **_: Any) -> Any:
    from payments.services import benefit_reissue_request

    if ticket.benefit_id is None:
        raise ValidationError({"action": _("The ticket concerns no payment line.")})
    return benefit_reissue_request(user=user, benefit=ticket.benefit, reason=reason)


REQUESTS = {
    REGISTRY_EDIT: _registry_edit,
    BENEFICIARY_STATUS: _beneficiary_status,
    PAYMENT_REISSUE: _payment_reissue,
}


@transaction.atomic
def ticket_resolution_request(
    *,
    ticket: Ticket,
    user: User,
    comment: str,
    action: str,
    fields: dict[str, Any] | None = None,
    transition: str | None = None,
) -> Task:
    """Ask for the change that resolves the ticket; the ticket resolves when the task is executed (at
    once, when the action's policy needs no approval)."""
    _require(user, "grievances.change_ticket")
    ticket = _locked(ticket=ticket, user=user)
    if ticket.status != TicketStatus.IN_PROGRESS:
        raise ValidationError({"status": _("Start work on the ticket before asking for a change.")})
    _handler(user, ticket)
    if ticket.resolution_task_id is not None:
        raise ValidationError({"action": _("This ticket already waits for an approval request.")})
    if action not in REQUESTS:
        raise ValidationError({"action": _("Unknown change: %(value)s.") % {"value": action}})
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": _("Say what the change resolves.")})
    reason = _("Grievance %(number)s: %(comment)s") % {"number": ticket.number, "comment": comment}
    task = REQUESTS[action](ticket=ticket, user=user, reason=reason, fields=fields, transition=transition)
    if task is None:
        raise ValidationError({"fields": _("Nothing would change: the record already reads so.")})
    ticket.resolution_task = task
    ticket.resolution = comment
    ticket.save(update_fields=["resolution_task", "resolution"])
    _event(
        ticket,
        kind=EventKind.APPROVAL_REQUESTED,
        user=user,
        comment=comment,
        data={"task": task.pk, "action": action},
        notify=False,
    )
    return task


def resolution_task_ended(*, task: Task, outcome: str) -> None:
    """The receiver of `approvals.signals.task_ended`: resolve the ticket the executed task came from, or
    record why it did not, so another change can be asked for."""
    if not Ticket.objects.filter(resolution_task_id=task.pk).exists():
        return
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(resolution_task_id=task.pk).first()
        if ticket is None:
            return
        data = {"task": task.pk, "outcome": str(outcome)}
        if outcome == TaskState.EXECUTED and ticket.status == TicketStatus.IN_PROGRESS:
            comment = _("Approval request #%(task)s executed.") % {"task": task.pk}
            _resolve(ticket, user=None, resolution=ticket.resolution, comment=comment, data=data)
            return
        if outcome != TaskState.EXECUTED:
            ticket.resolution_task = None
            ticket.save(update_fields=["resolution_task"])
        comment = _("Approval request #%(task)s ended: %(outcome)s.") % {
            "task": task.pk,
            "outcome": TaskState(outcome).label,
        }
        _event(ticket, kind=EventKind.APPROVAL_ENDED, user=None, comment=comment, data=data, notify=False)


__all__ = ["RESOLUTION_ACTIONS", "RESOLUTION_CHOICES", "resolution_task_ended", "ticket_resolution_request"]
