"""Delivery evidence for many lines in one request: answers per line with JSON pointers, limits, replays."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from payments.models import (
    Benefit,
    PaymentPlan,
    PaymentPoint,
    PaymentPointType,
    ProviderRequestKind,
    ReconciliationBatch,
)
from payments.services import (
    MAX_EVIDENCE_BYTES,
    MAX_EVIDENCE_LINES,
    MAX_PHOTO_BYTES,
    evidence_batch_apply,
    payment_point_key_rotate,
)
from tests.conftest import make_user
from tests.payments.conftest import World, generate, sent_payroll

URL = "/api/payments/evidence"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def post(client: Client, key: str, body, *, idempotency: str | None = "e1"):
    headers = {"HTTP_X_API_KEY": key}
    if idempotency is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = idempotency
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", **headers)


def line(benefit: Benefit | str, **changes) -> dict:
    return {
        "reference": benefit if isinstance(benefit, str) else benefit.reference,
        "latitude": -1.2921,
        "longitude": 36.8219,
        "captured_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
        "agent": "Agent Wanjiru",
        "photo": base64.b64encode(PNG).decode(),
        **changes,
    }


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def lines(world: World) -> list[Benefit]:
    return list(Benefit.objects.filter(payroll=sent_payroll(world)).order_by("pk"))


def test_evidence_for_many_lines_is_stored_in_one_request(client: Client, world: World, lines) -> None:
    body = {
        "lines": [
            line(lines[0]),
            line(lines[1], photo=None, latitude="0.5", longitude="-10"),
            line(lines[2], photo="data:image/jpeg;base64," + base64.b64encode(JPEG).decode()),
        ]
    }
    response = post(client, world.key, body)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["counts"] == {"accepted": 3, "rejected": 0} and answer["replayed"] is False
    assert [a["reference"] for a in answer["lines"]] == [b.reference for b in lines]
    for benefit in lines:
        benefit.refresh_from_db()
    assert lines[0].evidence_agent == "Agent Wanjiru" and str(lines[0].evidence_latitude) == "-1.292100"
    assert lines[0].evidence_photo.name.endswith(".png") and lines[0].evidence_photo.read() == PNG
    assert not lines[1].evidence_photo and str(lines[1].evidence_longitude) == "-10.000000"
    assert lines[2].evidence_photo.name.endswith(".jpg")
    assert all(b.evidence_at is not None for b in lines)


def errors_of(answer: dict) -> dict[str, str]:
    return {error["pointer"]: error["detail"] for error in answer["errors"]}


BAD_FIELDS = [
    ({"latitude": 95}, "latitude", "from -90 to 90"),
    ({"latitude": "north"}, "latitude", "from -90 to 90"),
    ({"latitude": "NaN"}, "latitude", "from -90 to 90"),
    ({"latitude": True}, "latitude", "from -90 to 90"),
    ({"latitude": None}, "latitude", "from -90 to 90"),
    ({"longitude": -180.5}, "longitude", "from -180 to 180"),
    ({"longitude": [1]}, "longitude", "from -180 to 180"),
    ({"captured_at": "yesterday"}, "captured_at", "ISO 8601"),
    ({"captured_at": 12}, "captured_at", "ISO 8601"),
    ({"captured_at": "2999-01-01T00:00:00Z"}, "captured_at", "future"),
    ({"captured_at": "0001-01-01T00:00:00+14:00"}, "captured_at", "before 2000"),
    ({"captured_at": "2026-01-01T10:00\x00"}, "captured_at", "ISO 8601"),
    ({"agent": ""}, "agent", "Name the agent"),
    ({"agent": "   "}, "agent", "Name the agent"),
    ({"agent": 7}, "agent", "Name the agent"),
    ({"agent": "A\x00B"}, "agent", "Name the agent"),
    ({"agent": "x" * 201}, "agent", "longer than 200"),
    ({"photo": "not base64!"}, "photo", "not valid base64"),
    ({"photo": 12}, "photo", "base64 text"),
    ({"photo": base64.b64encode(b"GIF89a....").decode()}, "photo", "JPEG or PNG"),
    ({"photo": base64.b64encode(PNG + b"\x00" * MAX_PHOTO_BYTES).decode()}, "photo", "larger than 2 MB"),
    ({"reference": ""}, "reference", "missing"),
    ({"reference": None}, "reference", "missing"),
    ({"reference": "NOPE"}, "reference", "Unknown reference NOPE"),
    ({"reference": "PR1-\x00"}, "reference", "missing or not text"),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_FIELDS)
def test_each_bad_field_is_answered_with_its_pointer_and_the_good_lines_are_stored(
    client: Client, world: World, lines, changes: dict, field: str, message: str
) -> None:
    response = post(client, world.key, {"lines": [line(lines[0]), line(lines[1], **changes)]})
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["counts"] == {"accepted": 1, "rejected": 1}
    assert answer["lines"][0]["result"] == "accepted"
    bad = answer["lines"][1]
    assert bad["result"] == "rejected" and bad["index"] == 1
    errors = errors_of(bad)
    assert list(errors) == [f"/lines/1/{field}"] and message in errors[f"/lines/1/{field}"]
    lines[0].refresh_from_db()
    lines[1].refresh_from_db()
    assert lines[0].evidence_agent == "Agent Wanjiru" and not lines[1].evidence_agent
    assert not lines[1].evidence_photo


def test_every_bad_field_of_a_line_is_listed(client: Client, world: World, lines) -> None:
    bad = line(lines[0], latitude=100, longitude="east", agent="", photo="%%%")
    answer = post(client, world.key, {"lines": [bad]}).json()["lines"][0]
    assert list(errors_of(answer)) == [
        "/lines/0/latitude",
        "/lines/0/longitude",
        "/lines/0/agent",
        "/lines/0/photo",
    ]


def test_lines_of_another_provider_a_payroll_not_sent_and_repeats_are_refused(
    client: Client, world: World, lines, tree
) -> None:
    other = PaymentPoint.objects.create(name="Other bank", point_type=PaymentPointType.BANK)
    other_key = payment_point_key_rotate(user=make_user("ops", superuser=True), payment_point=other)
    answer = post(client, other_key, {"lines": [line(lines[0])]}).json()["lines"][0]
    assert errors_of(answer) == {
        "/lines/0/reference": f"{lines[0].reference} is not a line of your payment point."
    }

    world.cycle = world.cycle.__class__.objects.create(
        code="2026-02", start_date=world.cycle.start_date, end_date=world.cycle.end_date
    )
    draft = Benefit.objects.filter(payroll=generate(world, PaymentPlan.objects.get())).first()
    answer = post(client, world.key, {"lines": [line(draft)]}, idempotency="e2").json()["lines"][0]
    assert "is not payable" in errors_of(answer)["/lines/0/reference"]

    twice = post(client, world.key, {"lines": [line(lines[0]), line(lines[0])]}, idempotency="e3").json()
    assert twice["counts"] == {"accepted": 1, "rejected": 1}
    assert "appears twice" in errors_of(twice["lines"][1])["/lines/1/reference"]


def test_a_replay_returns_the_first_answer_and_changes_nothing(client: Client, world: World, lines) -> None:
    body = {"lines": [line(lines[0]), line("NOPE")]}
    first = post(client, world.key, body)
    Benefit.objects.filter(pk=lines[0].pk).update(evidence_agent="changed since")
    again = post(client, world.key, body)
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == {**first.json(), "replayed": True}
    lines[0].refresh_from_db()
    assert lines[0].evidence_agent == "changed since"
    other = post(client, world.key, {"lines": [line(lines[1])]})
    assert other.status_code == 409 and "different request" in other.json()["detail"]
    assert ReconciliationBatch.objects.filter(kind=ProviderRequestKind.EVIDENCE).count() == 1


def test_evidence_and_results_keep_their_keys_apart(client: Client, world: World, lines) -> None:
    evidence = post(client, world.key, {"lines": [line(lines[0])]}, idempotency="same")
    results = client.post(
        "/api/payments/reconciliations",
        data=json.dumps({"lines": [{"reference": lines[1].reference, "status": "failed", "reason": "away"}]}),
        content_type="application/json",
        HTTP_X_API_KEY=world.key,
        HTTP_IDEMPOTENCY_KEY="same",
    )
    assert evidence.status_code == 200 and results.status_code == 200
    assert results.json()["counts"]["accepted"] == 1 and results.json()["replayed"] is False


def test_request_level_errors(client: Client, world: World, lines) -> None:
    assert post(client, world.key, "{not json").status_code == 400
    assert post(client, world.key, {"lines": [line(lines[0])]}, idempotency=None).status_code == 422
    assert post(client, world.key, {"lines": []}).status_code == 422
    not_an_object = post(client, world.key, {"lines": ["a line"]}, idempotency="e2")
    assert not_an_object.status_code == 200  # answered as a line with every field missing
    assert list(errors_of(not_an_object.json()["lines"][0]))[:2] == [
        "/lines/0/reference",
        "/lines/0/latitude",
    ]
    assert post(client, world.key, {"nothing": 1}).status_code == 422
    assert post(client, "wrong", {"lines": [line(lines[0])]}).status_code == 401
    too_many = post(client, world.key, {"lines": [line(lines[0], photo=None)] * (MAX_EVIDENCE_LINES + 1)})
    assert too_many.status_code == 413 and f"At most {MAX_EVIDENCE_LINES} lines" in too_many.json()["detail"]
    photo = base64.b64encode(PNG + b"\x00" * (MAX_PHOTO_BYTES - 200)).decode()
    count = MAX_EVIDENCE_BYTES // len(photo) + 1
    too_big = post(client, world.key, {"lines": [line(b, photo=photo) for b in lines[:1]] * count})
    assert too_big.status_code == 413 and "MB of photos per request" in too_big.json()["detail"]
    assert not Benefit.objects.exclude(evidence_agent="").exists()
    assert ReconciliationBatch.objects.get().idempotency_key == "e2"


def test_one_transaction_per_request(world: World, lines, monkeypatch) -> None:
    """A failure while writing leaves no line changed and no answer kept: the request can be sent again."""
    from django.db.models import QuerySet

    real = QuerySet.bulk_update

    def write_then_fail(self, objs, fields, batch_size=None):  # type: ignore[no-untyped-def]
        real(self, objs, fields, batch_size)
        raise RuntimeError("disk full")

    monkeypatch.setattr(QuerySet, "bulk_update", write_then_fail)
    with pytest.raises(RuntimeError):
        evidence_batch_apply(
            payment_point=world.point, idempotency_key="t1", lines=[line(lines[0]), line(lines[1])]
        )
    assert not Benefit.objects.exclude(evidence_agent="").exists()
    assert not ReconciliationBatch.objects.exists()
    monkeypatch.setattr(QuerySet, "bulk_update", real)
    answer, replayed = evidence_batch_apply(
        payment_point=world.point, idempotency_key="t1", lines=[line(lines[0])]
    )
    assert answer["counts"]["accepted"] == 1 and not replayed


def test_the_single_line_endpoint_still_works(client: Client, world: World, lines) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        f"/api/payments/benefits/{lines[0].reference}/evidence",
        data={
            "latitude": "1",
            "longitude": "2",
            "taken_at": (timezone.now() - timedelta(minutes=1)).isoformat(),
            "agent": "Agent",
            "photo": SimpleUploadedFile("p.jpg", JPEG, content_type="image/jpeg"),
        },
        HTTP_X_API_KEY=world.key,
    )
    assert response.status_code == 200, response.content
    early = client.post(
        f"/api/payments/benefits/{lines[1].reference}/evidence",
        data={"latitude": "1", "longitude": "2", "taken_at": "1999-12-31T23:00:00Z", "agent": "Agent"},
        HTTP_X_API_KEY=world.key,
    )
    assert early.status_code == 422 and "before 2000" in early.json()["detail"]


def test_the_batch_endpoint_is_in_the_openapi_schema(client: Client, db) -> None:
    schema = client.get("/api/openapi.json").json()
    operation = schema["paths"]["/api/payments/evidence"]["post"]
    assert set(operation["responses"]) == {"200", "401", "409", "413", "422"}
