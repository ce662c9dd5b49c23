"""The partner and field-agent API: file a complaint, read its status; authenticated by the partner's
API key (X-API-Key). Validation is `ticket_create`'s, the same as the public page's and the admin's; every
refusal names its field by a JSON pointer (`/complainant/phone`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.security import APIKeyHeader

from grievances.models import Ticket, TicketEvent
from grievances.partners import GrievancePartner, partner_by_key
from grievances.services import ticket_create
from identity.apikeys import request_address
from registry.models import Location

# ticket_create's field -> the pointer into the request body
POINTERS = {
    "category": "/category",
    "description": "/description",
    "location": "/location",
    "anonymous": "/anonymous",
    "complainant_name": "/complainant/name",
    "complainant_phone": "/complainant/phone",
    "complainant_email": "/complainant/email",
    "language": "/language",
}


class PartnerKey(APIKeyHeader):
    """The partner's API key, shown once when made (Grievances → API partners); only its hash is kept."""

    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> GrievancePartner | None:
        return partner_by_key(key or "", request_address(request))


router = Router(auth=PartnerKey(), tags=["grievances"])


class ComplainantIn(Schema):
    name: Any = Field(None, description="The complainant's name (text, at most 200 characters)")
    phone: Any = Field(None, description="A phone number for SMS updates: 6 to 15 digits, optionally after +")
    email: Any = Field(None, description="An e-mail address for updates")


class TicketIn(Schema):
    """Types are checked field by field, so every mistake is answered with its pointer at once."""

    category: Any = Field(None, description="The code of the category or sub-category (text)")
    description: Any = Field(None, description="The complaint (text, 1 to 10,000 characters)")
    location: Any = Field(None, description="Optional: the code of the location concerned")
    anonymous: Any = Field(False, description="true: no complainant is named (then give no complainant)")
    complainant: Any = Field(None, description="Optional: who complains (name, phone, email)")
    language: Any = Field(
        None, description=f"The complainant's language for updates: {', '.join(dict(settings.LANGUAGES))}"
    )


class FieldError(Schema):
    pointer: str = Field(..., description="JSON pointer to the field at fault, e.g. /complainant/phone")
    detail: str


class ErrorsOut(Schema):
    detail: str
    errors: list[FieldError]


class ErrorOut(Schema):
    detail: str


class TicketOut(Schema):
    number: str
    tracking_code: str = Field(
        ..., description="Give it to the complainant: with the number, it opens the status page"
    )
    status: str
    received_at: datetime


class StepOut(Schema):
    at: datetime
    status: str
    comment: str


class TicketStatusOut(Schema):
    number: str
    status: str
    status_label: str
    received_at: datetime
    steps: list[StepOut]


def _text(value: Any, pointer: str, errors: list[dict[str, str]], *, required: bool = False) -> str:
    if value is None:
        if required:
            errors.append({"pointer": pointer, "detail": "Required."})
        return ""
    if not isinstance(value, str):
        errors.append({"pointer": pointer, "detail": "Must be text."})
        return ""
    return value


def _refused(errors: list[dict[str, str]]) -> Status:
    return Status(422, {"detail": "The complaint was not stored: see errors.", "errors": errors})


@router.post(
    "/tickets",
    response={201: TicketOut, 401: ErrorOut, 422: ErrorsOut},
    summary="File a complaint",
)
def ticket_post(request: HttpRequest, body: TicketIn) -> Status:
    """Stored as one ticket, routed like any other, or refused whole with every field at fault."""
    errors: list[dict[str, str]] = []
    category = _text(body.category, "/category", errors, required=True)
    description = _text(body.description, "/description", errors, required=True)
    location_code = _text(body.location, "/location", errors)
    language = _text(body.language, "/language", errors)
    if not isinstance(body.anonymous, bool):
        errors.append({"pointer": "/anonymous", "detail": "Must be true or false."})
    complainant = body.complainant if body.complainant is not None else {}
    if not isinstance(complainant, dict):
        errors.append({"pointer": "/complainant", "detail": "Must be an object with name, phone, email."})
        complainant = {}
    unknown = sorted(set(complainant) - {"name", "phone", "email"})
    errors.extend({"pointer": f"/complainant/{key}", "detail": "Unknown field."} for key in unknown)
    name = _text(complainant.get("name"), "/complainant/name", errors)
    phone = _text(complainant.get("phone"), "/complainant/phone", errors)
    email = _text(complainant.get("email"), "/complainant/email", errors)
    location = None
    if location_code:
        location = Location.objects.filter(code=location_code).first()
        if location is None:
            errors.append({"pointer": "/location", "detail": f"Unknown location code: {location_code}."})
    if language and language.split("-")[0].lower() not in dict(settings.LANGUAGES):
        errors.append(
            {
                "pointer": "/language",
                "detail": f"Unknown language: use one of {', '.join(dict(settings.LANGUAGES))}.",
            }
        )
    if errors:
        return _refused(errors)
    partner: GrievancePartner = request.auth  # type: ignore[attr-defined]
    try:
        ticket = ticket_create(
            user=None,
            channel=partner.channel,
            category=category,
            description=description,
            complainant_name=name,
            complainant_phone=phone,
            complainant_email=email,
            anonymous=body.anonymous,
            location=location,
            language=language,
            partner=partner,
        )
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            return _refused([{"pointer": "", "detail": message} for message in exc.messages])
        return _refused(
            [
                {"pointer": POINTERS.get(field, ""), "detail": message}
                for field, messages in exc.message_dict.items()
                for message in messages
            ]
        )
    return Status(
        201,
        {
            "number": ticket.number,
            "tracking_code": ticket.tracking_code,
            "status": ticket.status,
            "received_at": ticket.created_at,
        },
    )


@router.get(
    "/tickets/{number}",
    response={200: TicketStatusOut, 401: ErrorOut, 404: ErrorOut},
    summary="A complaint's status",
)
def ticket_get(request: HttpRequest, number: str) -> Status:
    """Only a ticket this partner filed; its status and steps, with the comments marked public."""
    partner: GrievancePartner = request.auth  # type: ignore[attr-defined]
    ticket = Ticket.objects.filter(number=number, partner=partner).first()
    if ticket is None:
        return Status(404, {"detail": f"No ticket {number} filed by {partner.name}."})
    events = TicketEvent.objects.filter(ticket=ticket).order_by("at", "pk")
    steps = [
        {"at": event.at, "status": event.to_status, "comment": event.comment if event.public else ""}
        for event in events.only("at", "to_status", "comment", "public")
        if event.to_status or event.public
    ]
    return Status(
        200,
        {
            "number": ticket.number,
            "status": ticket.status,
            "status_label": str(ticket.get_status_display()),
            "received_at": ticket.created_at,
            "steps": steps,
        },
    )
