"""Writes of reports: save (checked against the dataset) and pin to the dashboard, each checking who may."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.exceptions import PermissionDenied
from django.db import transaction

from reports.models import Report
from reports.selectors import report_list, user_can_edit_report


def report_save(*, user: AbstractBaseUser, report: Report, roles: Iterable[Group] | None = None) -> Report:
    """Create or change a report after checking its definition; the creator is recorded on creation."""
    creating = report.pk is None
    if creating and not user.has_perm("reports.add_report"):
        raise PermissionDenied("You may not create reports.")
    if not creating:
        current = report_list(user=user).filter(pk=report.pk).first()
        if current is None or not user_can_edit_report(user, current):
            raise PermissionDenied("You may not change this report.")
    report.full_clean()
    with transaction.atomic():
        if creating:
            report.created_by = user  # type: ignore[assignment]
        report.save()
        if roles is not None:
            report.roles.set(roles)
    return report


def report_pin(*, user: AbstractBaseUser, reports: Iterable[Report], pinned: bool) -> int:
    """Pin reports to the dashboard (or unpin them); only reports the user may change. Returns how many."""
    ids = {report.pk for report in reports}
    with transaction.atomic():
        # Few rows (reports, not registry data): saved one by one so the history records each pin.
        allowed = [r for r in report_list(user=user).filter(pk__in=ids) if user_can_edit_report(user, r)]
        if len(allowed) != len(ids):
            raise PermissionDenied("You may only pin reports you may change.")
        for report in allowed:
            report.pinned = pinned
            report.save(update_fields=["pinned", "updated_at"])
    return len(allowed)
