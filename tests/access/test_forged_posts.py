"""Forged writes: an actor outside the record's scope (or without the role) POSTs to a route that writes
domain data; the answer is a refusal and nothing in the database changes. Where a valid body is known, the
same POST by an actor who may do it changes something: the refusal is the scope's, not a malformed body's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from approvals.models import Approval, Task
from intake.models import FieldForm, FieldImport
from jobs.models import Job
from payments.models import (
    Benefit,
    PaymentPoint,
    Payroll,
    ReconciliationBatch,
    VerificationPlan,
    VerificationRecord,
)
from programs.models import Beneficiary, BeneficiaryStatusChange, BenefitPlan
from registry.models import Household, HouseholdMember, Individual, Location, SavedSearch
from tests.access.answers import REFUSED, answer
from tests.access.routes import route_url, routes
from tests.access.world import (
    ANONYMOUS,
    APPROVER_ACTOR,
    AUDITOR_ACTOR,
    OFFICER_A,
    OFFICER_B,
    PROVIDER_A,
    PROVIDER_B,
    SUPERUSER,
    World,
)
from uploads.models import ImportBatch

WATCHED = (
    Task, Approval, Individual, Household, HouseholdMember, Location, SavedSearch, BenefitPlan, Beneficiary,
    BeneficiaryStatusChange, PaymentPoint, Payroll, Benefit, ReconciliationBatch, ImportBatch, Job,
    VerificationPlan, VerificationRecord, FieldForm, FieldImport,
)  # fmt: skip


# Bookkeeping of a key's use (identity.apikeys), written by an accepted key whatever the request does.
BOOKKEEPING = {"key_last_used_at"}


def _fields(model: Any) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields if f.attname not in BOOKKEEPING]


def snapshot(world: World) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the watched tables (the world is small): any write shows up. Of the providers' request
    log, only provider A's: provider B's refused request is recorded as B's own."""
    rows = {
        model.__name__: list(model.objects.order_by("pk").values_list(*_fields(model))) for model in WATCHED
    }
    rows["ReconciliationBatch"] = list(
        ReconciliationBatch.objects.filter(payment_point=world.objects["point"]).order_by("pk").values_list()
    )
    return rows


def _changed(before: dict[str, list[Any]], after: dict[str, list[Any]]) -> list[str]:
    return [name for name in before if before[name] != after[name]]


@dataclass(frozen=True)
class Forged:
    key: str
    actor: str
    data: Callable[[World], dict[str, Any]] = lambda world: {}
    allowed: str | None = None  # an actor whose identical POST must change something
    api: str = ""  # "json" or "multipart" for /api/ routes
    leak: str = ""  # a known leak fixed on another branch: strict xfail
    marks: list[Any] = field(default_factory=list)


def _result_file(world: World) -> dict[str, Any]:
    line = world.objects["pending_benefit"]
    paid_at = (timezone.now() - timedelta(hours=1)).isoformat()
    header = "reference,status,amount_paid,paid_at,transaction_id,reason"
    content = f"{header}\n{line.reference},paid,{line.amount},{paid_at},T9,\n"
    return {"file": SimpleUploadedFile("results.csv", content.encode(), content_type="text/csv")}


def _reconciliation(world: World) -> dict[str, Any]:
    line = world.objects["pending_benefit"]
    paid_at = (timezone.now() - timedelta(hours=1)).isoformat()
    return {"lines": [{"reference": line.reference, "status": "paid", "amount_paid": str(line.amount),
                       "paid_at": paid_at, "transaction_id": "T-forged"}]}  # fmt: skip


def _evidence_batch(world: World) -> dict[str, Any]:
    line = world.objects["pending_benefit"]
    captured_at = (timezone.now() - timedelta(hours=1)).isoformat()
    return {"lines": [{"reference": line.reference, "latitude": 1.5, "longitude": 36.8,
                       "captured_at": captured_at, "agent": "Forger"}]}  # fmt: skip


def _evidence(world: World) -> dict[str, Any]:
    return {"latitude": "1.5", "longitude": "36.8",
            "taken_at": (timezone.now() - timedelta(hours=1)).isoformat(), "agent": "Forger"}  # fmt: skip


def _not_received(world: World) -> dict[str, Any]:
    return {"received": "no", "method": "phone", "comment": "forged"}


def _verification_plan(world: World) -> dict[str, Any]:
    return {"confidence_level": "0.950", "fixed_size": "1", "expected_proportion": "0.5",
            "verifiers": [world.users[OFFICER_A].pk]}  # fmt: skip


