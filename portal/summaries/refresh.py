"""The refresh driver: rebuild every summary table in one transaction, as a background job; VACUUM after."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta

from django.db import connection, transaction
from django.utils import timezone

from jobs.models import Job, JobState
from jobs.services import job_start
from portal.models import (
    BeneficiarySummary,
    PaymentSummary,
    RegistrySummary,
    SummaryChange,
    SummaryGrain,
    SummaryRefresh,
)
from portal.summaries.grains import COARSE_GRAINS, COARSE_SPECS, User, insert_coarser, work_memory_raise
from portal.summaries.incremental import refresh_run_lock
from portal.summaries.payments import payment_summaries_write
from portal.summaries.programmes import beneficiary_summaries_write
from portal.summaries.registry import registry_summaries_write

SUMMARY_MODELS = (RegistrySummary, BeneficiarySummary, PaymentSummary)
# PostgreSQL advisory lock key under which a refresh is looked for and queued (any constant unique to it).
REFRESH_QUEUE_LOCK = 7_310_004_201


def _coarse_grains_write() -> None:
    """The coarser grains of the three summaries, each summed from the next finer one (small tables)."""
    for model, (keys, sums) in COARSE_SPECS.items():
        source = SummaryGrain.LOCATION
        for grain in COARSE_GRAINS:
            insert_coarser(model, grain=grain, source=source, keys=keys, sums=sums)
            source = grain


REFRESH_STEPS = 6  # the five counting steps of `summaries_refresh`, then `summaries_vacuum`


def _statistics_update() -> None:
    """Fresh planner statistics for the rebuilt tables: a subtree read must be an index range scan."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in SUMMARY_MODELS:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def summaries_vacuum() -> None:
    """After a refresh has committed (PostgreSQL): VACUUM the summary tables.

    It reclaims the previous rows and marks the pages all-visible, so the covering indexes answer a
    subtree's sums without touching the table; the first view after a refresh then costs what later
    ones do. Skipped inside a transaction (VACUUM cannot run in one) and on other databases.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        for model in SUMMARY_MODELS:
            cursor.execute(f"VACUUM {connection.ops.quote_name(model._meta.db_table)}")


def summaries_refresh(
    *, today: date | None = None, progress: Callable[..., None] | None = None
) -> SummaryRefresh:
    """Rebuild the dashboard's summary tables from the registry and the plans, in one transaction.

    Rows are written in location path order, so a subtree's rows sit together on disk: a district's
    view reads a few hundred pages of the per-location rows, not one page per row.
    """
    today = today or timezone.localdate()
    started = time.monotonic()

    def step(done: int, message: str) -> None:
        if progress is not None:
            progress(done=done, total=REFRESH_STEPS, message=message)

    with transaction.atomic():
        refresh_run_lock()
        work_memory_raise()
        SummaryChange.objects.all().delete()  # this rebuild counts every change committed so far
        step(0, "Counting people and households")
        registry_summaries_write(today=today, step=step)
        step(2, "Counting beneficiaries")
        beneficiary_summaries_write()
        step(3, "Counting payment lines")
        payment_summaries_write()
        step(4, "Summing up to districts and regions")
        _coarse_grains_write()
        _statistics_update()
        refresh = SummaryRefresh.objects.create(
            refreshed_at=timezone.now(), seconds=time.monotonic() - started, full=True, age_bands_on=today
        )
    return refresh


def summary_refreshed_last() -> SummaryRefresh | None:
    return SummaryRefresh.objects.order_by("-refreshed_at").first()


def summaries_refresh_start(
    *, user: User | None, after_write: bool = False, incremental: bool = False
) -> Job:
    """Queue a refresh job, unless one that stands in for it is already queued (or running); return that one.

    `user` is who pressed Refresh; None when a committed upload, payroll or reconciliation asked for it.
    `after_write`: only a queued job stands in for a new one; a running refresh may have read the tables
    before the write committed, so one more is queued behind it. `incremental`: recount the changed keys
    only (`summaries_refresh_incremental`); a queued full rebuild stands in for it too, and many changes
    coalesce into the one queued incremental job.
    """
    from portal.tasks import summaries_refresh_incremental_task, summaries_refresh_task

    def kind_of(job_task: object) -> str:
        func = job_task.func  # type: ignore[attr-defined]
        return f"{func.__module__}.{func.__name__}"

    full_kind, incremental_kind = kind_of(summaries_refresh_task), kind_of(summaries_refresh_incremental_task)
    kinds = [full_kind, incremental_kind] if incremental else [full_kind]
    # A job stuck in the queue (no worker) stops blocking new ones after a while.
    recent = timezone.now() - timedelta(minutes=15)
    states = (JobState.QUEUED,) if after_write or incremental else (JobState.QUEUED, JobState.RUNNING)
    with transaction.atomic():
        # Several web processes may ask at once: one at a time looks and queues (PostgreSQL holds the lock
        # until the transaction that queued the job commits, so the next one sees that job).
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REFRESH_QUEUE_LOCK])
        waiting = Job.objects.filter(kind__in=kinds, state__in=states, created_at__gte=recent).first()
        if waiting is not None:
            return waiting
        if incremental:
            return job_start(
                task=summaries_refresh_incremental_task,
                label="Refresh the dashboard's summaries where they changed",
                user=user,
            )  # type: ignore[arg-type]
        return job_start(
            task=summaries_refresh_task, label="Refresh the dashboard's summary tables", user=user
        )  # type: ignore[arg-type]
