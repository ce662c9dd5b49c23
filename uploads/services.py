"""Writes of uploads: receive a file, validate it into the staging table, request its commit, commit it.

The admin, the `import_beneficiaries` command, the background jobs and the
tests call these; each checks the user's right to the plan itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from access.plans import user_can_manage_plan
from access.scope import user_location_paths, user_sees_everywhere
from approvals.models import Task
from approvals.services import approval_request
from files.limits import file_size_check
from programs.models import CURRENT_STATUSES, Beneficiary, BenefitPlan, PlanStatus
from uploads import checks
from uploads.columns import DOCUMENT_COLUMNS, columns_for
from uploads.commit import batch_rows_commit
from uploads.models import BatchState, DuplicateMode, ImportBatch, StagedError, StagedRow
from uploads.parallel import rows_parse_parallel, workers_count
from uploads.parsing import LocationResolver, RowParser
from uploads.readers import table_open
from uploads.selectors import uploader_areas
from uploads.staging import StagingWriter

User = AbstractBaseUser | AnonymousUser
Progress = Callable[..., None]
ACTION = "uploads.commit"
ACCEPTED_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx")
PROGRESS_EVERY = 20_000


def _no_progress(**kwargs: Any) -> None:
    return None


def _require_manager(user: User, plan: BenefitPlan) -> None:
    if not user_can_manage_plan(user, plan):
        raise ValidationError(f"You may not add beneficiaries to {plan}: you do not manage this plan.")
    if plan.status == PlanStatus.CLOSED:
        raise ValidationError(f"{plan} is closed: no one can be added to it.")


@transaction.atomic
def batch_create(
    *,
    user: User,
    plan: BenefitPlan,
    file: UploadedFile,
    encoding: str = "auto",
    date_format: str = "iso",
    duplicate_mode: str = DuplicateMode.SKIP,
    background: bool = True,
) -> ImportBatch:
    """Store the file as a new batch and start its validation (a background job unless told otherwise)."""
    _require_manager(user, plan)
    name = Path(file.name or "upload").name
    if not name.lower().endswith(ACCEPTED_SUFFIXES):
        raise ValidationError(f"{name}: upload a .csv or .xlsx file.")
    file_size_check(file.size, name=name)
    if file.size == 0:
        raise ValidationError(f"{name} is empty.")
    batch = ImportBatch(
        benefit_plan=plan,
        original_name=name[:255],
        uploaded_by=user,
        encoding=encoding,
        date_format=date_format,
        duplicate_mode=duplicate_mode,
    )
    batch.file.save(name, file, save=False)
    batch.save()
    batch.areas.set(uploader_areas(user=user))
    if background:
        batch_validation_start(batch=batch, user=user)
    return batch


def batch_validation_start(*, batch: ImportBatch, user: User) -> ImportBatch:
    """Queue the validation as a background job with a progress bar."""
    from jobs.services import job_start
    from uploads.tasks import batch_validate_task

    _require_manager(user, batch.benefit_plan)
    if batch.state not in (BatchState.UPLOADED, BatchState.VALIDATED, BatchState.FAILED):
        raise ValidationError(f"{batch} is {batch.get_state_display().lower()}: it cannot be validated now.")
    job = job_start(task=batch_validate_task, label=f"Validate {batch}", user=user, args=(batch.pk,))
    ImportBatch.objects.filter(pk=batch.pk).update(validation_job=job)
    batch.validation_job = job
    return batch


def staging_clear(*, batch_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {StagedError._meta.db_table} WHERE batch_id = %s", [batch_id])
        cursor.execute(f"DELETE FROM {StagedRow._meta.db_table} WHERE batch_id = %s", [batch_id])


def _batch_locked(pk: int) -> ImportBatch:
    return (
        ImportBatch.objects.select_for_update(of=("self",))
        .select_related("benefit_plan", "uploaded_by")
        .get(pk=pk)
    )


def batch_validate(
    *, batch: ImportBatch, progress: Progress | None = None, path: str | Path | None = None
) -> ImportBatch:
    """Stream the file into the staging table, run every check, and count what a commit would do.

    A problem with the file as a whole (unreadable, wrong columns...) fails the
    batch with that message and leaves no staged row behind.
    """
    progress = progress or _no_progress
    with transaction.atomic():
        batch = _batch_locked(batch.pk)
        if batch.state not in (BatchState.UPLOADED, BatchState.VALIDATED, BatchState.FAILED):
            raise ValidationError(
                f"{batch} is {batch.get_state_display().lower()}: it cannot be validated now."
            )
        batch.start_validation()
        batch.save()
    staging_clear(batch_id=batch.pk)
    started = time.monotonic()
    try:
        counts = _validate_rows(batch=batch, progress=progress, path=path or batch.file.path)
    except ValidationError as exc:
        staging_clear(batch_id=batch.pk)
        with transaction.atomic():
            batch = _batch_locked(batch.pk)
            batch.fail(error=" ".join(exc.messages))
            batch.save()
        return batch
    except Exception:
        staging_clear(batch_id=batch.pk)
        with transaction.atomic():
            batch = _batch_locked(batch.pk)
            batch.fail(
                error="The file could not be validated because of an internal error; the administrators have the details."
            )
            batch.save()
        raise
    with transaction.atomic():
        batch = _batch_locked(batch.pk)
        batch.total_rows = counts["total"]
        batch.new_rows, batch.update_rows = counts["new"], counts["update"]
        batch.skipped_rows, batch.error_rows = counts["skip"], counts["error"]
        batch.duplicate_rows, batch.new_households = counts["duplicates"], counts["households"]
        batch.validated_at = timezone.now()
        batch.finish_validation()
        batch.save()
    progress(
        done=counts["total"],
        total=counts["total"],
        message=f"Validated in {time.monotonic() - started:,.1f} s: {counts['new']:,} new, {counts['error']:,} with errors",
    )
    return batch


def _validate_rows(*, batch: ImportBatch, progress: Progress, path: str | Path) -> dict[str, int]:
    plan = batch.benefit_plan
    table = table_open(path, encoding=batch.encoding, name=batch.original_name)
    try:
        if not table.header or not any(table.header):
            raise ValidationError("The file is empty: it has no header row.")
        scope = None if user_sees_everywhere(batch.uploaded_by) else user_location_paths(batch.uploaded_by)
        # The rows are checked against the uploader's area of today: the batch is seen by those who see it.
        batch.areas.set(uploader_areas(user=batch.uploaded_by))
        parser = RowParser(
            header=table.header,
            columns=columns_for(plan),
            date_format=batch.date_format,
            batch_id=batch.pk,
            household_plan=plan.is_household,
            locations=LocationResolver(scope_paths=scope),
        )
        ImportBatch.objects.filter(pk=batch.pk).update(header=table.header, detected_encoding=table.encoding)
        writer = StagingWriter()
        total = table.estimated_rows
        workers = workers_count(total or 0)
        if workers:
            rows = rows_parse_parallel(
                parser=parser,
                rows=table.rows,
                workers=workers,
                write=writer.write_text,
                progress=lambda done: progress(
                    done=done, total=max(total or done, done), message="Reading and checking rows"
                ),
            )
        else:
            rows = 0
            parse, add = parser.parse, writer.add
            for number, cells in table.rows:
                staged, errors = parse(number, cells)
                if not staged:
                    continue
                add(staged, errors)
                rows += 1
                if rows % PROGRESS_EVERY == 0:
                    progress(done=rows, total=max(total or rows, rows), message="Reading and checking rows")
            writer.flush()
    finally:
        table.close()
    if rows == 0:
        raise ValidationError("The file has a header but no data rows.")
    progress(done=rows, total=rows, message="Checking locations, duplicates and households")
    documents = [
        column for column in DOCUMENT_COLUMNS if column in {cell.strip().lower() for cell in table.header}
    ]
    checks.staging_analyze(documents=documents)
    with transaction.atomic():
        checks.work_memory_raise()
        checks.duplicates_check(
            batch_id=batch.pk, mode=batch.duplicate_mode, documents=documents, scope_paths=scope
        )
        checks.households_check(batch_id=batch.pk, plan=plan, scope_paths=scope)
        return checks.batch_counts(batch_id=batch.pk)


def batch_commit_request(*, batch: ImportBatch, user: User, reason: str = "") -> Task:
    """Queue the commit of the batch's valid rows for approval."""
    _require_manager(user, batch.benefit_plan)
    if batch.state != BatchState.VALIDATED:
        raise ValidationError(
            f"{batch} is {batch.get_state_display().lower()}: only a validated upload can be committed."
        )
    if batch.committable_rows == 0:
        raise ValidationError(
            f"{batch} has no valid row to commit: fix the rejected rows and upload them again."
        )
    if batch.duplicate_mode == DuplicateMode.STOP and batch.duplicate_rows:
        raise ValidationError(
            f"{batch} stops on duplicates and {batch.duplicate_rows:,} row(s) are duplicates: "
            "fix them, or upload again choosing to skip or update duplicates."
        )
    with transaction.atomic():
        batch = _batch_locked(batch.pk)
        if batch.state != BatchState.VALIDATED:
            raise ValidationError(
                f"{batch} is {batch.get_state_display().lower()}: only a validated upload can be committed."
            )
        batch.request_commit()
        batch.save()
        payload = {
            "batch": batch.pk,
            "plan": batch.benefit_plan.code,
            "new": batch.new_rows,
            "update": batch.update_rows,
            "skip": batch.skipped_rows,
            "error": batch.error_rows,
            "households": batch.new_households,
        }
        task = approval_request(action=ACTION, target=batch, payload=payload, maker=user, reason=reason)
        ImportBatch.objects.filter(pk=batch.pk).update(task=task)
    batch.refresh_from_db()
    return task


