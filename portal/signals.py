"""Keep the dashboard's summaries fresh: queue one refresh after the writes that change its figures.

Approved actions arrive through `approvals.signals.task_executed` (sent after their transaction committed);
providers' reconciliations are not approvals: `payments.signals.reconciliation_lines_changed` says when one
changed at least one line (a replayed, refused or all-unchanged request queues nothing). Either way the
refresh is queued once the writer's transaction has committed, and only when no refresh is already waiting in
the queue (a running one may have read the tables before this write).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)

# The approvable actions whose execution changes what the dashboard counts.
REFRESHING_ACTIONS = frozenset(
    {
        "uploads.commit",  # people, households, beneficiaries
        "registry.update",  # a person's location, sex, birth date...
        "programs.enrol",
        "programs.beneficiary_status",
        "programs.plan_close",  # every beneficiary of the plan exits
        "payments.payroll_approve",  # its lines become issued
        "payments.benefit_release",  # held lines become pending
    }
)


def summaries_refresh_soon() -> None:
    """Queue a refresh after the current transaction commits (at once outside one); never fails the writer."""

    def start() -> None:
        from portal.summaries import summaries_refresh_start

        try:
            summaries_refresh_start(user=None, after_write=True)
        except Exception:  # the figures wait for the next refresh; the committed work stands
            logger.exception("Could not queue the dashboard's summary refresh")

    transaction.on_commit(start)


def refresh_after_task(sender: Any, *, action: str, **kwargs: Any) -> None:
    if action in REFRESHING_ACTIONS:
        summaries_refresh_soon()


def refresh_after_reconciliation(sender: Any, *, changed: int, **kwargs: Any) -> None:
    """A provider's results changed `changed` lines (payments sends nothing when none changed)."""
    if changed:
        summaries_refresh_soon()
