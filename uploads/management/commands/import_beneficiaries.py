"""Import a beneficiary file from the command line (data migrations): the upload pipeline with a terminal progress bar."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from approvals.models import TaskState
from approvals.services import error_text, task_approve, task_execute_in_job, task_fail_after_job
from files.spreadsheets import csv_write
from jobs.services import job_running
from programs.models import BenefitPlan
from uploads.models import BatchState, DateFormat, DuplicateMode, FileEncoding
from uploads.resources import upload_path_check
from uploads.selectors import batch_rejected_rows
from uploads.services import batch_commit_request, batch_create, batch_validate


class TerminalProgress:
    """A one-line progress bar on stderr: done / total, rate, time left."""

    def __init__(self, label: str, *, enabled: bool) -> None:
        self.label, self.enabled = label, enabled
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, *, done: int, total: int | None = None, message: str | None = None) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.5 and (not total or done < total)):
            return
        self.last = now
        elapsed = max(now - self.started, 0.001)
        rate = done / elapsed
        width = 30
        filled = int(width * done / total) if total else 0
        left = f", {max(total - done, 0) / rate:,.0f} s left" if total and rate else ""
        line = (
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total or 0:,} "
            f"{rate:,.0f}/s{left} {message or ''}"
        )
        sys.stderr.write(line[:160].ljust(160))
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


class Command(BaseCommand):
    help = (
        "Validate a CSV/XLSX file of beneficiaries for a plan and queue its commit for approval; "
        "with --approve-as, a second user (an approver) approves and the commit runs at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--plan", required=True, help="Code of the benefit plan")
        parser.add_argument("--as", dest="username", required=True, help="The user uploading (the maker)")
        parser.add_argument(
            "--approve-as", dest="approver", help="A different user, holding the approver role"
        )
        parser.add_argument("--encoding", choices=FileEncoding.values, default=FileEncoding.AUTO)
        parser.add_argument("--date-format", choices=DateFormat.values, default=DateFormat.ISO)
        parser.add_argument("--duplicates", choices=DuplicateMode.values, default=DuplicateMode.SKIP)
        parser.add_argument(
            "--rejected", help="Where to write the rejected rows (default: <file>-rejected.csv)"
        )
        parser.add_argument("--reason", default="", help="Why, for the approver")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        # Long on purpose: the command's whole flow (validate, report, request, approve) read top to bottom.
        users = get_user_model().objects
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path} does not exist or is not a file.")
        maker = users.filter(username=options["username"]).first()
        if maker is None:
            raise CommandError(f"No user is called {options['username']!r}.")
        approver = None
        if options["approver"]:
            approver = users.filter(username=options["approver"]).first()
            if approver is None:
                raise CommandError(f"No user is called {options['approver']!r}.")
            if approver.pk == maker.pk:
                raise CommandError("--approve-as must name another user than --as: the maker never approves.")
        plan = BenefitPlan.objects.filter(code=options["plan"]).first()
        if plan is None:
            raise CommandError(f"No benefit plan has the code {options['plan']!r}.")
        show = not options["no_progress"]

        try:
            # The upload screen's early check: a file with wrong columns, no data or a bad encoding is
            # refused at once, and no batch is stored for it.
            upload_path_check(plan=plan, path=path, encoding=options["encoding"])
            with path.open("rb") as handle:
                batch = batch_create(
                    user=maker,
                    plan=plan,
                    file=File(handle, name=path.name),
                    encoding=options["encoding"],
                    date_format=options["date_format"],
                    duplicate_mode=options["duplicates"],
                    background=False,
                )
        except ValidationError as exc:
            raise CommandError(error_text(exc)) from None
        progress = TerminalProgress("Validating", enabled=show)
        batch = batch_validate(batch=batch, progress=progress)
        progress.close()
        if batch.state == BatchState.FAILED:
            raise CommandError(f"{batch}: {batch.error}")
        self.stdout.write(
            f"{batch}: {batch.total_rows:,} rows — {batch.new_rows:,} new individuals, {batch.new_households:,} new "
            f"households, {batch.update_rows:,} updates, {batch.skipped_rows:,} duplicates skipped, "
            f"{batch.error_rows:,} rows with errors."
        )
        if batch.error_rows:
            target = Path(options["rejected"] or path.with_name(f"{path.stem}-rejected.csv"))
            csv_write(target, None, batch_rejected_rows(batch=batch))
            self.stdout.write(f"Rejected rows with their errors: {target}")
        try:
            task = batch_commit_request(batch=batch, user=maker, reason=options["reason"])
        except ValidationError as exc:
            raise CommandError(f"Nothing can be committed: {error_text(exc)}") from None
        self.stdout.write(f"Commit queued for approval as task #{task.pk}.")
        if approver is None and task.state == TaskState.PENDING:
            return
        if approver is not None:
            try:
                task = task_approve(task=task, user=approver, comment="Approved from the command line")
            except ValidationError as exc:
                raise CommandError(f"{options['approver']} cannot approve: {error_text(exc)}") from None
        task.refresh_from_db()
        if task.state == TaskState.EXECUTING:
            progress = TerminalProgress("Committing", enabled=show)
            try:
                with job_running(task.job_id) as job_progress:

                    def both(**kwargs: Any) -> None:
                        job_progress(**kwargs)
                        progress(**kwargs)

                    task_execute_in_job(task_id=task.pk, progress=both)
            except Exception as exc:
                task_fail_after_job(task_id=task.pk, error=error_text(exc))
            finally:
                progress.close()
            task.refresh_from_db()
        if task.state != TaskState.EXECUTED:
            raise CommandError(f"The commit failed and nothing was stored: {task.error}")
        batch.refresh_from_db()
        self.stdout.write(
            self.style.SUCCESS(
                f"Committed (task #{task.pk}, approved by {approver or 'policy'}): {batch.new_rows:,} new individuals, "
                f"{batch.new_households:,} households, {batch.update_rows:,} updates, {batch.new_beneficiaries:,} "
                f"beneficiaries enrolled in {plan.code}."
            )
        )
