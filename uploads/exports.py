"""Files the uploads page offers: each plan's blank template (CSV, XLSX with a sheet describing each column)
and a batch's rejected rows with their errors."""

from __future__ import annotations

from collections.abc import Iterator

from files.spreadsheets import Sheet, column_widths, csv_stream, csv_text, xlsx_bytes
from programs.models import BenefitPlan
from uploads.columns import Column
from uploads.models import ImportBatch
from uploads.resources import BeneficiaryUploadResource
from uploads.selectors import batch_rejected_rows

GUIDE_HEADERS = ["column", "required", "type", "description", "accepted values"]

KIND_LABELS = {
    "text": "text",
    "date": "date",
    "boolean": "yes / no",
    "choice": "one of a list",
    "choices": "several of a list (separated by ;)",
    "document": "identity document",
    "integer": "whole number",
    "number": "number",
}


def _limits(column: Column) -> str:
    parts = []
    if column.choices:
        parts.append("one of: " + ", ".join(column.choices))
    if column.minimum is not None:
        parts.append(f"at least {column.minimum}")
    if column.maximum is not None:
        parts.append(f"at most {column.maximum}")
    if column.max_length:
        parts.append(f"at most {column.max_length} characters")
    return "; ".join(parts)


def template_csv(*, plan: BenefitPlan) -> bytes:
    """The header row of a file for `plan` (the import resource's columns), UTF-8 with a BOM so that
    spreadsheet programs open it right."""
    return csv_text(BeneficiaryUploadResource(plan=plan).template_headers(), []).encode("utf-8")


def template_xlsx(*, plan: BenefitPlan) -> bytes:
    """A workbook: the header on the first sheet, and a second sheet describing each column."""
    resource = BeneficiaryUploadResource(plan=plan)
    guide: list[list[str]] = []
    for column in resource.columns:
        guide.append(
            [
                column.name,
                "yes" if column.required else "no",
                KIND_LABELS.get(column.kind, column.kind),
                column.description,
                _limits(column),
            ]
        )
    blank = [""] * (len(GUIDE_HEADERS) - 1)
    guide.append(["", *blank])
    guide.append(
        [
            "Dates: YYYY-MM-DD, or DD/MM/YYYY when chosen on upload. "
            "Yes/no: yes, no, true, false, 1, 0, oui, non.",
            *blank,
        ]
    )
    guide.append(
        [
            "Rows with the same household_code form one household with exactly one head; "
            "hh.* columns are read from the head's row.",
            *blank,
        ]
    )
    headers = resource.template_headers()
    return xlsx_bytes(
        [
            Sheet("Beneficiaries", headers, [], widths=column_widths([headers])),
            Sheet("Columns", GUIDE_HEADERS, guide, widths=column_widths([GUIDE_HEADERS, *guide], maximum=60)),
        ]
    )


def rejected_rows_csv(*, batch: ImportBatch) -> Iterator[str]:
    """The rejected rows (their header first) as CSV text, in pieces (for a streaming response)."""
    return csv_stream(None, batch_rejected_rows(batch=batch))
