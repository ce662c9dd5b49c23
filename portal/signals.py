"""Keep the dashboard's summaries fresh: mark what a write changed, then queue one incremental refresh.

Approved actions arrive through `approvals.signals.task_executed` (sent after their transaction committed);
providers' reconciliations are not approvals: `payments.signals.reconciliation_lines_changed` says, inside
the writer's transaction, when one changed at least one line (a replayed, refused or all-unchanged request
marks nothing). Each receiver records the keys the write touched (`SummaryChange`: registry locations,
a plan or some of its locations, a payment cycle or some of its locations) and queues the incremental job
once the writer's transaction has committed, unless one is already waiting in the queue: many writes
coalesce into one job, which recounts only those keys.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction

from portal.models import SummaryChangeKind

logger = logging.getLogger(__name__)

REGISTRY, BENEFICIARY, PAYMENT = (
    SummaryChangeKind.REGISTRY,
    SummaryChangeKind.BENEFICIARY,
    SummaryChangeKind.PAYMENT,
)


def summaries_refresh_soon() -> None:
    """Queue an incremental refresh after the current transaction commits (at once outside one); never fails
    the writer."""

    def start() -> None:
        from portal.summaries import summaries_refresh_start

        try:
            summaries_refresh_start(user=None, after_write=True, incremental=True)
        except Exception:  # the figures wait for the next refresh; the committed work stands
            logger.exception("Could not queue the dashboard's summary refresh")

    transaction.on_commit(start)


def _upload_committed(task: Any) -> None:
    batch = task.target
    if batch is not None:  # read again: the executor stored the id range after the task was loaded
        batch = type(batch).objects.filter(pk=batch.pk).first()
    if batch is not None and batch.first_individual_id is not None:
        upload_changes_mark(
            first_individual_id=batch.first_individual_id,
            last_individual_id=batch.last_individual_id,
            plan_id=batch.benefit_plan_id,
            updated=batch.update_rows,
        )


def upload_changes_mark(
    *, first_individual_id: int, last_individual_id: int, plan_id: int | None, updated: int = 0
) -> None:
    """An upload's new people (an id range): when it only added people to an individual plan, their counts
    are added (reading them alone); else their locations are recounted (updated people may have moved, a
    household plan may enrol households that already were)."""
    from portal.models import SummaryChange
    from programs.models import BenefitPlan
    from registry.models import Individual

    individual_plan = plan_id is not None and not BenefitPlan.objects.get(pk=plan_id).is_household
    if not updated:
        SummaryChange.objects.create(
            kind=SummaryChangeKind.PEOPLE_ADDED,
            scope_id=plan_id if individual_plan else None,
            first_id=first_individual_id,
            last_id=last_individual_id,
        )
        if individual_plan or plan_id is None:
            return
    locations = set(
        Individual.objects.filter(pk__range=(first_individual_id, last_individual_id))
        .order_by()
        .values_list("location_id", flat=True)
        .distinct()
    )
    if updated:
        _mark(REGISTRY, [(None, location) for location in locations])
    if plan_id is not None:
        _mark(BENEFICIARY, [(plan_id, location) for location in locations])


def _registry_updated(task: Any) -> None:
    """A person or household edited: its location now and before, and the plans of the people there."""
    from programs.models import Beneficiary
    from registry.models import Household, Individual

    target = task.target
    if target is None:
        return
    locations = {target.location_id}
    moved = ((task.payload or {}).get("fields") or {}).get("location") or {}
    locations |= {value for value in (moved.get("before"), moved.get("after")) if value is not None}
    people = Individual.objects.filter(household=target) if isinstance(target, Household) else [target]
    if isinstance(target, Household):
        locations |= set(people.values_list("location_id", flat=True))  # type: ignore[union-attr]
    person_ids = (
        [person.pk for person in people]
        if isinstance(target, Individual)
        else list(
            people.values_list("pk", flat=True)  # type: ignore[union-attr]
        )
    )
    plans = set(
        Beneficiary.objects.filter(individual_id__in=person_ids).values_list("benefit_plan_id", flat=True)
    )
    if isinstance(target, Household):
        plans |= set(Beneficiary.objects.filter(household=target).values_list("benefit_plan_id", flat=True))
    _mark(REGISTRY, [(None, location) for location in locations])
    _mark(BENEFICIARY, [(plan, location) for plan in plans for location in locations])


def _plan_changed(task: Any) -> None:
    target = task.target
    plan_id = getattr(target, "benefit_plan_id", None) or getattr(target, "pk", None)
    if plan_id is not None:
        _mark(BENEFICIARY, [(plan_id, None)])


def _status_changed(task: Any) -> None:
    from programs.models import Beneficiary

    ids = [int(pk) for pk in (task.payload or {}).get("ids", [])]
    keys = Beneficiary.objects.filter(pk__in=ids).values_list("benefit_plan_id", "location_id").distinct()
    _mark(BENEFICIARY, list(keys))


def _payroll_changed(task: Any) -> None:
    payroll = task.target
    if payroll is not None:
        _mark(PAYMENT, [(payroll.cycle_id, None)])


def _mark(kind: str, keys: list[tuple[int | None, int | None]]) -> None:
    from portal.summaries import summary_changes_mark

    summary_changes_mark(kind, keys)


# The approvable actions whose execution changes what the dashboard counts, and what each marks stale.
REFRESHING_ACTIONS: dict[str, Callable[[Any], None]] = {
    "uploads.commit": _upload_committed,  # people, households, beneficiaries
    "registry.update": _registry_updated,  # a person's location, sex, birth date...
    "programs.enrol": _plan_changed,
    "programs.beneficiary_status": _status_changed,
    "programs.plan_close": _plan_changed,  # every beneficiary of the plan exits
    "payments.payroll_approve": _payroll_changed,  # its lines become issued
    "payments.benefit_release": _payroll_changed,  # held lines become pending
}


def refresh_after_task(sender: Any, *, action: str, task: Any = None, **kwargs: Any) -> None:
    """After an approved action committed: mark what it changed (a full rebuild if that cannot be told)."""
    mark = REFRESHING_ACTIONS.get(action)
    if mark is None:
        return
    try:
        with transaction.atomic():
            if task is not None:
                mark(task)
    except Exception:  # the committed work stands; the figures wait for a full rebuild
        logger.exception("Could not mark the dashboard's summaries changed by %s", action)
        from portal.summaries import summaries_refresh_start

        transaction.on_commit(lambda: summaries_refresh_start(user=None, after_write=True))
        return
    summaries_refresh_soon()


def refresh_after_reconciliation(sender: Any, *, batch: Any = None, changed: int = 0, **kwargs: Any) -> None:
    """A provider's results changed `changed` lines (payments sends nothing when none changed): mark the
    (cycle, location) of each line it accepted, in the provider's transaction."""
    if not changed:
        return
    references = [
        line.get("reference")
        for line in ((getattr(batch, "response", None) or {}).get("lines") or [])
        if line.get("result") == "accepted"
    ]
    reconciliation_changes_mark(references)
    summaries_refresh_soon()


def reconciliation_changes_mark(references: list[str]) -> None:
    """The (cycle, location) of each line a provider's results changed (found by their unique reference)."""
    from payments.models import Benefit

    if references:
        keys = (
            Benefit.objects.filter(reference__in=references).values_list("cycle_id", "location_id").distinct()
        )
        _mark(PAYMENT, list(keys))
