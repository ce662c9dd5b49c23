"""The public pages (no sign-in): file a complaint, then check its status with the ticket number and
tracking code. Both forms are guarded (honeypot, signed token with a minimum fill time, rate limit per
address: `grievances.forms_public`) and CSRF-protected; a complaint is stored by `ticket_create`, as from
the admin and the API. The status page shows the status, the dates of its steps and the comments staff
marked public: nothing personal.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from grievances.forms_public import (
    FILE_LIMIT,
    STATUS_LIMIT,
    ComplaintForm,
    FormRefused,
    StatusForm,
    form_token_issue,
    form_token_release,
    form_token_spend,
)
from grievances.models import Category, Channel, Ticket, TicketEvent
from grievances.services import ticket_create
from registry.models import Location

# ticket_create's field -> the public form's field, for its refusals
FORM_FIELDS = {
    "category": "category",
    "description": "description",
    "location": "location",
    "anonymous": "anonymous",
    "complainant_name": "name",
    "complainant_phone": "phone",
    "complainant_email": "email",
}
MAX_PUBLIC_LOCATIONS = 2000


def _categories() -> list[tuple[str, str]]:
    return [
        (category.code, str(category))
        for category in Category.objects.filter(active=True)
        .select_related("parent")
        .order_by("parent__name", "name")
    ]


def _locations() -> list[tuple[str, str]]:
    """The upper levels of the tree (setting GRIEVANCE_PUBLIC_LOCATION_DEPTH, 1: regions and districts)."""
    depth = settings.GRIEVANCE_PUBLIC_LOCATION_DEPTH
    rows = Location.objects.filter(depth__lte=depth).order_by("path").values_list("code", "name", "depth")
    return [(code, "\u2003" * level + name) for code, name, level in rows[:MAX_PUBLIC_LOCATIONS]]


def _refused(
    request: HttpRequest, template: str, context: dict[str, Any], refused: FormRefused
) -> HttpResponse:
    response = render(request, template, {**context, "refused": refused.message}, status=refused.status)
    if refused.retry_after:
        response["Retry-After"] = str(refused.retry_after)
    return response


def _complaint_form(request: HttpRequest, data: Any = None) -> ComplaintForm:
    return ComplaintForm(
        data,
        initial={"form_token": form_token_issue()},
        categories=_categories(),
        locations=_locations(),
    )


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def ticket_file(request: HttpRequest) -> HttpResponse:
    template = "grievances/public/file.html"
    if request.method != "POST":
        return render(request, template, {"form": _complaint_form(request)})
    form = _complaint_form(request, request.POST)
    try:
        FILE_LIMIT.hit(request)
        nonce = form.guard()
    except FormRefused as refused:
        return _refused(request, template, {"form": _complaint_form(request)}, refused)
    if not form.is_valid():
        return render(request, template, {"form": form}, status=400)
    try:
        form_token_spend(nonce)
    except FormRefused as refused:
        return _refused(request, template, {"form": None}, refused)
    data = form.cleaned_data
    location = Location.objects.filter(code=data["location"]).first() if data["location"] else None
    try:
        ticket = ticket_create(
            user=None,
            channel=Channel.WEB,
            category=data["category"],
            description=data["description"],
            complainant_name=data["name"],
            complainant_phone=data["phone"],
            complainant_email=data["email"],
            anonymous=data["anonymous"],
            location=location,
            language=get_language() or settings.LANGUAGE_CODE,
        )
    except ValidationError as exc:
        form_token_release(nonce)  # nothing was stored: the person corrects the form and sends it again
        _errors_to_form(form, exc)
        return render(request, template, {"form": form}, status=400)
    return render(request, "grievances/public/received.html", {"ticket": ticket}, status=201)


def _errors_to_form(form: ComplaintForm, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(FORM_FIELDS.get(field), errors)


def ticket_public_find(*, number: str, tracking_code: str) -> Ticket | None:
    """The ticket with that number and tracking code (both must match), or None."""
    if not number or not tracking_code:
        return None
    return (
        Ticket.objects.select_related("category").filter(number=number, tracking_code=tracking_code).first()
    )


def ticket_public_events(ticket: Ticket) -> list[TicketEvent]:
    """The steps that changed its status, and the comments staff marked public, in order."""
    events = TicketEvent.objects.filter(ticket=ticket).order_by("at", "pk")
    return [
        event
        for event in events.only("kind", "at", "to_status", "comment", "public")
        if event.to_status or event.public
    ]


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def ticket_status(request: HttpRequest) -> HttpResponse:
    """A POST, not a GET with the code in the address: it is counted per address, and the code stays out
    of logs and browser history."""
    template = "grievances/public/status.html"
    fresh = StatusForm(initial={"form_token": form_token_issue()})
    if request.method != "POST":
        return render(request, template, {"form": fresh})
    form = StatusForm(request.POST)
    try:
        STATUS_LIMIT.hit(request)
        form.guard()
    except FormRefused as refused:
        return _refused(request, template, {"form": fresh}, refused)
    if not form.is_valid():
        return render(request, template, {"form": form}, status=400)
    ticket = ticket_public_find(
        number=form.cleaned_data["number"], tracking_code=form.cleaned_data["tracking_code"]
    )
    if ticket is None:
        form.add_error(None, _("No complaint has this number and tracking code: check both and try again."))
        return render(request, template, {"form": form}, status=404)
    return render(
        request,
        template,
        {"form": fresh, "ticket": ticket, "events": ticket_public_events(ticket)},
    )
