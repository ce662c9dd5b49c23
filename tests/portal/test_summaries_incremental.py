"""The incremental refresh: after each kind of write it leaves the summary tables equal to a full rebuild's,
recounts only what the write touched, and many writes coalesce into one job."""
# ruff: noqa: F811  (the upload tests' fixtures, imported, are parameters here)

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from approvals.models import Task, TaskState
from approvals.signals import task_executed
from jobs.models import Job, JobState
from portal.models import (
    BeneficiarySummary,
    PaymentSummary,
    RegistrySummary,
    SummaryChange,
    SummaryChangeKind,
    SummaryRefresh,
)
from portal.summaries import (
    summaries_full_due,
    summaries_refresh,
    summaries_refresh_incremental,
    summaries_refresh_start,
    summary_changes_mark,
)
from programs.models import Beneficiary, BenefitPlan
from registry.models import Individual, Location
from tests.uploads.conftest import (  # noqa: F401  (fixtures)
    approve,
    csv_bytes,
    household_plan,
    household_rows,
    immediate_tasks,
    individual_plan,
    media_root,
    upload,
)
from uploads.services import batch_commit_request

TODAY = date(2026, 6, 15)
INCREMENTAL = "portal.tasks.summaries_refresh_incremental_task"
MODELS = (RegistrySummary, BeneficiarySummary, PaymentSummary)


def contents() -> dict[str, list[tuple]]:
    """Every summary row's values (ids left out), sorted: what a dashboard could read."""
    tables = {}
    for model in MODELS:
        names = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
        tables[model.__name__] = sorted(model.objects.values_list(*names), key=repr)
    return tables


def assert_equal_to_full_rebuild() -> None:
    incremental = contents()
    summaries_refresh(today=TODAY)
    assert contents() == incremental


def person(location: Location, *, sex: str = "F", born: date = date(1990, 1, 1)) -> Individual:
    return Individual.objects.create(
        given_name="P",
        family_name="Q",
        sex=sex,
        birth_date=born,
        location=location,
        registration_date=date(2026, 1, 10),
    )


def enrol(plan: BenefitPlan, individual: Individual, status: str = "active") -> Beneficiary:
    at = datetime(2026, 2, 1, 9, tzinfo=UTC)
    return Beneficiary.objects.create(
        benefit_plan=plan,
        individual=individual,
        location=individual.location,
        status=status,
        status_changed_at=at,
        enrolled_at=at,
    )


def cash_plan(code: str = "CASH") -> BenefitPlan:
    return BenefitPlan.objects.create(
        code=code, name=code, plan_type="individual", start_date=date(2020, 1, 1)
    )


def registry_two_regions(tree) -> BenefitPlan:  # type: ignore[no-untyped-def]
    plan = cash_plan()
    for location in (tree.north_a, tree.north_b, tree.north, tree.south):
        enrol(plan, person(location))
    person(tree.south, sex="M", born=date(1950, 5, 5))
    summaries_refresh(today=TODAY)
    return plan


def test_upload_commit_recounts_its_locations_like_a_full_rebuild(
    tree, maker, checker, household_plan, immediate_tasks, django_capture_on_commit_callbacks
):
    enrol(cash_plan("SOUTH-CASH"), person(tree.south))
    summaries_refresh(today=TODAY)
    batch = upload(maker, household_plan, csv_bytes(household_rows("H1")))
    task = approve(batch_commit_request(batch=batch, user=maker), checker, django_capture_on_commit_callbacks)
    assert task.state == TaskState.EXECUTED, task.error
    # The commit's receiver marked North A, and the incremental job (run in-process) recounted it.
    job = Job.objects.get(kind=INCREMENTAL)
    assert job.state == JobState.SUCCEEDED
    assert not SummaryChange.objects.exists()
    assert SummaryRefresh.objects.filter(full=False).count() == 1
    people = RegistrySummary.objects.filter(kind="individual", location_path=tree.north_a.path, grain=99)
    assert sum(people.values_list("count", flat=True)) == 3
    assert_equal_to_full_rebuild()


def test_enrolment_recounts_the_plan_like_a_full_rebuild(tree, django_capture_on_commit_callbacks):
    registry_two_regions(tree)
    other = cash_plan("OTHER")
    for individual in Individual.objects.filter(location__in=[tree.north_a, tree.south]):
        enrol(other, individual, status="potential")
    with django_capture_on_commit_callbacks(execute=True):
        task_executed.send(
            sender=Task, task=SimpleNamespace(target=other, payload={}), action="programs.enrol"
        )
    assert set(SummaryChange.objects.values_list("kind", "scope_id", "location_id")) == {
        (SummaryChangeKind.BENEFICIARY, other.pk, None)
    }
    assert Job.objects.filter(kind=INCREMENTAL, state=JobState.QUEUED).count() == 1
    refresh = summaries_refresh_incremental()
    assert refresh is not None and not refresh.full and refresh.age_bands_on == TODAY
    assert BeneficiarySummary.objects.filter(benefit_plan_id=other.pk).exists()
    assert_equal_to_full_rebuild()


