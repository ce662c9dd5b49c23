"""Writes to benefit plans and beneficiaries: create, change, activate, close plans; enrol; change statuses.

Changes that need approval are requested here (`*_request`, queuing an approvals task) and
carried out by the executors in `programs.approval_actions`, which call the set-based
functions below. Every function checks the user's permission on the plan itself, so no
screen or forged POST can skip it. Many rows are written with one `INSERT ... SELECT` or
one `UPDATE`, never a Python loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, TextField, Value
from django.http import QueryDict
from django.utils import timezone
from guardian.shortcuts import assign_perm

from access.plans import (
    user_can_change_plan,
    user_can_manage_plan,
    user_can_view_plan,
    user_manages_all_plans,
)
from access.scope import location_scope_q
from approvals.models import Task
from approvals.services import approval_request
from programs.bulk import beneficiaries_enrol, beneficiaries_status_change, queryset_source
from programs.models import (
    CURRENT_STATUSES,
    STATUS_TRANSITIONS,
    TRANSITION_LABELS,
    Beneficiary,
    BeneficiaryStatus,
    BenefitPlan,
    PlanStatus,
)
from programs.schemas import plan_data_validate, plan_schema_check
from registry.custom_fields import schema_change_check
from registry.models import Household, Individual, IndividualStatus
from registry.selectors import household_list, individual_list

User = AbstractBaseUser | AnonymousUser
Progress = Callable[..., None]

ENROL_STATUSES = (BeneficiaryStatus.POTENTIAL, BeneficiaryStatus.ACTIVE)
SAMPLE_SIZE = 20
MAX_IDS_PER_REQUEST = 20_000
# Fields of an active plan that may change (through approval); code and type never change once active.
ACTIVE_PLAN_EDITABLE = (
    "name",
    "description",
    "start_date",
    "end_date",
    "max_beneficiaries",
    "ceiling_per_beneficiary",
    "ceiling_action",
    "institution",
    "beneficiary_schema",
)
CREATOR_PERMISSIONS = ("view_benefitplan", "change_benefitplan", "manage_beneficiaries")


def _db_datetime(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _status_apply(
    *,
    rows: QuerySet[Beneficiary],
    transition: str,
    reason: str,
    user: User | None,
    task: Task | None,
    at: datetime,
) -> int:
    """Move the rows in a source state of `transition` to its target (`programs.bulk`)."""
    return beneficiaries_status_change(
        rows=rows,
        transition=transition,
        reason=reason,
        user_id=user.pk if user is not None and user.is_authenticated else None,
        task_id=task.pk if task is not None else None,
        at=at,
    )


# --- plans -------------------------------------------------------------------------------------


def _require_manager(user: User, plan: BenefitPlan) -> None:
    if not user_can_manage_plan(user, plan):
        raise ValidationError(
            f"You may not manage the beneficiaries of {plan}: ask an administrator to assign you to it."
        )


def _require_open(plan: BenefitPlan) -> None:
    if plan.status == PlanStatus.CLOSED:
        raise ValidationError(f"{plan} is closed: nothing can be enrolled or changed in it any more.")


@transaction.atomic
def plan_create(*, user: User, plan: BenefitPlan) -> BenefitPlan:
    """Create a draft plan; its creator is assigned to it (view, change, manage beneficiaries)."""
    if not (user.is_authenticated and user.is_active and user.has_perm("programs.add_benefitplan")):
        raise ValidationError("You may not create benefit plans.")
    if plan.pk is not None:
        raise ValidationError("This plan already exists.")
    plan.status = PlanStatus.DRAFT
    plan.beneficiary_schema = plan_schema_check(plan.beneficiary_schema)
    plan.full_clean()
    plan.save()
    if not user_manages_all_plans(user):
        for codename in CREATOR_PERMISSIONS:
            assign_perm(f"programs.{codename}", user, plan)
    return plan


def _plan_changes_check(plan: BenefitPlan, changes: dict[str, Any]) -> None:
    if plan.status == PlanStatus.ACTIVE:
        frozen = sorted(set(changes) - set(ACTIVE_PLAN_EDITABLE))
        if frozen:
            raise ValidationError(f"{plan} is active: {', '.join(frozen)} can no longer change.")
    if "beneficiary_schema" in changes:
        # Checked when asked and again when approved: stored plan data must still fit the new schema.
        schema_change_check(
            plan.beneficiaries.all(),
            old=plan.beneficiary_schema or {},
            new=changes["beneficiary_schema"] or {},
            field="beneficiary_schema",
        )
    if "plan_type" in changes and plan.beneficiaries.exists():
        raise ValidationError({"plan_type": f"{plan} has beneficiaries: its type can no longer change."})
    if changes.get("max_beneficiaries") is not None:
        current = plan.beneficiaries.filter(status__in=CURRENT_STATUSES).count()
        if changes["max_beneficiaries"] < current:
            raise ValidationError(
                {
                    "max_beneficiaries": f"{plan} already has {current:,} current beneficiaries: "
                    "the maximum cannot be lower."
                }
            )


def _plan_apply(plan: BenefitPlan, changes: dict[str, Any]) -> BenefitPlan:
    for name, value in changes.items():
        plan._meta.get_field(name)  # unknown names fail loudly
        setattr(plan, name, plan._meta.get_field(name).to_python(value))
    plan.full_clean()
    plan.save()
    return plan


def _json_changes(plan: BenefitPlan, changes: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in {f.name for f in plan._meta.concrete_fields} or name in (
            "id",
            "status",
            "created_at",
            "updated_at",
        ):
            raise ValidationError(f"{name!r} is not a setting of a benefit plan that can be changed.")
        out[name] = (
            value.isoformat()
            if hasattr(value, "isoformat")
            else (str(value) if isinstance(value, models.Model) else value)
        )
        if out[name] is not None and name == "ceiling_per_beneficiary":
            out[name] = str(value)
    return out


def plan_update(
    *, user: User, plan: BenefitPlan, changes: dict[str, Any], reason: str = ""
) -> BenefitPlan | Task:
    """Change a plan: at once while it is a draft, through approval (`programs.plan_update`) once active."""
    if not changes:
        return plan
    if not (user.is_authenticated and user.is_active and user.has_perm("programs.change_benefitplan")):
        raise ValidationError(f"You may not change {plan}.")
    if not user_can_change_plan(user, plan):
        raise ValidationError(f"You may not change {plan}: ask an administrator to assign you to it.")
    current = BenefitPlan.objects.get(pk=plan.pk)
    _require_open(current)
    if "beneficiary_schema" in changes:
        changes["beneficiary_schema"] = plan_schema_check(changes["beneficiary_schema"])
    _plan_changes_check(current, changes)
    if current.status == PlanStatus.DRAFT:
        with transaction.atomic():
            return _plan_apply(current, changes)
    # Check the whole plan as it would be, so the checker never approves something that cannot save.
    trial = BenefitPlan.objects.get(pk=plan.pk)
    for name, value in changes.items():
        setattr(trial, name, value)
    trial.full_clean()
    return approval_request(
        action="programs.plan_update",
        target=current,
        payload={"changes": _json_changes(current, changes)},
        maker=user,
        reason=reason,
    )


@transaction.atomic
def plan_update_execute(
    *, plan: BenefitPlan, changes: dict[str, Any], task: Task | None = None
) -> dict[str, Any]:
    plan = BenefitPlan.objects.select_for_update().get(pk=plan.pk)
    _require_open(plan)
    _plan_changes_check(plan, changes)
    _plan_apply(plan, changes)
    return {"changed": sorted(changes)}


@transaction.atomic
def plan_activate(*, user: User, plan: BenefitPlan) -> BenefitPlan:
    """Open a draft plan for enrolment and payments."""
    plan = BenefitPlan.objects.select_for_update().get(pk=plan.pk)
    _require_manager(user, plan)
    if plan.status != PlanStatus.DRAFT:
        raise ValidationError(
            f"{plan} is {plan.get_status_display().lower()}: only a draft plan can be activated."
        )
    plan.activate()
    plan.save()
    return plan


def plan_close_request(*, user: User, plan: BenefitPlan, reason: str) -> Task:
    """Ask for the plan to be closed; on approval every active beneficiary graduates."""
    _require_manager(user, plan)
    if plan.status != PlanStatus.ACTIVE:
        raise ValidationError(
            f"{plan} is {plan.get_status_display().lower()}: only an active plan can be closed."
        )
    if not (reason or "").strip():
        raise ValidationError("Say why the plan closes: a reason is required.")
    return approval_request(
        action="programs.plan_close",
        target=plan,
        payload={"reason": reason.strip()},
        maker=user,
        reason=reason,
    )


@transaction.atomic
def plan_close(
    *, plan: BenefitPlan, reason: str, user: User | None = None, task: Task | None = None
) -> dict[str, Any]:
    """Close the plan and graduate every active beneficiary in one set-based update (the executor's body)."""
    plan = BenefitPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status != PlanStatus.ACTIVE:
        raise ValidationError(
            f"{plan} is {plan.get_status_display().lower()}: only an active plan can be closed."
        )
    plan.close()
    plan.save()
    at = timezone.now()
    graduated = _status_apply(
        rows=Beneficiary.objects.filter(benefit_plan=plan, status=BeneficiaryStatus.ACTIVE),
        transition="graduate",
        reason=f"Plan closed: {reason}",
        user=user,
        task=task,
        at=at,
    )
    return {"graduated": graduated}


# --- enrolment ---------------------------------------------------------------------------------


@dataclass
class EnrolmentSelection:
    """What an enrolment request selects from the registry, as stored in the task's payload."""

    filters: str = ""  # the advanced search's query string
    expression: str = ""
    ids: list[int] = field(default_factory=list)

    def as_payload(self) -> dict[str, Any]:
        return {"filters": self.filters, "expression": self.expression, "ids": self.ids}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> EnrolmentSelection:
        return cls(
            filters=str(payload.get("filters") or ""),
            expression=str(payload.get("expression") or ""),
            ids=[int(pk) for pk in payload.get("ids") or []],
        )


@dataclass
class EnrolmentPreview:
    selected: int
    already_enrolled: int
    to_enrol: int
    current: int
    maximum: int | None
    sample: list[Any]

    @property
    def exceeds_maximum(self) -> bool:
        return self.maximum is not None and self.current + self.to_enrol > self.maximum

    @property
    def places_left(self) -> int | None:
        return None if self.maximum is None else max(self.maximum - self.current, 0)


def _expression_filter(*, plan: BenefitPlan, expression: str) -> Q:
    """The custom expression compiled to an ORM condition over individuals or households."""
    from registry.expressions import ExpressionError, compile_filter, household_context, individual_context
    from registry.schemas import schema_for

    schemas = {"household_schema": schema_for("household"), "individual_schema": schema_for("individual")}
    context = household_context(**schemas) if plan.is_household else individual_context(**schemas)
    try:
        return compile_filter(expression, context)
    except ExpressionError as exc:
        raise ValidationError({"expression": exc.describe()}) from None


def enrolment_source(*, plan: BenefitPlan, user: User, selection: EnrolmentSelection) -> QuerySet:
    """The registry rows the selection picks, inside the user's locations (individuals alive and present)."""
    if plan.is_household:
        base: QuerySet = household_list(user=user)
    else:
        base = individual_list(user=user).filter(status=IndividualStatus.ACTIVE)
    if selection.ids:
        if len(selection.ids) > MAX_IDS_PER_REQUEST:
            raise ValidationError(
                f"At most {MAX_IDS_PER_REQUEST:,} records can be picked one by one: use filters instead."
            )
        base = base.filter(pk__in=selection.ids)
        found = base.count()
        if found != len(set(selection.ids)):
            noun = "households" if plan.is_household else "individuals"
            raise ValidationError(
                f"{len(set(selection.ids)) - found} of the {len(set(selection.ids))} picked {noun} "
                "do not exist "
                "or lie outside your locations."
            )
    if selection.filters:
        from registry.filters import household_filterset, individual_filterset

        make = household_filterset if plan.is_household else individual_filterset
        filterset = make(QueryDict(selection.filters), user=user, queryset=base)
        if not filterset.is_valid():
            problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items())
            raise ValidationError(f"The filters are not valid: {problems}")
        base = filterset.qs
    if selection.expression.strip():
        base = base.filter(_expression_filter(plan=plan, expression=selection.expression))
    return base


