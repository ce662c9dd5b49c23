"""`manage.py jobs_sweep`: fail the running jobs whose worker died, cleaning their partial work."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from jobs.recovery import jobs_sweep


class Command(BaseCommand):
    help = (
        "Find running jobs whose lease expired (their worker stopped), mark them failed with the reason "
        "and clean their partial work, so they can be retried or cancelled. Workers do it too."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        failed = jobs_sweep()
        for job in failed:
            self.stdout.write(f"Job #{job.pk} ({job.label}): {job.error}")
        self.stdout.write(f"{len(failed)} dead job(s) found.")