def test_status_change_recounts_the_plan_at_those_locations(tree, django_capture_on_commit_callbacks):
    plan = registry_two_regions(tree)
    changed = Beneficiary.objects.get(benefit_plan=plan, location=tree.north_b)
    Beneficiary.objects.filter(pk=changed.pk).update(status="suspended")
    with django_capture_on_commit_callbacks(execute=True):
        task_executed.send(
            sender=Task,
            task=SimpleNamespace(target=plan, payload={"ids": [changed.pk]}),
            action="programs.beneficiary_status",
        )
    assert list(SummaryChange.objects.values_list("scope_id", "location_id")) == [(plan.pk, tree.north_b.pk)]
    summaries_refresh_incremental()
    assert_equal_to_full_rebuild()


def test_registry_update_moving_a_person_recounts_both_places(tree, django_capture_on_commit_callbacks):
    registry_two_regions(tree)
    moved = Individual.objects.get(location=tree.north_b)
    Individual.objects.filter(pk=moved.pk).update(location=tree.south)
    moved.refresh_from_db()
    payload = {"fields": {"location": {"before": tree.north_b.pk, "after": tree.south.pk}}}
    with django_capture_on_commit_callbacks(execute=True):
        task_executed.send(
            sender=Task, task=SimpleNamespace(target=moved, payload=payload), action="registry.update"
        )
    summaries_refresh_incremental()
    assert not RegistrySummary.objects.filter(kind="individual", location_path=tree.north_b.path).exists()
    assert_equal_to_full_rebuild()


def test_payroll_and_reconciliation_recount_like_a_full_rebuild(tree, django_capture_on_commit_callbacks):
    from payments.models import Benefit
    from payments.services import reconciliation_apply
    from tests.payments.conftest import sent_payroll, world_build

    world = world_build(tree)
    summaries_refresh(today=TODAY)
    assert not PaymentSummary.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        payroll = sent_payroll(world)  # its approval marks the cycle
    assert (SummaryChangeKind.PAYMENT, payroll.cycle_id, None) in set(
        SummaryChange.objects.values_list("kind", "scope_id", "location_id")
    )
    summaries_refresh_incremental()
    assert PaymentSummary.objects.exists()
    assert_equal_to_full_rebuild()

    line = Benefit.objects.filter(payroll=payroll).order_by("pk").first()
    with django_capture_on_commit_callbacks(execute=True):
        answer, _ = reconciliation_apply(
            payment_point=world.point,
            idempotency_key="k1",
            lines=[{"reference": line.reference, "status": "failed", "reason": "Closed"}],
        )
    assert answer["counts"]["accepted"] == 1
    assert list(SummaryChange.objects.values_list("kind", "scope_id", "location_id")) == [
        (SummaryChangeKind.PAYMENT, payroll.cycle_id, line.location_id)
    ]
    summaries_refresh_incremental()
    failed = PaymentSummary.objects.filter(status="failed", location_path=tree.north_a.path, grain=99)
    assert sum(failed.values_list("count", flat=True)) == 1
    assert_equal_to_full_rebuild()


def test_a_change_in_one_region_leaves_the_others_rows_untouched(tree):
    registry_two_regions(tree)
    south = {
        model.__name__: sorted(
            model.objects.filter(location_path__startswith=tree.south.path).values_list("pk")
        )
        for model in MODELS
    }
    north_before = sorted(
        RegistrySummary.objects.filter(location_path__startswith=tree.north.path).values_list("pk")
    )
    person(tree.north_a, sex="M")
    summary_changes_mark(SummaryChangeKind.REGISTRY, [(None, tree.north_a.pk)])
    summaries_refresh_incremental()
    # The South's rows are the very same rows (same ids): not deleted and inserted again.
    for model in MODELS:
        assert (
            sorted(model.objects.filter(location_path__startswith=tree.south.path).values_list("pk"))
            == (south[model.__name__])
        )
    # North B's own rows were not rewritten either; North A's and the North's region rows were.
    north_after = sorted(
        RegistrySummary.objects.filter(location_path__startswith=tree.north.path).values_list("pk")
    )
    assert north_after != north_before
    assert set(
        RegistrySummary.objects.filter(location_path=tree.north_b.path, grain=99).values_list("pk")
    ) <= set(north_before)
    assert_equal_to_full_rebuild()