def _enrolled_q(plan: BenefitPlan) -> Q:
    fk = "household" if plan.is_household else "individual"
    return Q(Exists(Beneficiary.objects.filter(benefit_plan=plan, **{fk: OuterRef("pk")})))


def enrolment_preview(*, user: User, plan: BenefitPlan, selection: EnrolmentSelection) -> EnrolmentPreview:
    """How many the selection picks, how many are already in, whether the maximum holds, and a sample."""
    if not user_can_view_plan(user, plan):
        raise ValidationError(f"You may not see {plan}.")
    source = enrolment_source(plan=plan, user=user, selection=selection)
    counts = source.order_by().aggregate(selected=Count("pk"), enrolled=Count("pk", filter=_enrolled_q(plan)))
    current = plan.beneficiaries.filter(status__in=CURRENT_STATUSES).count()
    sample = list(source.exclude(_enrolled_q(plan)).select_related("location").order_by("pk")[:SAMPLE_SIZE])
    return EnrolmentPreview(
        selected=counts["selected"],
        already_enrolled=counts["enrolled"],
        to_enrol=counts["selected"] - counts["enrolled"],
        current=current,
        maximum=plan.max_beneficiaries,
        sample=sample,
    )


def _enrol_checks(plan: BenefitPlan, status: str) -> None:
    _require_open(plan)
    if status not in ENROL_STATUSES:
        raise ValidationError(f"Beneficiaries are enrolled as potential or active, not {status!r}.")