# One new text field in the plan's custom-fields form (the world's plan has none yet).
PLAN_FIELDS_BODY = {
    "fields-TOTAL_FORMS": "1", "fields-INITIAL_FORMS": "0", "fields-MIN_NUM_FORMS": "0",
    "fields-MAX_NUM_FORMS": "1000", "fields-0-key": "forged", "fields-0-type": "text",
    "fields-0-label_en": "Forged",
}  # fmt: skip


def _field_export(world: World) -> dict[str, Any]:
    """A minimal ODK Central export of the matrix's field form: one household of North A, its head."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("matrix_survey.csv", "household_code,location_code,KEY\r\nM-F1,N-A,uuid:f1\r\n")
        archive.writestr(
            "matrix_survey-members.csv",
            "given_name,family_name,sex,household_role,PARENT_KEY,KEY\r\n"
            "Forged,Field,F,head,uuid:f1,uuid:f1/members[1]\r\n",
        )
    return {"export": SimpleUploadedFile("matrix_survey.zip", out.getvalue()), "duplicate_mode": "skip"}


FORGED = [
    Forged("admin:approvals_task_approve", OFFICER_B, lambda w: {"comment": "forged"}, APPROVER_ACTOR),
    Forged("admin:approvals_task_approve", AUDITOR_ACTOR, lambda w: {"comment": "forged"}),
    Forged("admin:approvals_task_reject", OFFICER_B, lambda w: {"comment": "forged"}, APPROVER_ACTOR),
    Forged("admin:approvals_task_cancel", OFFICER_B, lambda w: {"comment": "forged"}, OFFICER_A),
    Forged("admin:approvals_task_change", OFFICER_B, lambda w: {"comment": "forged"}),
    Forged(
        "admin:programs_beneficiary_status",
        OFFICER_B,
        lambda w: {"transition": "suspend", "reason": "forged"},
        OFFICER_A,
    ),
    Forged(
        "admin:programs_beneficiary_status", AUDITOR_ACTOR, lambda w: {"transition": "suspend", "reason": "x"}
    ),
    Forged("admin:programs_beneficiary_change", OFFICER_B, lambda w: {"data": "{}"}),
    Forged("admin:programs_benefitplan_close", AUDITOR_ACTOR, lambda w: {"reason": "forged"}, OFFICER_A),
    Forged("admin:programs_benefitplan_fields", AUDITOR_ACTOR, lambda w: PLAN_FIELDS_BODY, OFFICER_A),
    Forged(
        "admin:registry_individual_change", OFFICER_B, lambda w: {"given_name": "Forged", "family_name": "X"}
    ),
    Forged("admin:registry_individual_delete", OFFICER_B, lambda w: {"post": "yes"}),
    Forged(
        "admin:registry_individual_changelist",
        OFFICER_B,
        lambda w: {"action": "delete_selected", "_selected_action": [w.pk("loner")], "post": "yes"},
        SUPERUSER,
    ),
    Forged("admin:registry_household_delete", OFFICER_B, lambda w: {"post": "yes"}),
    Forged("admin:registry_household_change", OFFICER_B, lambda w: {"code": "FORGED"}),
    Forged("admin:registry_location_change", OFFICER_B, lambda w: {"code": "N-A", "name": "Forged"}),
    # A history record page never reverts, not even for the record's own officer.
    Forged("admin:registry_individual_simple_history", OFFICER_A, lambda w: {"given_name": "Reverted"}),
    Forged("admin:registry_individual_simple_history", OFFICER_B, lambda w: {"given_name": "Reverted"}),
    Forged("admin:programs_beneficiary_simple_history", OFFICER_B, lambda w: {"status": "active"}),
    Forged("admin:approvals_task_simple_history", OFFICER_B, lambda w: {"state": "approved"}),
    Forged("admin:payments_payroll_simple_history", OFFICER_B),
    Forged("admin:payments_payroll_simple_history", AUDITOR_ACTOR),
    Forged("admin:payments_paymentplan_simple_history", AUDITOR_ACTOR),
    Forged("admin:payments_paymentpoint_simple_history", AUDITOR_ACTOR),
    Forged("admin:registry_search_delete", OFFICER_B, allowed=OFFICER_A),
    Forged("admin:jobs_job_change", OFFICER_B),
    Forged("admin:payments_payroll_results", OFFICER_B, _result_file, OFFICER_A),
    Forged("admin:payments_payroll_step", OFFICER_B, lambda w: {"reason": "forged"}),
    Forged("admin:payments_benefit_change", OFFICER_B, lambda w: {"status": "paid"}),
    Forged("admin:payments_paymentpoint_key", AUDITOR_ACTOR, allowed=SUPERUSER),
    Forged("admin:uploads_importbatch_validate", OFFICER_B),
    Forged("admin:intake_fieldform_import", AUDITOR_ACTOR, _field_export, OFFICER_A),
    Forged("admin:intake_fieldform_import", APPROVER_ACTOR, _field_export),
    Forged(
        "admin:intake_fieldform_change",
        AUDITOR_ACTOR,
        lambda w: {"title": "Forged", "mapping_lines": "given_name = given_name"},
        OFFICER_A,
    ),
    Forged("admin:payments_verificationrecord_record", OFFICER_B, _not_received, OFFICER_A),
    Forged("admin:payments_verificationrecord_record", AUDITOR_ACTOR, _not_received),
    Forged("admin:payments_verificationrecord_record", APPROVER_ACTOR, _not_received),
    Forged("admin:payments_verificationrecord_change", OFFICER_B, _not_received),
    Forged("admin:payments_verificationplan_step", OFFICER_B),
    Forged("admin:payments_verificationplan_create", OFFICER_B, _verification_plan, OFFICER_A),
    Forged("admin:payments_verificationplan_create", AUDITOR_ACTOR, _verification_plan),
    Forged("api:reconciliation_post", PROVIDER_B, _reconciliation, PROVIDER_A, api="json"),
    Forged("api:reconciliation_post", ANONYMOUS, _reconciliation, api="json"),
    Forged("api:reconciliation_post", SUPERUSER, _reconciliation, api="json"),
    Forged("api:evidence_post", PROVIDER_B, _evidence, PROVIDER_A, api="multipart"),
    Forged("api:evidence_batch_post", PROVIDER_B, _evidence_batch, PROVIDER_A, api="json"),
]


def _post(actors: Any, forged: Forged, actor: str, url: str) -> Any:
    client = actors.client(actor)
    data = forged.data(actors.world)
    if forged.api == "json":
        return client.post(url, json.dumps(data), content_type="application/json",
                           headers={"Idempotency-Key": f"forged-{actor}"})  # fmt: skip
    return client.post(url, data)


def _refused(response: Any, *, api: bool) -> bool:
    """A refusal. The admin may also answer with its page or a redirect and a message saying why (the
    database is checked for that); from the API, a 200 whose every line was rejected counts."""
    if answer(response) in REFUSED or response.status_code in (401, 404, 409, 422):
        return True
    if not api:
        return response.status_code in (200, 302)
    if response.status_code == 200 and response.get("Content-Type", "").startswith("application/json"):
        lines = response.json().get("lines", [])
        return bool(lines) and all(line["result"] == "rejected" for line in lines)
    return False


def _param(forged: Forged) -> Any:
    marks = [pytest.mark.xfail(reason=forged.leak, strict=True)] if forged.leak else []
    return pytest.param(forged, id=f"{forged.key}|{forged.actor}", marks=marks)


@pytest.mark.parametrize("forged", [_param(forged) for forged in FORGED])
def test_forged_post_is_refused_and_changes_nothing(actors, db, forged: Forged) -> None:
    route = {route.key: route for route in routes()}[forged.key]
    url = route_url(actors.world, route)
    before = snapshot(actors.world)
    response = _post(actors, forged, forged.actor, url)
    changed = _changed(before, snapshot(actors.world))
    refused = _refused(response, api=bool(forged.api))
    assert refused, f"POST {url} as {forged.actor} was not refused: {response.status_code}"
    assert not changed, f"POST {url} as {forged.actor} changed {changed}"


@pytest.mark.parametrize("forged", [pytest.param(f, id=f"{f.key}|{f.allowed}") for f in FORGED if f.allowed])
def test_the_same_post_by_an_allowed_actor_writes(actors, db, forged: Forged) -> None:
    route = {route.key: route for route in routes()}[forged.key]
    url = route_url(actors.world, route)
    before = snapshot(actors.world)
    response = _post(actors, forged, forged.allowed, url)
    assert response.status_code in (200, 302), f"POST {url} as {forged.allowed}: {response.status_code}"
    if forged.api:
        assert not _refused(response, api=True), response.content
    assert _changed(before, snapshot(actors.world)), f"POST {url} as {forged.allowed} changed nothing"
