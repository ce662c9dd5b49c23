"""The programmes' approvable actions: enrol, change beneficiaries' statuses and plan data, close and change
plans."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, QuerySet

from access.plans import plan_list, user_can_view_plan
from approvals.actions import Description, action_register
from approvals.models import Task
from programs.models import STATUS_TRANSITIONS, Beneficiary, BeneficiaryStatus, BenefitPlan
from programs.selectors import beneficiary_list, user_can_view_beneficiary
from programs.services import (
    DATA_ACTION,
    EnrolmentSelection,
    beneficiary_data_change,
    beneficiary_status_change,
    enrolment_preview,
    plan_close,
    plan_enrol,
    plan_update_execute,
)
from registry.schemas import schema_fields

SAMPLE_SIZE = 20


def _plan_of(target: Any) -> BenefitPlan:
    return target.benefit_plan if isinstance(target, Beneficiary) else target


def _can_view(user: Any, target: Any) -> bool:
    if isinstance(target, Beneficiary):
        return user_can_view_beneficiary(user, target)
    return user_can_view_plan(user, target)


def status_visible(user: Any) -> list[QuerySet]:
    """Targets of status changes the user may see: plans they may view, and beneficiaries of those plans
    in their locations.

    The beneficiaries are correlated to the task row (`pk = task.object_id`), so the approval lists
    probe one beneficiary by primary key per pending task instead of reading every beneficiary in
    the user's scope into a hashed subplan (a million rows on a national programme).
    """
    return [plan_list(user=user), beneficiary_list(user=user).filter(pk=OuterRef("object_id"))]


def enrol_execute(
    *, target: BenefitPlan, payload: dict[str, Any], task: Task, progress: Any = None, **kwargs: Any
) -> dict[str, Any]:
    return plan_enrol(
        plan=target,
        user=task.maker,
        selection=EnrolmentSelection.from_payload(payload),
        status=payload.get("status", BeneficiaryStatus.POTENTIAL),
        data=payload.get("data") or {},
        task=task,
        progress=progress,
    )


def enrol_describe(*, target: BenefitPlan, payload: dict[str, Any]) -> Description:
    selection = EnrolmentSelection.from_payload(payload)
    status = BeneficiaryStatus(payload.get("status", BeneficiaryStatus.POTENTIAL)).label.lower()
    noun = "households" if target.is_household else "individuals"
    changes = [
        ("Filters", None, selection.filters or "none"),
        ("Expression", None, selection.expression or "none"),
    ]
    if selection.ids:
        changes.append(("Picked one by one", None, f"{len(selection.ids):,} {noun}"))
    maker = get_user_model().objects.filter(pk=payload.get("maker_id")).first()
    stored = payload.get("preview") or {}
    try:
        if maker is None:
            raise ValidationError("maker unknown")
        preview = enrolment_preview(user=maker, plan=target, selection=selection)
    except ValidationError:
        return Description(
            changes=changes,
            count=stored.get("to_enrol"),
            summary=f"Enrol {stored.get('to_enrol', '?')} {noun} into {target} as {status} "
            "(figures as requested).",
        )
    limit = f" of at most {preview.maximum:,}" if preview.maximum is not None else ""
    summary = (
        f"Enrol {preview.to_enrol:,} {noun} into {target} as {status}: {preview.selected:,} selected, "
        f"{preview.already_enrolled:,} already enrolled (skipped); "
        f"the plan has {preview.current:,} beneficiaries{limit}."
    )
    if preview.exceeds_maximum:
        summary += " This now exceeds the maximum: it will fail."
    return Description(
        changes=changes, count=preview.to_enrol, sample=[str(row) for row in preview.sample], summary=summary
    )


def status_execute(*, target: Any, payload: dict[str, Any], task: Task, **kwargs: Any) -> dict[str, Any]:
    return beneficiary_status_change(
        user=task.maker,
        plan=_plan_of(target),
        transition=payload["transition"],
        reason=payload.get("reason", ""),
        ids=[int(pk) for pk in payload.get("ids", [])],
        task=task,
    )


def status_describe(*, target: Any, payload: dict[str, Any]) -> Description:
    plan = _plan_of(target)
    transition = payload.get("transition", "")
    sources, to = STATUS_TRANSITIONS.get(transition, ((), ""))
    ids = [int(pk) for pk in payload.get("ids", [])]
    rows = Beneficiary.objects.filter(benefit_plan=plan, pk__in=ids[:SAMPLE_SIZE]).select_related(
        "household", "individual"
    )
    sample = [f"{row.household or row.individual} ({row.get_status_display().lower()})" for row in rows]
    before = " or ".join(BeneficiaryStatus(s).label for s in sources)
    return Description(
        changes=[
            ("Status", before, BeneficiaryStatus(to).label if to else transition),
            ("Reason", None, payload.get("reason", "")),
        ],
        count=len(ids),
        sample=sample,
        summary=f"{transition.capitalize()} {len(ids):,} beneficiar{'y' if len(ids) == 1 else 'ies'} "
        f"of {plan}.",
    )


def data_visible(user: Any) -> list[QuerySet]:
    """Beneficiaries the user may see, correlated to the task row (one primary-key probe per task)."""
    return [beneficiary_list(user=user).filter(pk=OuterRef("object_id"))]


def data_execute(
    *, target: Beneficiary, payload: dict[str, Any], task: Task, **kwargs: Any
) -> dict[str, Any]:
    return beneficiary_data_change(
        user=task.maker, beneficiary=target, changes=dict(payload.get("data") or {}), task=task
    )


def _data_value(value: Any) -> Any:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return value


def data_describe(*, target: Beneficiary | None, payload: dict[str, Any]) -> Description:
    """Each changed field of the plan data, labelled as the plan's schema names it, before and after."""
    if target is None:
        return Description(summary="The beneficiary was deleted.")
    plan = target.benefit_plan
    labels = {field.name: field.label for field in schema_fields(plan.beneficiary_schema or {})}
    changes: list[tuple[str, object, object]] = [
        (
            labels.get(key, f"{key} (not a field of the plan any more)"),
            _data_value(change.get("before")),
            _data_value(change.get("after")),
        )
        for key, change in (payload.get("data") or {}).items()
    ]
    recipient = target.household or target.individual
    return Description(
        changes=changes, summary=f"Edit the {plan} data of {recipient}: {len(changes)} change(s)."
    )


