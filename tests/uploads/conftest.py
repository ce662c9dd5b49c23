"""Builders for the upload tests: plans the maker manages, files written from rows, a validated batch."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from guardian.shortcuts import assign_perm

from programs.models import BenefitPlan, PlanStatus, PlanType
from uploads.models import ImportBatch
from uploads.services import batch_create, batch_validate

HEADER = [
    "given_name",
    "family_name",
    "sex",
    "birth_date",
    "location_code",
    "national_id",
    "household_code",
    "household_role",
    "primary_recipient",
    "ind.education",
    "hh.monthly_income",
]
PLAN_SCHEMA = {
    "type": "object",
    "properties": {
        "vulnerability": {"type": "string", "enum": ["low", "high"]},
        "score": {"type": "integer", "minimum": 0, "maximum": 100},
    },
    "required": [],
}


def plan_make(code: str, plan_type: str, schema: dict | None = None) -> BenefitPlan:
    return BenefitPlan.objects.create(
        code=code,
        name=f"Plan {code}",
        plan_type=plan_type,
        start_date=date(2025, 1, 1),
        beneficiary_schema=schema or {},
        status=PlanStatus.ACTIVE,
    )


@pytest.fixture
def household_plan(db, maker, checker) -> BenefitPlan:
    plan = plan_make("CASH", PlanType.HOUSEHOLD, PLAN_SCHEMA)
    assign_perm("programs.manage_beneficiaries", maker, plan)
    assign_perm("programs.view_benefitplan", maker, plan)
    assign_perm("programs.view_benefitplan", checker, plan)
    return plan


@pytest.fixture
def individual_plan(db, maker, checker) -> BenefitPlan:
    plan = plan_make("OLDAGE", PlanType.INDIVIDUAL, PLAN_SCHEMA)
    assign_perm("programs.manage_beneficiaries", maker, plan)
    assign_perm("programs.view_benefitplan", maker, plan)
    assign_perm("programs.view_benefitplan", checker, plan)
    return plan


def csv_bytes(
    rows: list[list[str]], *, header: list[str] = HEADER, delimiter: str = ",", encoding: str = "utf-8"
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def household_rows(
    code: str = "H1",
    *,
    family: str = "Diallo",
    location: str = "N-A",
    ids: tuple[str, str, str] = ("ID1", "ID2", "ID3"),
) -> list[list[str]]:
    """A head, a spouse and a child."""
    return [
        ["Amina", family, "F", "1980-04-02", location, ids[0], code, "head", "", "primary", "1200"],
        ["Moussa", family, "M", "1978-01-15", location, ids[1], code, "spouse", "", "secondary", ""],
        ["Fatou", family, "F", "2012-09-30", location, ids[2], code, "child", "", "", ""],
    ]


def upload(user, plan: BenefitPlan, content: bytes, *, name: str = "people.csv", **options) -> ImportBatch:
    """Create the batch and validate it in the foreground, as the background job would."""
    batch = batch_create(
        user=user, plan=plan, file=SimpleUploadedFile(name, content), background=False, **options
    )
    return batch_validate(batch=batch)


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def immediate_tasks(settings) -> None:
    """Background jobs run in-process, through django-tasks, when their transaction commits."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}
    }


def approve(task, checker, capture):
    """The checker approves; the background commit runs when the decision's transaction commits."""
    from approvals.services import task_approve

    with capture(execute=True):
        task_approve(task=task, user=checker)
    task.refresh_from_db()
    return task
