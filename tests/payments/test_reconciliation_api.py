"""The reconciliation API: provider key, per-line validation, idempotency, limits, delivery evidence."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from payments.models import (
    Benefit,
    BenefitStatus,
    PaymentPoint,
    PaymentPointType,
    PayrollStatus,
    ReconciliationBatch,
)
from payments.services import MAX_LINES, payment_point_key_rotate
from tests.conftest import make_user
from tests.payments.conftest import World, generate, make_payment_plan, sent_payroll

URL = "/api/payments/reconciliations"


def post(client: Client, key: str, body, *, idempotency: str | None = "k1"):
    headers = {"HTTP_X_API_KEY": key}
    if idempotency is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = idempotency
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", **headers)


def paid(benefit: Benefit, **changes) -> dict:
    line = {
        "reference": benefit.reference,
        "status": "paid",
        "amount_paid": str(benefit.amount),
        "paid_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "transaction_id": f"T{benefit.pk}",
    }
    return {**line, **changes}


@pytest.fixture
def payroll(world: World):
    return sent_payroll(world)


@pytest.fixture
def lines(payroll):
    return list(Benefit.objects.filter(payroll=payroll).order_by("pk"))


def test_paid_and_failed_lines_are_recorded(client: Client, world: World, payroll, lines) -> None:
    body = {
        "lines": [
            paid(lines[0]),
            {"reference": lines[1].reference, "status": "failed", "reason": "No wallet"},
        ]
    }
    response = post(client, world.key, body)
    assert response.status_code == 200, response.content
    assert response.json()["counts"] == {"accepted": 2, "unchanged": 0, "rejected": 0}
    lines[0].refresh_from_db()
    lines[1].refresh_from_db()
    assert lines[0].status == BenefitStatus.PAID and lines[0].amount_paid == lines[0].amount
    assert lines[0].transaction_id == f"T{lines[0].pk}" and lines[0].reconciled_at
    assert lines[1].status == BenefitStatus.FAILED and lines[1].failure_reason == "No wallet"
    payroll.refresh_from_db()
    assert payroll.status == PayrollStatus.RECONCILING
    post(client, world.key, {"lines": [paid(lines[2])]}, idempotency="k2")
    payroll.refresh_from_db()
    assert payroll.status == PayrollStatus.RECONCILED


def test_a_replay_returns_the_first_answer_and_changes_nothing(client: Client, world: World, lines) -> None:
    body = {"lines": [paid(lines[0])]}
    first = post(client, world.key, body)
    Benefit.objects.filter(pk=lines[0].pk).update(transaction_id="changed-meanwhile")
    again = post(client, world.key, body)
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json()["lines"] == first.json()["lines"] and again.json()["replayed"] is True
    assert Benefit.objects.get(pk=lines[0].pk).transaction_id == "changed-meanwhile"
    other = post(client, world.key, {"lines": [paid(lines[1])]})
    assert other.status_code == 409 and "different request" in other.json()["detail"]


def test_each_bad_line_is_answered_with_its_reason(client: Client, world: World, tree, lines) -> None:
    other_point = PaymentPoint.objects.create(name="Bank South", point_type=PaymentPointType.BANK)
    admin = make_user("root2", superuser=True)
    other_key = payment_point_key_rotate(user=admin, payment_point=other_point)
    future = (timezone.now() + timedelta(days=2)).isoformat()
    body = {
        "lines": [
            paid(lines[0], reference="NOPE-1"),
            paid(lines[0], amount_paid="1.00"),
            paid(lines[0], amount_paid="-5"),
            paid(lines[0], paid_at=future),
            {"reference": lines[1].reference, "status": "failed"},
            {"reference": lines[1].reference, "status": "paid"},
            paid(lines[2]),
            paid(lines[2]),
        ]
    }
    answers = post(client, world.key, body).json()["lines"]
    errors = [answer["error"] for answer in answers]
    assert "Unknown reference" in errors[0]
    assert "differs from the amount issued" in errors[1]
    assert "must not be negative" in errors[2]
    assert "future" in errors[3]
    assert "needs a reason" in errors[4]
    assert "needs amount_paid and paid_at" in errors[5]
    assert answers[6]["result"] == "accepted"
    assert "appears twice" in errors[7]
    foreign = post(client, other_key, {"lines": [paid(lines[0])]}).json()["lines"][0]
    assert "not a line of your payment point" in foreign["error"]
    assert Benefit.objects.filter(status=BenefitStatus.PAID).count() == 1


def test_a_line_reconciled_differently_is_refused_and_the_same_result_is_unchanged(
    client: Client, world: World, lines
) -> None:
    line = paid(lines[0])
    post(client, world.key, {"lines": [line]}, idempotency="a")
    same = post(client, world.key, {"lines": [line]}, idempotency="b").json()["lines"][0]
    assert same["result"] == "unchanged"
    other = post(
        client,
        world.key,
        {"lines": [{"reference": lines[0].reference, "status": "failed", "reason": "x"}]},
        idempotency="c",
    ).json()["lines"][0]
    assert other["result"] == "rejected" and "already reconciled as paid" in other["error"]


def test_a_payroll_not_sent_is_not_payable(client: Client, world: World) -> None:
    payroll = generate(world, make_payment_plan(world))
    line = Benefit.objects.filter(payroll=payroll).first()
    answer = post(client, world.key, {"lines": [paid(line)]}).json()["lines"][0]
    assert answer["result"] == "rejected" and "not payable" in answer["error"]


@pytest.mark.parametrize("key", ["", "wrong-key"])
def test_a_wrong_key_is_refused(client: Client, world: World, lines, key: str) -> None:
    response = post(client, key, {"lines": [paid(lines[0])]})
    assert response.status_code == 401
    assert not Benefit.objects.filter(status=BenefitStatus.PAID).exists()


def test_request_level_errors(client: Client, world: World, lines) -> None:
    assert post(client, world.key, "{not json").status_code == 400
    missing = post(client, world.key, {"lines": [paid(lines[0])]}, idempotency=None)
    assert missing.status_code == 422
    assert post(client, world.key, {"lines": []}).status_code == 422
    assert post(client, world.key, {"lines": [paid(lines[0], status="lost")]}).status_code == 422
    too_many = post(client, world.key, {"lines": [paid(lines[0])] * (MAX_LINES + 1)})
    assert too_many.status_code == 413 and "At most 10,000 lines" in too_many.json()["detail"]
    assert not Benefit.objects.filter(status=BenefitStatus.PAID).exists()


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def evidence(client: Client, key: str, reference: str, **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {
        "latitude": "-1.2921",
        "longitude": "36.8219",
        "taken_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
        "agent": "Agent Wanjiru",
        "photo": SimpleUploadedFile("p.png", PNG, content_type="image/png"),
    }
    data.update(fields)
    return client.post(f"/api/payments/benefits/{reference}/evidence", data=data, HTTP_X_API_KEY=key)


def test_delivery_evidence_is_stored_with_the_line(
    client: Client, world: World, lines, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    response = evidence(client, world.key, lines[0].reference)
    assert response.status_code == 200, response.content
    lines[0].refresh_from_db()
    assert lines[0].evidence_agent == "Agent Wanjiru" and str(lines[0].evidence_latitude) == "-1.292100"
    assert lines[0].evidence_photo.name.endswith(".png")


def test_bad_evidence_is_refused(client: Client, world: World, lines, settings, tmp_path) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    not_image = SimpleUploadedFile("p.png", b"GIF89a....", content_type="image/png")
    assert "JPEG or PNG" in evidence(client, world.key, lines[0].reference, photo=not_image).json()["detail"]
    big = SimpleUploadedFile("p.png", PNG + b"\x00" * (2 * 1024 * 1024), content_type="image/png")
    assert "larger than" in evidence(client, world.key, lines[0].reference, photo=big).json()["detail"]
    future = (timezone.now() + timedelta(days=1)).isoformat()
    assert "future" in evidence(client, world.key, lines[0].reference, taken_at=future).json()["detail"]
    assert evidence(client, world.key, lines[0].reference, latitude="95").status_code == 422
    assert evidence(client, world.key, "NOPE").json()["detail"].startswith("Unknown reference")
    assert evidence(client, "bad", lines[0].reference).status_code == 401
    lines[0].refresh_from_db()
    assert not lines[0].evidence_agent


def test_openapi_docs_are_served(client: Client, db) -> None:
    schema = client.get("/api/openapi.json").json()
    assert "/api/payments/reconciliations" in schema["paths"]
    assert client.get("/api/docs").status_code == 200


def test_a_line_reconciled_by_a_racing_request_is_not_written_twice(
    client: Client, world: World, lines, monkeypatch
) -> None:
    from payments.services import reconciliation

    read = reconciliation._issued_lines

    def read_then_race(references, *args):  # type: ignore[no-untyped-def]
        issued = read(references, *args)
        Benefit.objects.filter(pk=lines[0].pk).update(status=BenefitStatus.PAID, transaction_id="OTHER")
        return issued

    monkeypatch.setattr(reconciliation, "_issued_lines", read_then_race)
    answer = post(client, world.key, {"lines": [paid(lines[0])]}).json()
    assert answer["lines"][0]["result"] == "rejected" and "meanwhile" in answer["lines"][0]["error"]
    assert answer["counts"]["rejected"] == 1
    assert Benefit.objects.get(pk=lines[0].pk).transaction_id == "OTHER"


def test_text_the_database_cannot_store_is_refused(client: Client, world: World, lines) -> None:
    body = {"lines": [paid(lines[0], reference="PR\u00001"), paid(lines[2])]}
    response = post(client, world.key, body)
    answer = response.json()
    assert response.status_code == 200, answer
    assert [line["result"] for line in answer["lines"]] == ["rejected", "accepted"]
    assert "not text" in answer["lines"][0]["error"] and "\x00" not in answer["lines"][0]["reference"]
    broken = post(client, world.key, {"lines": [paid(lines[1], transaction_id="T\ud800")]}, idempotency="k2")
    assert broken.status_code == 422 and broken.json()["errors"][0]["pointer"].endswith("/transaction_id")
    assert evidence(client, world.key, "PR\u00001").status_code == 422


def test_provider_requests_are_listed_read_only_in_the_admin(
    client: Client, world: World, lines, auditor
) -> None:
    post(client, world.key, {"lines": [paid(lines[0]), paid(lines[1])]}, idempotency="batch-7")
    client.force_login(auditor)
    listing = client.get("/admin/payments/reconciliationbatch/")
    assert listing.status_code == 200
    assert b"batch-7" in listing.content
    batch = ReconciliationBatch.objects.get(idempotency_key="batch-7")
    assert listing.context["cl"].result_list[0].pk == batch.pk
    page = client.get(f"/admin/payments/reconciliationbatch/{batch.pk}/change/")
    assert page.status_code == 200 and b"accepted" in page.content
    # Nobody edits or forges a provider's request in the admin.
    assert client.get("/admin/payments/reconciliationbatch/add/").status_code == 403
    client.post(f"/admin/payments/reconciliationbatch/{batch.pk}/change/", {"idempotency_key": "x"})
    batch.refresh_from_db()
    assert batch.idempotency_key == "batch-7"