def enrolment_request(
    *,
    user: User,
    plan: BenefitPlan,
    selection: EnrolmentSelection,
    status: str = BeneficiaryStatus.POTENTIAL,
    data: dict[str, Any] | None = None,
    reason: str = "",
) -> Task:
    """Queue the enrolment of what the selection picks (`programs.enrol`); refused if it cannot succeed."""
    _require_manager(user, plan)
    _enrol_checks(plan, status)
    data = plan_data_validate(plan, data or {})
    preview = enrolment_preview(user=user, plan=plan, selection=selection)
    noun = "households" if plan.is_household else "individuals"
    if preview.selected == 0:
        raise ValidationError(f"The selection picks no {noun}: nothing to enrol.")
    if preview.to_enrol == 0:
        raise ValidationError(f"All {preview.selected:,} selected {noun} are already enrolled in {plan}.")
    if preview.exceeds_maximum:
        raise ValidationError(
            f"Enrolling {preview.to_enrol:,} more would exceed the maximum of "
            f"{preview.maximum:,} beneficiaries "
            f"of {plan} ({preview.current:,} already, {preview.places_left:,} places left)."
        )
    payload = {
        **selection.as_payload(),
        "status": str(status),
        "data": data,
        "maker_id": user.pk,
        "preview": {
            "selected": preview.selected,
            "already_enrolled": preview.already_enrolled,
            "to_enrol": preview.to_enrol,
        },
    }
    return approval_request(action="programs.enrol", target=plan, payload=payload, maker=user, reason=reason)


