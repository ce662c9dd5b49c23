"""The audit trail of payment lines: every change of a line's status or amount, written set-based.

Each path that changes lines (generation, approval, release, results from the API or a file, carry-over,
cancel) calls `benefit_events_record` over the very lines its UPDATE touches, in the same transaction:
one INSERT ... SELECT, whatever the number of lines.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import F, QuerySet
from django.utils import timezone

from approvals.models import Task
from payments.models import Benefit, BenefitEvent, PaymentPoint
from programs.bulk import insert_select

User = AbstractBaseUser | AnonymousUser


def benefit_events_record(
    *,
    lines: QuerySet[Benefit],
    kind: str | Any,
    to_status: str | None = None,
    from_status: str | None = None,
    note: str | Any = "",
    user: User | None = None,
    task: Task | None = None,
    payment_point: PaymentPoint | None = None,
    at: datetime | None = None,
) -> int:
    """One event per line of `lines` in one INSERT ... SELECT; returns how many were written.

    `kind` and `note` are texts or expressions over the line; `from_status` / `to_status` default to the
    line's status as it reads now (call it before the UPDATE for the former, after it for the latter).
    """
    columns: dict[str, Any] = {
        "benefit": F("pk"),
        "payroll": F("payroll_id"),
        "amount": F("amount"),
        "amount_paid": F("amount_paid"),
    }
    constants: dict[str, Any] = {
        "at": connection.ops.adapt_datetimefield_value(at or timezone.now()),
        "user": user.pk if user is not None and user.is_authenticated else None,
        "task": task.pk if task is not None else None,
        "payment_point": payment_point.pk if payment_point is not None else None,
    }
    if isinstance(kind, str):
        constants["kind"] = kind
    else:
        columns["kind"] = kind  # e.g. F("status"): the reported result is the event
    for name, value in (("from_status", from_status), ("to_status", to_status)):
        if value is None:
            columns[name] = F("status")
        else:
            constants[name] = value
    if isinstance(note, str):
        constants["note"] = note
    else:
        columns["note"] = note
    return insert_select(BenefitEvent, source=lines, columns=columns, constants=constants)
