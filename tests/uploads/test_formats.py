"""Every accepted format reads the same people: encodings, separators, XLSX, day-first dates, French booleans, spaces."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from tests.uploads.conftest import csv_bytes, upload
from uploads.models import BatchState, StagedRow

HEADER = [
    "given_name",
    "family_name",
    "sex",
    "birth_date",
    "birth_date_estimated",
    "location_code",
    "national_id",
    "ind.disability",
]
ROWS = [
    ["Éloïse", "Ndiaye", "F", "1990-03-04", "oui", "N-A", "E1", "non"],
    ["François", "Mbaye", "homme", "1985-12-31", "no", "N-B", "E2", "vrai"],
]


def _people(batch) -> list[tuple]:
    return list(
        StagedRow.objects.filter(batch_id=batch.pk)
        .order_by("row_number")
        .values_list("given_name", "family_name", "sex", "birth_date", "birth_date_estimated", "ind_data")
    )


EXPECTED = [
    ("Éloïse", "Ndiaye", "F", date(1990, 3, 4), True, '{"disability": false}'),
    ("François", "Mbaye", "M", date(1985, 12, 31), False, '{"disability": true}'),
]


@pytest.mark.parametrize(
    ("encoding", "delimiter", "chosen", "detected"),
    [
        ("utf-8", ",", "auto", "utf-8"),
        ("utf-8-sig", ";", "auto", "utf-8"),
        ("utf-16", "\t", "auto", "utf-16"),
        ("cp1252", ";", "auto", "cp1252"),
        ("latin-1", ",", "latin-1", "latin-1"),
    ],
)
def test_csv_encodings_and_separators(maker, individual_plan, encoding, delimiter, chosen, detected):
    content = csv_bytes(ROWS, header=HEADER, delimiter=delimiter, encoding=encoding)
    batch = upload(maker, individual_plan, content, encoding=chosen)
    assert batch.state == BatchState.VALIDATED, batch.error
    assert batch.detected_encoding == detected
    assert _people(batch) == EXPECTED


def test_xlsx_with_typed_cells(maker, individual_plan):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append(["Éloïse", "Ndiaye", "F", datetime(1990, 3, 4), True, "N-A", "E1", False])
    sheet.append(["François", "Mbaye", "homme", "1985-12-31", "no", "N-B", 2, "vrai"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    batch = upload(maker, individual_plan, buffer.getvalue(), name="people.xlsx")
    assert batch.state == BatchState.VALIDATED, batch.error
    assert _people(batch) == EXPECTED
    assert StagedRow.objects.get(batch_id=batch.pk, row_number=3).national_id == "2"


def test_day_first_dates_and_trimmed_spaces(maker, individual_plan):
    rows = [
        ["  Éloïse ", " Ndiaye", " F ", "04/03/1990", " OUI", " N-A ", " E1 ", " Non "],
        ["François", "Mbaye", "M", "31.12.1985", "0", "N-B", "E2", "TRUE"],
    ]
    batch = upload(maker, individual_plan, csv_bytes(rows, header=HEADER), date_format="dmy")
    assert batch.error_rows == 0, list(batch_errors(batch))
    assert _people(batch) == EXPECTED


def test_day_first_is_refused_when_iso_was_chosen(maker, individual_plan):
    rows = [["Awa", "Ba", "F", "04/03/1990", "", "N-A", "E1", ""]]
    batch = upload(maker, individual_plan, csv_bytes(rows, header=HEADER))
    assert batch.error_rows == 1
    assert "not a date in the chosen format (YYYY-MM-DD)" in list(batch_errors(batch))[0].message


def batch_errors(batch):
    from uploads.selectors import batch_errors as errors

    return errors(batch=batch)