def beneficiary_enrol_one(
    *,
    user: User,
    plan: BenefitPlan,
    individual: Individual | None = None,
    household: Household | None = None,
    status: str = BeneficiaryStatus.POTENTIAL,
    data: dict[str, Any] | None = None,
    reason: str = "",
) -> Task:
    """Request the enrolment of one individual (individual plan) or one household (household plan)."""
    if (individual is None) == (household is None):
        raise ValidationError("Enrol either one individual or one household.")
    if plan.is_household and individual is not None:
        raise ValidationError(
            f"{plan} is a household plan: enrol a household, not the individual {individual}."
        )
    if not plan.is_household and household is not None:
        raise ValidationError(
            f"{plan} is an individual plan: enrol an individual, not the household {household}."
        )
    record = household if household is not None else individual
    return enrolment_request(
        user=user,
        plan=plan,
        selection=EnrolmentSelection(ids=[record.pk]),
        status=status,
        data=data,
        reason=reason,
    )


def plan_enrol(
    *,
    plan: BenefitPlan,
    user: User,
    selection: EnrolmentSelection,
    status: str = BeneficiaryStatus.POTENTIAL,
    data: dict[str, Any] | None = None,
    task: Task | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Enrol what the selection picks now, in one INSERT ... SELECT (the executor's body).

    The selection runs again here, in `user`'s scope, once: those already enrolled are skipped by the
    plan's unique index as the rows are written, and exceeding the maximum fails with nothing written
    (the transaction is rolled back).
    """
    with transaction.atomic():
        # The plan row lock serialises enrolments of one plan, so the maximum holds.
        plan = BenefitPlan.objects.select_for_update().get(pk=plan.pk)
        _require_manager(user, plan)
        _enrol_checks(plan, status)
        data = plan_data_validate(plan, data or {})
        source = enrolment_source(plan=plan, user=user, selection=selection)
        current = None
        if plan.max_beneficiaries is not None:
            current = plan.beneficiaries.filter(status__in=CURRENT_STATUSES).count()
        if progress is not None:
            progress(done=0, message="Enrolling")
        fk = "household_id" if plan.is_household else "individual_id"
        enrolled = beneficiaries_enrol(
            plan=plan,
            source=queryset_source(
                source, **{fk: F("pk"), "location_id": F("location_id"), "data": Value(None, TextField())}
            ),
            status=str(status),
            reason="Enrolled" + (f" by task #{task.pk}" if task is not None else ""),
            at=timezone.now(),
            task_id=task.pk if task is not None else None,
            data=data,
        )
        if current is not None and current + enrolled > plan.max_beneficiaries:
            raise ValidationError(
                f"Enrolling {enrolled:,} more would exceed the maximum of {plan.max_beneficiaries:,} "
                f"beneficiaries of {plan} ({current:,} already enrolled): nothing was enrolled."
            )
        if progress is not None:
            progress(done=enrolled, total=enrolled, message="Enrolled")
    return {"enrolled": enrolled, "status": str(status)}


# --- beneficiaries -----------------------------------------------------------------------------


def _transition_check(transition: str) -> tuple[tuple[str, ...], str]:
    if transition not in STATUS_TRANSITIONS:
        raise ValidationError(
            f"{transition!r} is not a status change; use one of {', '.join(STATUS_TRANSITIONS)}."
        )
    return STATUS_TRANSITIONS[transition]


def _wrong_status_message(rows: QuerySet[Beneficiary], transition: str, total: int) -> str | None:
    sources, _ = STATUS_TRANSITIONS[transition]
    wrong = rows.exclude(status__in=sources)
    stuck = wrong.order_by().values("status").annotate(n=Count("pk")).order_by("status")
    if not stuck:
        return None
    parts = ", ".join(f"{row['n']:,} {BeneficiaryStatus(row['status']).label.lower()}" for row in stuck)
    count = sum(row["n"] for row in stuck)
    allowed = " or ".join(BeneficiaryStatus(s).label.lower() for s in sources)
    example = wrong.select_related("household", "individual").first()
    return (
        (
            f"{count:,} of the {total:,} selected beneficiaries cannot be "
            f"{TRANSITION_LABELS[transition].lower()}d "
            f"from their status ({parts}; only {allowed} can), e.g. {example}: nothing was changed."
        )
        .replace("exitd", "exited")
        .replace("suspendd", "suspended")
    )


def _selected_rows(*, user: User, plan: BenefitPlan, ids: list[int]) -> QuerySet[Beneficiary]:
    if not ids:
        raise ValidationError("Select at least one beneficiary.")
    if len(ids) > MAX_IDS_PER_REQUEST:
        raise ValidationError(
            f"At most {MAX_IDS_PER_REQUEST:,} beneficiaries can change at once: narrow the list."
        )
    rows = Beneficiary.objects.filter(benefit_plan=plan, pk__in=ids).filter(location_scope_q(user))
    found = rows.count()
    if found != len(set(ids)):
        raise ValidationError(
            f"{len(set(ids)) - found} of the {len(set(ids))} selected beneficiaries are not in {plan} "
            "or lie outside your locations: nothing was changed."
        )
    return rows


def beneficiary_status_request(
    *,
    user: User,
    plan: BenefitPlan,
    transition: str,
    reason: str,
    ids: list[int] | None = None,
    beneficiary: Beneficiary | None = None,
) -> Task:
    """Queue a status change (`programs.beneficiary_status`) of one beneficiary (its own task) or many."""
    _transition_check(transition)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why the status changes: a reason is required.")
    _require_manager(user, plan)
    _require_open(plan)
    if beneficiary is not None:
        if beneficiary.benefit_plan_id != plan.pk:
            raise ValidationError(f"{beneficiary} is not a beneficiary of {plan}.")
        ids = [beneficiary.pk]
    ids = sorted({int(pk) for pk in ids or []})
    rows = _selected_rows(user=user, plan=plan, ids=ids)
    problem = _wrong_status_message(rows, transition, len(ids))
    if problem:
        raise ValidationError(problem)
    payload = {"transition": transition, "reason": reason, "ids": ids, "plan_id": plan.pk}
    target: models.Model = beneficiary if beneficiary is not None else plan
    return approval_request(
        action="programs.beneficiary_status", target=target, payload=payload, maker=user, reason=reason
    )


def beneficiary_status_change(
    *, user: User, plan: BenefitPlan, transition: str, reason: str, ids: list[int], task: Task | None = None
) -> dict[str, Any]:
    """Apply a status change to the listed beneficiaries now, set-based (the executor's body): all or none."""
    _transition_check(transition)
    with transaction.atomic():
        plan = BenefitPlan.objects.select_for_update().get(pk=plan.pk)
        _require_manager(user, plan)
        _require_open(plan)
        rows = _selected_rows(user=user, plan=plan, ids=ids)
        problem = _wrong_status_message(rows, transition, len(set(ids)))
        if problem:
            raise ValidationError(problem)
        changed = _status_apply(
            rows=rows, transition=transition, reason=reason, user=user, task=task, at=timezone.now()
        )
    return {"changed": changed, "transition": transition, "to": STATUS_TRANSITIONS[transition][1]}


DATA_ACTION = "programs.beneficiary_data"


def _data_editable(user: User, beneficiary: Beneficiary) -> None:
    """The user manages the beneficiary's plan, the plan is open and the beneficiary is in their locations."""
    plan = beneficiary.benefit_plan
    _require_manager(user, plan)
    _require_open(plan)
    if not Beneficiary.objects.filter(pk=beneficiary.pk).filter(location_scope_q(user)).exists():
        raise ValidationError(f"{beneficiary} lies outside your locations.")


def beneficiary_data_changes(*, stored: dict[str, Any], data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every plan-data field whose value would change, as {"before", "after"} (None: absent)."""
    changes = {}
    for key in sorted(set(stored) | set(data)):
        before, after = stored.get(key), data.get(key)
        if before != after:
            changes[key] = {"before": before, "after": after}
    return changes


def beneficiary_data_request(
    *, user: User, beneficiary: Beneficiary, data: Any, reason: str = ""
) -> Task | None:
    """Ask for a change of a beneficiary's plan data (`programs.beneficiary_data`); None when nothing changes.

    The data is validated with the plan's schema now, so a checker never approves what cannot be saved;
    the task holds each changed field before and after, and the change is made only once approved.
    """
    beneficiary = Beneficiary.objects.select_related("benefit_plan").get(pk=beneficiary.pk)
    _data_editable(user, beneficiary)
    stored = dict(beneficiary.data or {})
    cleaned = plan_data_validate(beneficiary.benefit_plan, data, previous=stored)
    changes = beneficiary_data_changes(stored=stored, data=cleaned)
    if not changes:
        return None
    return approval_request(
        action=DATA_ACTION,
        target=beneficiary,
        payload={"plan_id": beneficiary.benefit_plan_id, "data": changes},
        maker=user,
        reason=reason,
    )


@transaction.atomic
def beneficiary_data_change(
    *, user: User, beneficiary: Beneficiary, changes: dict[str, dict[str, Any]], task: Task | None = None
) -> dict[str, Any]:
    """Apply an approved plan-data change (the executor's body), if the data still reads as it did."""
    beneficiary = (
        Beneficiary.objects.select_for_update(of=("self",))
        .select_related("benefit_plan")
        .get(pk=beneficiary.pk)
    )
    _data_editable(user, beneficiary)
    stored = dict(beneficiary.data or {})
    stale = [
        f"{key} now reads {stored.get(key) if stored.get(key) is not None else '—'}"
        for key, change in changes.items()
        if stored.get(key) != change["before"]
    ]
    if stale:
        raise ValidationError(
            f"The data of {beneficiary} changed after this request was made ({'; '.join(stale)}): "
            "ask for the change again."
        )
    wanted = dict(stored)
    for key, change in changes.items():
        if change["after"] is None:
            wanted.pop(key, None)
        else:
            wanted[key] = change["after"]
    beneficiary.data = plan_data_validate(beneficiary.benefit_plan, wanted, previous=stored)
    if task is not None:
        beneficiary._change_reason = f"{DATA_ACTION}, task #{task.pk}"  # type: ignore[attr-defined]
    beneficiary.save(update_fields=["data"])
    return {"changed": [f"data.{key}" for key in sorted(changes)]}


def enrolment_filters_querystring(data: dict[str, Any]) -> str:
    """A query string of the advanced-search filters, as the payload keeps them."""
    return urlencode({key: value for key, value in data.items() if value not in (None, "", [])}, doseq=True)