def batch_commit_execute(
    *, batch: ImportBatch, task: Task | None, progress: Progress | None = None
) -> dict[str, Any]:
    """Write the batch's valid rows into the registry and the plan: one transaction, all or nothing."""
    progress = progress or _no_progress
    batch = _batch_locked(batch.pk)
    if batch.state != BatchState.AWAITING_APPROVAL:
        raise ValidationError(
            f"{batch} is {batch.get_state_display().lower()}: it is not waiting for its commit."
        )
    plan = BenefitPlan.objects.select_for_update().get(pk=batch.benefit_plan_id)
    if plan.status == PlanStatus.CLOSED:
        raise ValidationError(f"{plan} was closed: the upload cannot be committed.")
    batch.start_commit()
    batch.save()
    total = batch.committable_rows
    steps = [
        "Updating existing individuals",
        "Creating households",
        "Creating individuals",
        "Recording identity documents",
        "Adding household members",
        "Enrolling beneficiaries",
    ]

    def step(message: str) -> None:
        done = int(total * steps.index(message) / len(steps)) if message in steps else 0
        progress(done=done, total=total, message=message)

    checks.staging_analyze()
    try:
        with transaction.atomic():
            checks.work_memory_raise()
            counts = batch_rows_commit(
                batch_id=batch.pk,
                plan=plan,
                task_id=task.pk if task else None,
                step=step,
                new_rows=batch.new_rows,
                update_rows=batch.update_rows,
                documents=[cell.strip().lower() for cell in batch.header],
                maker_id=batch.uploaded_by_id,
            )
    except IntegrityError as exc:
        raise ValidationError(
            "The registry changed since this upload was validated (an identity document or household code is "
            f"now taken: {str(exc).splitlines()[0][:200]}). Nothing was stored: validate the upload again."
        ) from None
    if plan.max_beneficiaries is not None:
        current = Beneficiary.objects.filter(benefit_plan=plan, status__in=CURRENT_STATUSES).count()
        if current > plan.max_beneficiaries:
            raise ValidationError(
                f"{plan} may have at most {plan.max_beneficiaries:,} beneficiaries; this upload would bring it to "
                f"{current:,}. Nothing was stored."
            )
    batch.new_beneficiaries = counts["beneficiaries"]
    batch.first_individual_id = counts["first_individual_id"] or None
    batch.last_individual_id = counts["last_individual_id"] or None
    batch.committed_at = timezone.now()
    batch.finish_commit()
    batch.save()
    progress(done=total, total=total, message="Committed")
    return {key: int(value) for key, value in counts.items()}
