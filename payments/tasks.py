"""Background jobs of payments: generating a payroll's lines; what to do when the generation dies."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django_tasks import task

from jobs.kinds import job_kind_register
from jobs.models import Job
from jobs.services import job_running, job_set_result, job_start


@task()
def payroll_generate_job(job_id: int, payroll_id: int) -> None:
    from payments.models import Payroll
    from payments.services import payroll_generate

    with job_running(job_id) as progress:
        result = payroll_generate(payroll=Payroll.objects.get(pk=payroll_id), progress=progress)
        job_set_result(job_id, result=result)


def _payroll_of(job: Job) -> Any:
    from payments.models import Payroll

    payroll_id = (job.task_args.get("args") or [None])[0] if isinstance(job.task_args, dict) else None
    payroll = Payroll.objects.filter(pk=payroll_id).first() if payroll_id else None
    return payroll or Payroll.objects.filter(job=job).first()


def _lines_delete(payroll_id: int) -> None:
    from payments.models import Benefit

    # Set-based: a half-made payroll may hold a million lines, none of them paid or referenced yet.
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Benefit._meta.db_table} WHERE payroll_id = %s", [payroll_id])


def payroll_generation_abandon(*, job: Job, reason: str) -> None:
    """The generation's worker died: no line of it stays, and the payroll is 'generation failed'."""
    from payments.models import Payroll, PayrollStatus

    found = _payroll_of(job)
    if found is None:
        return
    with transaction.atomic():
        payroll = Payroll.objects.select_for_update().get(pk=found.pk)
        if payroll.status not in (PayrollStatus.GENERATING, PayrollStatus.FAILED):
            return  # it was generated after all: its lines are whole
        _lines_delete(payroll.pk)
        if payroll.status == PayrollStatus.GENERATING:
            payroll.generation_failed()
        payroll.error = reason[:2000]
        payroll.save()


def _refusal(user: Any, payroll: Any, permission: str, what: str) -> str | None:
    from access.plans import user_can_request_payments
    from payments.models import PayrollStatus

    if payroll is None:
        return _("The payroll this job generated was deleted.")
    if not (user.is_authenticated and user.is_active and user.has_perm(permission)):
        return _("You may not %(what)s.") % {"what": what}
    if not user_can_request_payments(user, payroll.payment_plan.benefit_plan):
        return _("You may not request payments for %(plan)s.") % {"plan": payroll.payment_plan.benefit_plan}
    if payroll.status != PayrollStatus.FAILED:
        return _("%(payroll)s is %(state)s, not failed.") % {
            "payroll": payroll,
            "state": payroll.get_status_display().lower(),
        }
    return None


def payroll_generation_retry_refusal(*, job: Job, user: Any) -> str | None:
    from payments.services import PaymentScope, payment_scope, payroll_live

    payroll = _payroll_of(job)
    refusal = _refusal(user, payroll, "payments.add_payroll", _("generate payrolls"))
    if refusal:
        return refusal
    try:
        scope = payment_scope(user=user)
    except ValidationError as exc:
        return " ".join(exc.messages)
    locations = tuple(payroll.locations.order_by("path"))
    if not scope.everywhere and not (
        locations and all(any(loc.path.startswith(path) for path in scope.paths) for loc in locations)
    ):
        return _("%(payroll)s pays %(where)s, beyond your locations.") % {
            "payroll": payroll,
            "where": payroll.scope_label(),
        }
    other = payroll_live(payroll.payment_plan, payroll.cycle, payroll.payment_point, PaymentScope(locations))
    if other is not None and other.pk != payroll.pk:
        return _("%(other)s already pays this plan for this cycle: cancel it first.") % {"other": other}
    return None


def payroll_generation_retry(*, job: Job, user: Any) -> Job:
    """Generate the failed payroll again, in a new job, from no line at all."""
    from payments.models import Payroll

    with transaction.atomic():
        payroll = Payroll.objects.select_for_update().get(pk=_payroll_of(job).pk)
        refusal = payroll_generation_retry_refusal(job=job, user=user)
        if refusal:
            raise ValidationError(refusal)
        _lines_delete(payroll.pk)
        payroll.regenerate()
        payroll.job = job_start(
            task=payroll_generate_job, label=f"Generate {payroll}", user=user, args=(payroll.pk,)
        )
        payroll.save()
    return payroll.job


def payroll_generation_cancel_refusal(*, job: Job, user: Any) -> str | None:
    return _refusal(user, _payroll_of(job), "payments.change_payroll", _("cancel payrolls"))


def payroll_generation_cancel(*, job: Job, user: Any) -> None:
    from payments.services import payroll_cancel

    reason = _("Cancelled after its generation failed (job #%(job)s).") % {"job": job.pk}
    payroll_cancel(user=user, payroll=_payroll_of(job), reason=reason)


job_kind_register(
    payroll_generate_job,
    cleanup=payroll_generation_abandon,
    retry=payroll_generation_retry,
    retry_refusal=payroll_generation_retry_refusal,
    cancel=payroll_generation_cancel,
    cancel_refusal=payroll_generation_cancel_refusal,
)