def test_many_changes_coalesce_into_one_job_that_takes_them_all(tree, django_capture_on_commit_callbacks):
    plan = registry_two_regions(tree)
    with django_capture_on_commit_callbacks(execute=True):
        for location in (tree.north_a, tree.north_b, tree.south):
            enrol(plan, person(location, sex="M"))
            summary_changes_mark(SummaryChangeKind.REGISTRY, [(None, location.pk)])
            summary_changes_mark(SummaryChangeKind.BENEFICIARY, [(plan.pk, location.pk)])
            task_executed.send(sender=Task, task=None, action="programs.enrol")
    assert Job.objects.filter(kind=INCREMENTAL).count() == 1  # three writes, one job queued
    assert SummaryChange.objects.count() == 6
    assert summaries_refresh_incremental() is not None
    assert not SummaryChange.objects.exists()
    assert summaries_refresh_incremental() is None  # nothing left: nothing recounted, no refresh recorded
    assert_equal_to_full_rebuild()


def test_a_queued_full_rebuild_stands_in_for_an_incremental_one(db):
    full = summaries_refresh_start(user=None)
    assert summaries_refresh_start(user=None, after_write=True, incremental=True) == full
    Job.objects.filter(pk=full.pk).update(state=JobState.RUNNING)  # it may have read before the write
    queued = summaries_refresh_start(user=None, after_write=True, incremental=True)
    assert queued != full and queued.kind == INCREMENTAL


def test_a_full_rebuild_takes_the_pending_changes_and_is_due_daily(tree):
    registry_two_regions(tree)
    summary_changes_mark(SummaryChangeKind.REGISTRY, [(None, tree.south.pk)])
    summaries_refresh(today=TODAY)
    assert not SummaryChange.objects.exists()
    assert not summaries_full_due(TODAY)
    assert summaries_full_due(date(2026, 6, 16))  # the age bands moved on: the day's full rebuild is due


def test_the_incremental_job_queues_the_days_full_rebuild_when_due(
    tree, immediate_tasks, django_capture_on_commit_callbacks
):
    registry_two_regions(tree)  # counted on TODAY, a day long gone
    summary_changes_mark(SummaryChangeKind.REGISTRY, [(None, tree.south.pk)])
    with django_capture_on_commit_callbacks(execute=True):
        job = summaries_refresh_start(user=None, after_write=True, incremental=True)
    assert Job.objects.get(pk=job.pk).state == JobState.SUCCEEDED
    assert SummaryRefresh.objects.filter(full=True).count() == 2  # the due full rebuild ran after it


def test_new_people_are_added_to_the_counts_without_recounting_their_locations(tree):
    plan = registry_two_regions(tree)
    untouched = set(
        RegistrySummary.objects.filter(grain=99, location_path=tree.north_b.path).values_list("pk")
    )
    first = person(tree.north_a, sex="M")  # joins the F 30-39 January row's location: a new row beside it
    same_key = person(tree.south)  # the same keys as a South row: that row's count grows
    last = person(tree.south)
    for individual in (first, same_key, last):
        enrol(plan, individual, status="potential")
    summary_changes_mark(SummaryChangeKind.REGISTRY, [(None, tree.south.pk)])  # also recounted: not twice
    SummaryChange.objects.create(
        kind=SummaryChangeKind.PEOPLE_ADDED, scope_id=plan.pk, first_id=first.pk, last_id=last.pk
    )
    summaries_refresh_incremental()
    assert not RegistrySummary.objects.filter(grain__gte=200).exists()
    south = RegistrySummary.objects.get(
        grain=99, kind="individual", location_path=tree.south.path, sex="F", age_band="30-39"
    )
    assert south.count == 3
    assert set(
        RegistrySummary.objects.filter(grain=99, location_path=tree.north_b.path).values_list("pk")
    ) == (untouched)
    assert_equal_to_full_rebuild()


def test_an_upload_into_an_individual_plan_adds_its_people(
    tree, maker, checker, individual_plan, immediate_tasks, django_capture_on_commit_callbacks, monkeypatch
):
    from portal.summaries import incremental

    added = []
    original = incremental._people_add
    monkeypatch.setattr(incremental, "_people_add", lambda *a, **k: added.append(a[0]) or original(*a, **k))
    enrol(cash_plan("SOUTH-CASH"), person(tree.south))
    enrol(individual_plan, person(tree.north_a))
    summaries_refresh(today=TODAY)
    batch = upload(maker, individual_plan, csv_bytes(household_rows("H1")))
    task = approve(batch_commit_request(batch=batch, user=maker), checker, django_capture_on_commit_callbacks)
    assert task.state == TaskState.EXECUTED, task.error
    batch.refresh_from_db()
    # The job added the three new people (and their enrolments) instead of recounting North A.
    assert added == [{(individual_plan.pk, batch.first_individual_id, batch.last_individual_id)}]
    assert Job.objects.get(kind=INCREMENTAL).state == JobState.SUCCEEDED
    assert not SummaryChange.objects.exists()
    assert_equal_to_full_rebuild()
