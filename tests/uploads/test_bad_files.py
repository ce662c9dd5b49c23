"""Files that cannot be read give one clear message, fail the batch and store nothing; none is a server error."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from registry.models import Individual
from tests.uploads.conftest import HEADER, csv_bytes, household_rows, upload
from uploads.models import BatchState, StagedError, StagedRow
from uploads.services import batch_create


def _failed(batch, message: str) -> None:
    assert batch.state == BatchState.FAILED
    assert message in batch.error, batch.error
    assert not StagedRow.objects.filter(batch_id=batch.pk).exists()
    assert not StagedError.objects.filter(batch_id=batch.pk).exists()
    assert Individual.objects.count() == 0


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_empty_file_is_refused_on_upload(maker, household_plan):
    with pytest.raises(ValidationError, match="is empty"):
        batch_create(user=maker, plan=household_plan, file=SimpleUploadedFile("x.csv", b""), background=False)


def test_blank_lines_only(maker, household_plan):
    _failed(upload(maker, household_plan, b"\r\n\r\n"), "The file is empty")


def test_only_a_header(maker, household_plan):
    _failed(upload(maker, household_plan, csv_bytes([])), "has a header but no data rows")


def test_unknown_and_missing_columns_are_listed(maker, household_plan):
    content = csv_bytes([["Awa", "x"]], header=["given_name", "colour"])
    batch = upload(maker, household_plan, content)
    _failed(batch, "Unknown column(s): colour.")
    assert (
        "Missing required column(s): family_name, sex, location_code, household_code, household_role."
        in batch.error
    )


def test_wrong_encoding_chosen(maker, household_plan):
    rows = household_rows()
    rows[0][0] = "Élodie"
    batch = upload(maker, household_plan, csv_bytes(rows, encoding="cp1252"), encoding="utf-8")
    _failed(batch, "cannot be read as utf-8")
    assert "choose its encoding" in batch.error.lower()


def test_row_with_more_cells_than_the_header(maker, household_plan):
    rows = household_rows()
    rows[1] = rows[1] + ["surplus"]
    batch = upload(maker, household_plan, csv_bytes(rows))
    assert batch.state == BatchState.VALIDATED
    error = StagedError.objects.get(batch_id=batch.pk, row_number=3)
    assert error.message == f"The row has {len(HEADER) + 1} cells but the header has {len(HEADER)} columns."


def test_file_above_the_size_limit(maker, household_plan, settings):
    settings.UPLOADS_MAX_FILE_BYTES = 200
    content = csv_bytes(household_rows())
    with pytest.raises(ValidationError, match="files may be at most"):
        batch_create(
            user=maker, plan=household_plan, file=SimpleUploadedFile("big.csv", content), background=False
        )


def test_xlsx_zip_bomb_is_refused_before_opening(maker, household_plan):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (20 * 1024 * 1024) + b"/>")
    _failed(upload(maker, household_plan, buffer.getvalue(), name="bomb.xlsx"), "possible zip bomb")


def test_xlsx_with_too_many_parts(maker, household_plan, settings):
    settings.UPLOADS_XLSX_MAX_ENTRIES = 5
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for index in range(10):
            archive.writestr(f"xl/part{index}.xml", "<x/>")
    _failed(upload(maker, household_plan, buffer.getvalue(), name="many.xlsx"), "holds 10 parts")


def test_xlsx_with_external_entities(maker, household_plan):
    content = _xlsx([HEADER, household_rows()[0]])
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "xl/worksheets/sheet1.xml":
                doctype = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                end = data.find(b"?>") + 2 if data.startswith(b"<?xml") else 0
                data = data[:end] + doctype + data[end:]
            archive.writestr(entry, data)
    _failed(upload(maker, household_plan, buffer.getvalue(), name="xxe.xlsx"), "declares a DTD or entities")


def test_xlsx_formula_cells_are_row_errors(maker, household_plan):
    rows = household_rows()
    rows[0][10] = "=SUM(1,2)"
    batch = upload(maker, household_plan, _xlsx([HEADER, *rows]), name="formulas.xlsx")
    error = StagedError.objects.get(batch_id=batch.pk, row_number=2)
    assert error.column == "hh.monthly_income"
    assert "Formulas are not accepted" in error.message
    # Without a valid head, the rest of the household waits too.
    assert StagedError.objects.filter(batch_id=batch.pk, message__contains="has no head").count() == 2


def test_damaged_xlsx(maker, household_plan):
    _failed(upload(maker, household_plan, b"PK\x03\x04 not really a zip", name="broken.xlsx"), "damaged")


def test_old_xls(maker, household_plan):
    _failed(
        upload(maker, household_plan, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, name="old.csv"),
        "old Excel .xls",
    )


def test_wrong_extension_is_refused(maker, household_plan):
    with pytest.raises(ValidationError, match="upload a .csv or .xlsx file"):
        batch_create(
            user=maker, plan=household_plan, file=SimpleUploadedFile("people.pdf", b"%PDF"), background=False
        )


def test_binary_garbage_named_csv(maker, household_plan):
    batch = upload(maker, household_plan, bytes(range(256)) * 50, name="garbage.csv")
    assert batch.state == BatchState.FAILED
    assert batch.error
