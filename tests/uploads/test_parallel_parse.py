"""Large files are parsed by worker processes: same staged rows and errors, in file order, as one process gives."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection

from programs.models import BenefitPlan
from tests.uploads.conftest import HEADER, csv_bytes, household_rows, upload
from uploads import parallel
from uploads.columns import columns_for
from uploads.models import StagedError, StagedRow
from uploads.parsing import LocationResolver, RowParser


def _rows() -> list[list[str]]:
    rows: list[list[str]] = []
    for number in range(40):
        rows += household_rows(f"H{number}", ids=(f"A{number}", f"B{number}", f"C{number}"))
    rows[4][3] = "31/02/1990"  # not a date
    rows[10] = [""] * len(HEADER)  # a blank line is skipped
    rows[17][2] = "Q"  # not a sex
    rows[30][4] = "NOWHERE"  # no such location
    return rows


def _parser(plan: BenefitPlan) -> RowParser:
    return RowParser(
        header=HEADER,
        columns=columns_for(plan),
        date_format="iso",
        batch_id=7,
        household_plan=True,
        locations=LocationResolver(scope_paths=None),
    )


def test_workers_give_the_same_copy_text_as_one_process(household_plan, monkeypatch):
    monkeypatch.setattr(parallel, "CHUNK_ROWS", 7)  # many chunks, finished out of order by two workers
    rows = list(enumerate(_rows(), start=2))
    serial = [parallel.rows_copy_text(_parser(household_plan), rows)]
    written: list[tuple[str, str]] = []
    staged = parallel.rows_parse_parallel(
        parser=_parser(household_plan),
        rows=iter(rows),
        workers=2,
        write=lambda rows_text, errors_text: written.append((rows_text, errors_text)),
        progress=lambda done: None,
    )
    assert staged == len(rows) - 1 == serial[0][0]
    assert len(written) == 18  # 119 rows in chunks of 7
    assert "".join(text for text, _ in written) == serial[0][1]
    errors = [line.split("\t") for line in "".join(text for _, text in written).splitlines()]
    assert [(int(number), column) for _, number, column, _ in errors] == [
        (6, "birth_date"),
        (19, "sex"),
        (32, "location_code"),
    ]
    assert "".join(text for _, text in written) == serial[0][2]


def test_a_worker_failure_reaches_the_caller(household_plan, monkeypatch):
    parser = _parser(household_plan)

    def broken(number, cells):
        raise RuntimeError(f"parser broke on row {number}")

    monkeypatch.setattr(parser, "parse", broken)
    with pytest.raises(RuntimeError, match="parser broke on row 2"):
        parallel.rows_parse_parallel(
            parser=parser, rows=iter([(2, ["a"])]), workers=2, write=lambda *texts: None, progress=print
        )


def test_workers_only_for_large_files_on_postgresql(settings):
    settings.UPLOADS_PARSE_WORKERS = None
    assert parallel.workers_count(parallel.MIN_ROWS - 1) == 0
    if connection.vendor != "postgresql":
        assert parallel.workers_count(10_000_000) == 0  # SQLite: rows go through executemany in this process
        return
    assert parallel.workers_count(10_000_000) >= (2 if parallel._cores() > 1 else 0)
    settings.UPLOADS_PARSE_WORKERS = 0
    assert parallel.workers_count(10_000_000) == 0


def test_a_validation_through_workers_stages_what_one_process_stages(
    maker, household_plan, settings, monkeypatch
):
    content = csv_bytes(_rows())
    settings.UPLOADS_PARSE_WORKERS = 0
    alone = upload(maker, household_plan, content)
    settings.UPLOADS_PARSE_WORKERS = 2
    monkeypatch.setattr(parallel, "MIN_ROWS", 1)
    monkeypatch.setattr(parallel, "CHUNK_ROWS", 10)
    workers = upload(maker, household_plan, content)
    if connection.vendor == "postgresql":
        assert parallel.workers_count(100) == 2  # the second upload went through the workers

    def staged(batch):
        return list(
            StagedRow.objects.filter(batch_id=batch.pk)
            .order_by("row_number")
            .values_list("row_number", "status", "given_name", "birth_date", "location_id", "hh_data")
        )

    def errors(batch):
        return sorted(
            StagedError.objects.filter(batch_id=batch.pk).values_list("row_number", "column", "message")
        )

    assert staged(workers) == staged(alone)
    assert errors(workers) == errors(alone)
    assert len(errors(alone)) >= 3
    assert (workers.total_rows, workers.new_rows, workers.error_rows) == (
        alone.total_rows,
        alone.new_rows,
        alone.error_rows,
    )


def test_cells_with_tabs_line_breaks_and_backslashes_are_staged_as_read(
    maker, household_plan, settings, monkeypatch
):
    """COPY's text format escapes them; rows without them are written unescaped."""
    household_plan.beneficiary_schema = {
        "type": "object",
        "properties": {
            "note": {"type": "string"},
            "vulnerability": {"type": "string", "enum": ["low", "high"]},
        },
    }
    household_plan.save()
    header = [*HEADER[:5], "other_names", "phone", *HEADER[5:], "plan.note"]
    rows = [
        [
            "Back\\slash",
            "Tab\there",
            "F",
            "1980-04-02",
            "N-A",
            "line\nbreak",
            "\\N",
            "A1",
            "H1",
            "head",
            "",
            "",
            "",
            'say "hi"\\',
        ],
        ["Awa", "Sow", "M", "1978-01-15", "N-A", "", "", "A2", "H1", "spouse", "", "", "", "plain"],
        ["Bad\\", "Row", "Q", "31/02/1990", "N-A", "", "", "A3", "H1", "child", "", "", "", "crlf\r\nnote"],
    ]
    content = csv_bytes(rows, header=header)
    expected_raw = ["\x1f".join(row) for row in rows]

    def staged(batch):
        return list(
            StagedRow.objects.filter(batch_id=batch.pk)
            .order_by("row_number")
            .values_list(
                "raw", "given_name", "family_name", "other_names", "phone", "birth_date", "plan_data"
            )
        )

    settings.UPLOADS_PARSE_WORKERS = 0
    alone = upload(maker, household_plan, content)
    assert staged(alone) == [
        (
            expected_raw[0],
            "Back\\slash",
            "Tab here",
            "line break",
            "\\N",
            date(1980, 4, 2),
            '{"note": "say \\"hi\\"\\\\"}',
        ),
        (expected_raw[1], "Awa", "Sow", "", "", date(1978, 1, 15), '{"note": "plain"}'),
        (expected_raw[2], "Bad\\", "Row", "", "", None, '{"note": "crlf\\r\\nnote"}'),
    ]
    assert sorted(StagedError.objects.filter(batch_id=alone.pk).values_list("row_number", "column")) == [
        (4, "birth_date"),
        (4, "sex"),
    ]
    settings.UPLOADS_PARSE_WORKERS = 2
    monkeypatch.setattr(parallel, "MIN_ROWS", 1)
    workers = upload(maker, household_plan, content)
    assert staged(workers) == staged(alone)
