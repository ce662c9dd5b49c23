"""Payroll files for the provider (CSV, XLSX) and the provider's result file read back for reconciliation."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError

from payments.models import Benefit, BenefitStatus, Payroll, PayrollStatus

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
            yield [reference, beneficiary, household or "", recipient, location, str(amount), currency]


class _Echo:
    def write(self, value: str) -> str:
        return value


def payroll_csv_lines(payroll: Payroll) -> Iterator[str]:
    """The CSV lines, streamed; the payroll's state is checked before the first one."""
    _require_exportable(payroll)
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(EXPORT_HEADERS)
        for row in payroll_export_rows(payroll):
            yield writer.writerow(row)

    return lines()


def payroll_xlsx(payroll: Payroll) -> bytes:
    from openpyxl import Workbook

    _require_exportable(payroll)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(str(payroll)[:31].replace("/", "-") or "Payroll")
    sheet.append(EXPORT_HEADERS)
    for row in payroll_export_rows(payroll):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def result_file_lines(content: bytes) -> list[dict[str, Any]]:
    """The provider's CSV of results as API lines; a wrong header is one clear error."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("The file is not UTF-8 text: save it as CSV (UTF-8).") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [name for name in ("reference", "status") if name not in (reader.fieldnames or [])]
    if missing:
        raise ValidationError(
            f"The file lacks the column(s) {', '.join(missing)}; expected: {', '.join(RESULT_HEADERS)}."
        )
    lines = []
    for row in reader:
        line = {name: (row.get(name) or "").strip() for name in RESULT_HEADERS}
        line["amount_paid"] = line["amount_paid"] or None
        line["paid_at"] = line["paid_at"] or None
        lines.append(line)
    return lines