def close_execute(
    *, target: BenefitPlan, payload: dict[str, Any], task: Task, progress: Any = None, **kwargs: Any
) -> dict[str, Any]:
    if progress is not None:
        progress(done=0, message="Closing the plan and graduating its active beneficiaries")
    result = plan_close(plan=target, reason=payload.get("reason", ""), user=task.maker, task=task)
    if progress is not None:
        progress(done=result["graduated"], total=result["graduated"], message="Closed")
    return result


def close_describe(*, target: BenefitPlan, payload: dict[str, Any]) -> Description:
    active = target.beneficiaries.filter(status=BeneficiaryStatus.ACTIVE).count()
    return Description(
        changes=[("Plan status", target.get_status_display(), "Closed")],
        count=active,
        summary=f"Close {target}: its {active:,} active beneficiaries graduate. "
        f"Reason: {payload.get('reason', '')}",
    )


def update_execute(
    *, target: BenefitPlan, payload: dict[str, Any], task: Task, **kwargs: Any
) -> dict[str, Any]:
    return plan_update_execute(plan=target, changes=dict(payload.get("changes") or {}), task=task)


def update_describe(*, target: BenefitPlan, payload: dict[str, Any]) -> Description:
    changes = []
    for name, value in (payload.get("changes") or {}).items():
        field = target._meta.get_field(name)
        changes.append((str(field.verbose_name).capitalize(), getattr(target, name), value))
    return Description(changes=changes, summary=f"Change the settings of the active plan {target}.")


def register() -> None:
    def visible(user: Any) -> Any:
        return plan_list(user=user)

    # Enrolling and closing may write hundreds of thousands of rows: they run as background jobs
    # with a progress bar, so the approver's click returns at once.
    action_register(
        "programs.enrol",
        label="Enrol beneficiaries",
        executor=enrol_execute,
        describer=enrol_describe,
        can_view=_can_view,
        visible=visible,
        background=True,
    )
    # Single changes target the beneficiary, bulk ones the plan: so the targets are of two kinds.
    action_register(
        "programs.beneficiary_status",
        label="Change beneficiaries' status",
        executor=status_execute,
        describer=status_describe,
        can_view=_can_view,
        visible=status_visible,
    )
    action_register(
        DATA_ACTION,
        label="Edit a beneficiary's plan data",
        executor=data_execute,
        describer=data_describe,
        can_view=_can_view,
        visible=data_visible,
    )
    action_register(
        "programs.plan_close",
        label="Close a benefit plan",
        executor=close_execute,
        describer=close_describe,
        can_view=_can_view,
        visible=visible,
        background=True,
    )
    action_register(
        "programs.plan_update",
        label="Change an active benefit plan",
        executor=update_execute,
        describer=update_describe,
        can_view=_can_view,
        visible=visible,
    )
