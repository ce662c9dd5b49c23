"""Re-issue a failed payment line into the next payroll of its plan: asked for (maker-checker,
`payments.benefit_reissue`), scheduled when the approval runs, issued by the next payroll's generation
(one INSERT ... SELECT over the plan's waiting re-issues, whatever their number)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, TextField, Value
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals.models import Task
from approvals.services import approval_request
from payments.models import (
    Benefit,
    BenefitEventKind,
    BenefitReissue,
    BenefitStatus,
    Payroll,
)
from payments.selectors import benefit_list
from payments.services.checks import User, require_plan
from payments.services.events import benefit_events_record
from payments.services.generation import LINE_COLUMNS
from payments.services.points import served_location_ids

REISSUE_ACTION = "payments.benefit_reissue"


def _reissuable(line: Benefit) -> None:
    """The line failed and was never re-issued (nor carried over, nor scheduled for it)."""
    if line.status != BenefitStatus.FAILED:
        raise ValidationError(
            {
                "benefit": _("Payment line %(line)s is %(status)s: only a failed line can be re-issued.")
                % {"line": line.reference, "status": line.get_status_display().lower()}
            }
        )
    if BenefitReissue.objects.filter(original=line).exists():
        raise ValidationError(
            {"benefit": _("Payment line %(line)s was already re-issued.") % {"line": line.reference}}
        )


def _in_scope(user: User, line: Benefit) -> Benefit:
    """The line read again through the user's scope (their plans and locations), else refused."""
    visible = benefit_list(user=user).filter(pk=line.pk).select_related("payroll__payment_plan__benefit_plan")
    found = visible.first()
    if found is None:
        raise ValidationError(
            {"benefit": _("Payment line %(line)s is outside your plans and locations.") % {"line": line}}
        )
    try:
        require_plan(user, found.payroll.payment_plan.benefit_plan)
    except ValidationError:
        raise ValidationError(
            {
                "benefit": _("You may not request payments of %(plan)s: the line cannot be re-issued by you.")
                % {"plan": found.payroll.payment_plan.benefit_plan}
            }
        ) from None
    return found


@transaction.atomic
def benefit_reissue_request(*, user: User, benefit: Benefit, reason: str) -> Task:
    """Ask approval to pay a failed line again in the next payroll of its payment plan."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the line is paid again.")})
    line = _in_scope(user, benefit)
    _reissuable(line)
    return approval_request(
        action=REISSUE_ACTION,
        target=line,
        payload={"reference": line.reference, "amount": str(line.amount), "payroll": line.payroll_id},
        maker=user,
        reason=reason,
    )


def benefit_reissue_execute(*, benefit: Benefit, payload: dict[str, Any], task: Task | None = None) -> dict:
    """The approved task's executor: the line is scheduled for the next payroll of its plan (row locked, so
    a second approval racing it finds it scheduled already)."""
    line = Benefit.objects.select_for_update().select_related("payroll").get(pk=benefit.pk)
    _reissuable(line)
    if payload.get("amount") != str(line.amount):
        raise ValidationError(
            _("The line's amount changed from %(old)s to %(new)s since the request.")
            % {"old": payload.get("amount"), "new": line.amount}
        )
    reissue = BenefitReissue.objects.create(
        original=line,
        payment_plan_id=line.payroll.payment_plan_id,
        task=task,
        reason=task.reason if task is not None else "",
    )
    decision = task.approvals.order_by("-pk").select_related("user").first() if task is not None else None
    benefit_events_record(
        lines=Benefit.objects.filter(pk=line.pk),
        kind=BenefitEventKind.REISSUE_APPROVED,
        to_status=BenefitStatus.FAILED,
        note=_("To be paid again in the next payroll of %(plan)s.") % {"plan": line.payroll.payment_plan},
        user=decision.user if decision is not None else None,
        task=task,
    )
    return {"reissue": reissue.pk, "reference": line.reference}


def benefit_reissues_issue(*, payroll: Payroll) -> int:
    """Copy the plan's waiting re-issues into `payroll` (being generated; its row locked): set-based.

    Only failed lines in the payroll's locations (its scope and its payment point's) are taken; each
    original becomes carried (its event first), the new line keeps the original's cycle (it pays that
    cycle's benefit, so the one-payment-per-cycle rule still holds) and amount, and the re-issue row names
    the new line. Returns how many lines were re-issued."""
    waiting = BenefitReissue.objects.filter(
        payment_plan_id=payroll.payment_plan_id,
        issued_at__isnull=True,
        original__status=BenefitStatus.FAILED,
    )
    location_ids = served_location_ids(
        payment_point=payroll.payment_point,
        scope_paths=list(payroll.locations.values_list("path", flat=True)),
    )
    if location_ids is not None:
        waiting = waiting.filter(original__location_id__in=location_ids)
    # This payroll's batch: the waiting rows stamped first, so each later statement reads the same set.
    now = timezone.now()
    count = waiting.update(issued_at=now)
    if not count:
        return 0
    batch = BenefitReissue.objects.filter(
        payment_plan_id=payroll.payment_plan_id, issued_at=now, new_line__isnull=True
    )
    originals = Benefit.objects.filter(pk__in=batch.values("original_id"))
    benefit_events_record(
        lines=originals,
        kind=BenefitEventKind.REISSUED,
        to_status=BenefitStatus.CARRIED,
        note=_("Re-issued into %(payroll)s (#%(pk)s).") % {"payroll": payroll, "pk": payroll.pk},
    )
    originals.update(status=BenefitStatus.CARRIED)  # frees the cycle's one payment for the new line
    quote = connection.ops.quote_name
    table = quote(Benefit._meta.db_table)
    reissues = quote(BenefitReissue._meta.db_table)
    text = "VARCHAR(40)" if connection.vendor == "postgresql" else "TEXT"
    prefix = f"PR{payroll.pk}-R"
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(map(quote, LINE_COLUMNS))}) "
            f"SELECT %s, b.cycle_id, b.beneficiary_id, b.recipient_id, b.location_id, b.amount, %s, '', "
            f"CAST(%s AS {text}) || CAST(b.id AS {text}), '', '', '', '' "
            f"FROM {table} b JOIN {reissues} r ON r.original_id = b.id "
            "WHERE r.payment_plan_id = %s AND r.issued_at = %s AND r.new_line_id IS NULL",
            [payroll.pk, BenefitStatus.PENDING, prefix, payroll.payment_plan_id, stamp],
        )
        cursor.execute(
            f"UPDATE {reissues} SET new_line_id = (SELECT n.id FROM {table} n "
            f"WHERE n.reference = CAST(%s AS {text}) || CAST({reissues}.original_id AS {text})) "
            "WHERE payment_plan_id = %s AND issued_at = %s AND new_line_id IS NULL",
            [prefix, payroll.payment_plan_id, stamp],
        )
    benefit_events_record(
        lines=Benefit.objects.filter(payroll=payroll, reissued_from__issued_at=now),
        kind=BenefitEventKind.REISSUED_IN,
        from_status="",
        note=Concat(
            Value(str(_("Re-issued from failed line "))),
            F("reissued_from__original__reference"),
            output_field=TextField(),
        ),
        user=payroll.created_by,
    )
    return count
