"""Inputs schemathesis found (or could find) that once made the payments API fail with a server error."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from payments.models import Benefit, BenefitStatus
from tests.payments.conftest import World, sent_payroll

# Year 1 east of UTC is before year 1 in UTC: PostgreSQL stores it (as 1 BC), Python cannot read it back,
# so every later read of the line failed; SQLite failed already while converting it to UTC.
BEFORE_YEAR_ONE_IN_UTC = "0001-01-01T00:00:00+01:00"


@pytest.fixture
def lines(world: World, settings, tmp_path) -> list[Benefit]:
    settings.MEDIA_ROOT = tmp_path
    return list(Benefit.objects.filter(payroll=sent_payroll(world)).order_by("pk"))


def evidence(client: Client, key: str, reference: str, taken_at: str):
    data = {"latitude": "1", "longitude": "2", "taken_at": taken_at, "agent": "Agent"}
    return client.post(f"/api/payments/benefits/{reference}/evidence", data=data, HTTP_X_API_KEY=key)


def test_evidence_before_year_one_in_utc_is_refused_and_the_line_stays_readable(
    client: Client, world: World, lines
) -> None:
    response = evidence(client, world.key, lines[0].reference, BEFORE_YEAR_ONE_IN_UTC)
    assert response.status_code == 422 and "before 2000" in response.json()["detail"]
    again = evidence(client, world.key, lines[0].reference, "2026-01-02T10:00:00+03:00")
    assert again.status_code == 200, again.content
    assert Benefit.objects.get(pk=lines[0].pk).evidence_at.year == 2026


def test_a_payment_before_year_one_in_utc_is_refused_per_line(client: Client, world: World, lines) -> None:
    body = {
        "lines": [
            {
                "reference": lines[0].reference,
                "status": "paid",
                "amount_paid": str(lines[0].amount),
                "paid_at": BEFORE_YEAR_ONE_IN_UTC,
            }
        ]
    }
    response = client.post(
        "/api/payments/reconciliations",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_API_KEY=world.key,
        HTTP_IDEMPOTENCY_KEY="old",
    )
    assert response.status_code == 200, response.content
    assert response.json()["lines"][0]["error"] == "paid_at lies before 2000."
    line = Benefit.objects.get(pk=lines[0].pk)
    assert line.status == BenefitStatus.PENDING and line.paid_at is None
