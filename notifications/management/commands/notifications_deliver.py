"""`manage.py notifications_deliver`: send every outbox message that is due (run it from cron or a timer).

The background worker sends messages as they are queued and retries them after their backoff; this
command catches any the queue lost (a worker that died mid-send, a queue that was down).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from notifications.services import outbox_deliver_due


class Command(BaseCommand):
    help = "Send every outbox message that is due; print how many were sent, retried later, or failed."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--limit", type=int, default=500, help="At most this many messages (500)")

    def handle(self, *args: Any, limit: int, **options: Any) -> None:
        counts = outbox_deliver_due(limit=limit)
        self.stdout.write(
            "sent {sent}, to retry {retrying}, failed {failed}, taken by another worker {skipped}".format(
                **counts
            )
        )
