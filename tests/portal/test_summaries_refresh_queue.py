"""Two web processes asking for a refresh at the same moment queue one job, not two."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from jobs.models import Job
from portal.summaries import summaries_refresh_start

REFRESH = "portal.tasks.summaries_refresh_task"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_requests_at_once_queue_one_refresh() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the lock is an advisory lock")
    first_asked = threading.Event()
    answers: dict[str, int] = {}
    errors: list[BaseException] = []

    def first() -> None:
        try:
            # Asks inside a transaction that commits later: its job is not visible to others until then.
            with transaction.atomic():
                answers["first"] = summaries_refresh_start(user=None, after_write=True).pk
                first_asked.set()
                threading.Event().wait(0.5)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
            first_asked.set()
        finally:
            connection.close()

    def second() -> None:
        try:
            first_asked.wait(5)
            answers["second"] = summaries_refresh_start(user=None, after_write=True).pk
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not errors, errors
    # The second waited for the first's commit and found its job instead of queueing another.
    assert answers["second"] == answers["first"]
    assert Job.objects.filter(kind=REFRESH).count() == 1
