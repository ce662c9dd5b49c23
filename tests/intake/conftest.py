"""Builders for the field-collection tests: a form of the household plan, and hand-made exports of it the
way ODK Central (zip of CSVs, OData JSON) and KoboToolbox (XLSX, API JSON) write them."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from intake.models import FieldForm
from intake.services import field_form_create, field_import
from tests.uploads.conftest import household_plan, immediate_tasks, individual_plan, media_root  # noqa: F401
from uploads.models import ImportBatch
from uploads.services import batch_validate

HOUSEHOLD_COLUMNS = ["household_code", "location_code", "hh_monthly_income", "hh_water_source"]
MEMBER_COLUMNS = [
    "given_name",
    "family_name",
    "sex",
    "birth_date",
    "national_id",
    "household_role",
    "ind_education",
]


@pytest.fixture
def field_form(maker, household_plan) -> FieldForm:  # noqa: F811
    return field_form_create(
        user=maker, plan=household_plan, form_id="hh_survey", version="2026-01", title="Survey"
    )


def submission(key: str, code: str, members: list[list[str]], *, location: str = "N-A", income: str = "1200"):
    """A household (household columns) and its members (member columns)."""
    return key, [code, location, income, "well"], members


def family(prefix: str, ids: tuple[str, str] = ("ID1", "ID2")) -> list[list[str]]:
    return [
        ["Amina", prefix, "F", "1980-04-02", ids[0], "head", "primary"],
        ["Moussa", prefix, "M", "1978-01-15", ids[1], "spouse", "secondary"],
    ]


SUBMISSIONS = [
    submission("uuid:aaa", "H1", family("Diallo", ("ID1", "ID2"))),
    submission("uuid:bbb", "H2", family("Sow", ("ID3", "ID4"))),
]


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def central_csvs(
    submissions=SUBMISSIONS,
    *,
    household_columns: list[str] = HOUSEHOLD_COLUMNS,
    member_columns: list[str] = MEMBER_COLUMNS,
    parent_of: dict[str, str] | None = None,
) -> tuple[bytes, bytes]:
    """ODK Central's two CSVs: submissions (with SubmissionDate, meta-instanceID, KEY) and members."""
    main_header = ["SubmissionDate", *household_columns, "meta-instanceID", "KEY", "SubmitterID"]
    main = [["2026-11-30T10:00:00Z", *cells, key, key, "5"] for key, cells, _members in submissions]
    repeat_header = [*member_columns, "PARENT_KEY", "KEY"]
    repeat = []
    for key, _cells, members in submissions:
        for index, member in enumerate(members, start=1):
            parent = (parent_of or {}).get(f"{key}/{index}", key)
            repeat.append([*member, parent, f"{key}/members[{index}]"])
    return _csv(main_header, main), _csv(repeat_header, repeat)


def central_zip(submissions=SUBMISSIONS, **options: Any) -> bytes:
    main, repeat = central_csvs(submissions, **options)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hh_survey.csv", main)
        archive.writestr("hh_survey-members.csv", repeat)
    return out.getvalue()


def kobo_xlsx(submissions=SUBMISSIONS) -> bytes:
    """KoboToolbox's XLSX: the submissions sheet (_index, _uuid) and a `members` sheet (_parent_index),
    with group paths in the repeat's headers."""
    workbook = Workbook()
    main = workbook.active
    main.title = "Household survey"
    main.append(["start", *HOUSEHOLD_COLUMNS, "_id", "_uuid", "_submission_time", "_index"])
    repeat = workbook.create_sheet("members")
    repeat.append(
        [f"members/{name}" for name in MEMBER_COLUMNS] + ["_index", "_parent_table_name", "_parent_index"]
    )
    member_index = 0
    for index, (key, cells, members) in enumerate(submissions, start=1):
        main.append(
            ["2026-11-30", *[int(cell) if cell.isdigit() else cell for cell in cells], index, key, "x", index]
        )
        for member in members:
            member_index += 1
            repeat.append([*member, member_index, "Household survey", index])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def odata_json(submissions=SUBMISSIONS) -> bytes:
    """ODK Central's OData (with $expand=*): groups as objects, the repeat as a nested array."""
    value = []
    for key, cells, members in submissions:
        record: dict[str, Any] = {"__id": key, "__system": {"submitterId": "5"}, "meta": {"instanceID": key}}
        record.update(dict(zip(HOUSEHOLD_COLUMNS, cells, strict=True)))
        record["hh_monthly_income"] = int(record["hh_monthly_income"])
        record["members"] = [
            {**dict(zip(MEMBER_COLUMNS, member, strict=True)), "__id": f"{key}-{index}"}
            for index, member in enumerate(members)
        ]
        value.append(record)
    return json.dumps({"@odata.context": "x", "value": value}).encode()


def kobo_json(submissions=SUBMISSIONS) -> bytes:
    """KoboToolbox's API: flat keys with group paths, the repeat as a list of objects."""
    results = []
    for index, (key, cells, members) in enumerate(submissions, start=1):
        record: dict[str, Any] = {"_id": index, "_uuid": key, "formhub/uuid": "f", "meta/instanceID": key}
        record.update(dict(zip(HOUSEHOLD_COLUMNS, cells, strict=True)))
        record["members"] = [
            {f"members/{name}": cell for name, cell in zip(MEMBER_COLUMNS, member, strict=True)}
            for member in members
        ]
        results.append(record)
    return json.dumps({"count": len(results), "results": results}).encode()


def intake(user, form: FieldForm, *files: tuple[str, bytes], **options: Any) -> ImportBatch:
    """Import and validate in the foreground, as the background job would."""
    batch = field_import(
        user=user,
        form=form,
        files=[SimpleUploadedFile(name, content) for name, content in files],
        background=False,
        **options,
    )
    return batch_validate(batch=batch)
