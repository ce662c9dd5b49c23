"""The background task sending one outbox message (retries queue it again, deferred by the backoff)."""

from __future__ import annotations

from django_tasks import task


@task()
def outbox_deliver_task(message_id: int) -> None:
    from notifications.services import outbox_deliver

    outbox_deliver(message_id)
