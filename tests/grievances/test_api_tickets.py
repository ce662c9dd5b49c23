"""The partner API: a partner's key files a complaint through ticket_create (same rules as the public page);
each refusal names its field by a JSON pointer and nothing is stored; a partner reads only its tickets."""

from __future__ import annotations

import pytest

from grievances.models import Channel, Ticket
from grievances.partners import GrievancePartner, PartnerChannel, partner_key_rotate
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
URL = "/api/grievances/tickets"


@pytest.fixture
def keys(world) -> dict[str, str]:
    admin = make_user("keymaker", superuser=True)
    field = GrievancePartner.objects.create(name="Field app", channel=PartnerChannel.FIELD_AGENT)
    ngo = GrievancePartner.objects.create(name="Helpline NGO")
    return {
        "field": partner_key_rotate(user=admin, partner=field),
        "ngo": partner_key_rotate(user=admin, partner=ngo),
    }


def post(client, key: str | None, body: dict):
    headers = {"HTTP_X_API_KEY": key} if key else {}
    return client.post(URL, body, content_type="application/json", **headers)


BODY = {
    "category": "late-payment",
    "description": "My May payment never came.",
    "location": "N-A",
    "complainant": {"name": "Amina Otieno", "phone": "+254700000001"},
    "language": "pt",
}


def test_without_a_valid_key_nothing_is_filed(client, keys):
    assert post(client, None, BODY).status_code == 401
    assert post(client, "gp_wrong", BODY).status_code == 401
    assert not Ticket.objects.exists()


def test_a_field_agent_files_a_complaint(client, keys, world):
    response = post(client, keys["field"], BODY)
    assert response.status_code == 201, response.json()
    answer = response.json()
    ticket = Ticket.objects.get()
    assert answer["number"] == ticket.number and answer["tracking_code"] == ticket.tracking_code
    assert answer["status"] == "received"
    assert (ticket.channel, ticket.partner.name, ticket.language) == (Channel.FIELD_AGENT, "Field app", "pt")
    assert ticket.team == world.north_team


@pytest.mark.parametrize(
    ("change", "pointers", "detail"),
    [
        ({"category": "no-such"}, ["/category"], "Unknown category: no-such."),
        ({"anonymous": True}, ["/anonymous"], "An anonymous complaint names no complainant"),
        ({"complainant": {"phone": "call me"}}, ["/complainant/phone"], "is not a phone number"),
        ({"complainant": {"email": "amina@"}}, ["/complainant/email"], "valid email"),
        ({"location": "ZZ"}, ["/location"], "Unknown location code: ZZ."),
        ({"language": "xx"}, ["/language"], "Unknown language"),
        ({"description": "   "}, ["/description"], "Describe the complaint."),
        (
            {"description": 42, "category": None, "anonymous": "yes", "complainant": {"nick": "A"}},
            ["/category", "/description", "/anonymous", "/complainant/nick"],
            "Required.",
        ),
        ({"complainant": ["Amina"]}, ["/complainant"], "Must be an object"),
    ],
)
def test_bad_input_is_refused_with_json_pointers_and_nothing_is_stored(
    client, keys, change, pointers, detail
):
    response = post(client, keys["ngo"], {**BODY, **change})
    assert response.status_code == 422, response.json()
    errors = response.json()["errors"]
    assert sorted(error["pointer"] for error in errors) == sorted(pointers)
    assert any(detail in error["detail"] for error in errors), errors
    assert not Ticket.objects.exists()


def test_a_partner_reads_the_status_of_its_own_tickets_only(client, keys):
    number = post(client, keys["ngo"], BODY).json()["number"]
    mine = client.get(f"{URL}/{number}", HTTP_X_API_KEY=keys["ngo"])
    assert mine.status_code == 200
    assert mine.json()["status"] == "received" and mine.json()["steps"][0]["status"] == "received"
    other = client.get(f"{URL}/{number}", HTTP_X_API_KEY=keys["field"])
    assert other.status_code == 404


def test_the_openapi_schema_documents_the_grievance_routes(client):
    schema = client.get("/api/openapi.json").json()
    assert "/api/grievances/tickets" in schema["paths"]
    assert "/api/grievances/tickets/{number}" in schema["paths"]


def test_a_rotated_key_stops_the_old_one(client, keys):
    partner = GrievancePartner.objects.get(name="Helpline NGO")
    partner_key_rotate(user=make_user("rotator", superuser=True), partner=partner)
    assert post(client, keys["ngo"], BODY).status_code == 401
