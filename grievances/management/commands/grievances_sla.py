"""`manage.py grievances_sla`: queue the SLA check (overdue tickets escalate); run it from cron, e.g.
every 15 minutes. `--now` runs it in this process instead of the jobs worker."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Mark open grievance tickets past their SLA as overdue and escalate them (queues a job)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--now", action="store_true", help="Run here instead of queuing a job.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["now"]:
            from grievances.sla import tickets_mark_overdue

            result = tickets_mark_overdue()
            self.stdout.write(f"{result['overdue']:,} tickets overdue and escalated.")
            return
        from grievances.tasks import sla_check_start

        job = sla_check_start()
        self.stdout.write(f"SLA check queued as job #{job.pk}.")
