"""Payroll files for the provider (CSV, XLSX, written by `files.spreadsheets`) and the provider's result file
read back for reconciliation (through `files.readers`, within the limits on untrusted files)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError

from files.readers import content_read
from files.spreadsheets import Sheet, csv_stream, xlsx_bytes
from payments.models import Benefit, BenefitStatus, Payroll, PayrollStatus
from payments.services.reconciliation import MAX_LINES

EXPORT_HEADERS = ["reference", "beneficiary", "household", "recipient", "location", "amount", "currency"]
RESULT_HEADERS = ["reference", "status", "amount_paid", "paid_at", "transaction_id", "reason"]
EXPORTABLE = (PayrollStatus.APPROVED, PayrollStatus.SENT, PayrollStatus.RECONCILING, PayrollStatus.RECONCILED)
CHUNK = 5000


def _require_exportable(payroll: Payroll) -> None:
    if payroll.status not in EXPORTABLE:
        raise ValidationError(
            f"{payroll} is {payroll.get_status_display().lower()}: only an approved payroll is exported."
        )


def payroll_export_rows(payroll: Payroll) -> Iterator[list[Any]]:
    """The payable lines, read by keyset pages on the primary key so memory stays flat."""
    _require_exportable(payroll)
    currency = payroll.payment_plan.currency
    columns = (
        "pk",
        "reference",
        "beneficiary_id",
        "beneficiary__household__code",
        "recipient__given_name",
        "recipient__family_name",
        "location__code",
        "amount",
    )
    lines = Benefit.objects.filter(
        payroll=payroll, status__in=[BenefitStatus.PENDING, BenefitStatus.PAID, BenefitStatus.FAILED]
    )
    last = 0
    while True:
        rows = list(lines.filter(pk__gt=last).order_by("pk").values_list(*columns)[:CHUNK])
        if not rows:
            return
        last = rows[-1][0]
        for _, reference, beneficiary, household, given, family, location, amount in rows:
            recipient = f"{given or ''} {family or ''}".strip()
            yield [reference, beneficiary, household or "", recipient, location, amount, currency]


def payroll_csv_lines(payroll: Payroll) -> Iterator[str]:
    """The CSV lines, streamed; the payroll's state is checked before the first one."""
    _require_exportable(payroll)
    return csv_stream(EXPORT_HEADERS, payroll_export_rows(payroll), bom=False)


def payroll_xlsx(payroll: Payroll) -> bytes:
    _require_exportable(payroll)
    return xlsx_bytes([Sheet(str(payroll) or "Payroll", EXPORT_HEADERS, payroll_export_rows(payroll))])


def result_file_lines(content: bytes) -> list[dict[str, Any]]:
    """The provider's CSV (or XLSX) of results as API lines; a wrong header is one clear error."""
    header, rows = content_read(content, name="The results file", rows=MAX_LINES)
    header = [name.strip().lstrip("\ufeff") for name in header]
    missing = [name for name in ("reference", "status") if name not in header]
    if missing:
        raise ValidationError(
            f"The file lacks the column(s) {', '.join(missing)}; expected: {', '.join(RESULT_HEADERS)}."
        )
    lines = []
    for cells in rows:
        row = dict(zip(header, cells, strict=False))
        if not any(value.strip() for value in cells):
            continue
        line = {name: (row.get(name) or "").strip() for name in RESULT_HEADERS}
        line["amount_paid"] = line["amount_paid"] or None
        line["paid_at"] = line["paid_at"] or None
        lines.append(line)
    return lines
