"""The public complaint and status forms, and what guards them without a third-party service: a honeypot
field, a signed form token with a minimum fill time that is spent once (a replayed form is refused), and
a count of submissions per client address (the shared "throttle" cache).

Settings (portal/settings.py, from the environment): GRIEVANCE_PUBLIC_MIN_FILL_SECONDS (3),
GRIEVANCE_PUBLIC_FORM_MAX_AGE_SECONDS (7200), GRIEVANCE_PUBLIC_RATE_LIMIT (5 complaints) and
GRIEVANCE_PUBLIC_STATUS_RATE_LIMIT (30 look-ups) per GRIEVANCE_PUBLIC_RATE_WINDOW_SECONDS (3600) and address.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from axes.helpers import get_client_ip_address
from django import forms
from django.conf import settings
from django.core import signing
from django.core.cache import caches
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

THROTTLE_CACHE = "throttle"
TOKEN_SALT = "grievances.public.form"


class FormRefused(Exception):
    """The submission is refused as a whole (not a field's mistake): why, and the HTTP status to answer."""

    def __init__(self, message: str, *, status: int = 400, retry_after: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


def form_token_issue() -> str:
    """A fresh signed token for a form being shown: a random nonce and the time it was shown."""
    return signing.dumps(
        {"n": secrets.token_urlsafe(16), "t": int(time.time())}, salt=TOKEN_SALT, compress=True
    )


def form_token_check(token: str) -> str:
    """The token's nonce, once its signature, age and fill time are right; FormRefused otherwise.
    Nothing is written: the nonce is spent by `form_token_spend` when the complaint is accepted."""
    max_age = settings.GRIEVANCE_PUBLIC_FORM_MAX_AGE_SECONDS
    try:
        payload = signing.loads(token or "", salt=TOKEN_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise FormRefused(
            str(_("This form was opened too long ago: reload the page and send it again."))
        ) from None
    except signing.BadSignature:
        raise FormRefused(
            str(_("This form was not issued by this site: reload the page and fill it in."))
        ) from None
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("n"), str)
        or not isinstance(payload.get("t"), int)
    ):
        raise FormRefused(str(_("This form was not issued by this site: reload the page and fill it in.")))
    age = time.time() - payload["t"]
    if age > max_age:
        raise FormRefused(str(_("This form was opened too long ago: reload the page and send it again.")))
    minimum = settings.GRIEVANCE_PUBLIC_MIN_FILL_SECONDS
    if age < minimum:
        raise FormRefused(
            str(_("The form was sent too quickly after it was opened: wait a few seconds and send it again."))
        )
    return payload["n"]


def form_token_spend(nonce: str) -> None:
    """Mark the nonce used; FormRefused when it was used before (the same form sent twice)."""
    timeout = settings.GRIEVANCE_PUBLIC_FORM_MAX_AGE_SECONDS + 60
    if not caches[THROTTLE_CACHE].add(f"grievance-form:{nonce}", 1, timeout=timeout):
        raise FormRefused(
            str(
                _(
                    "This form was already sent: your complaint was received once. "
                    "Open a new form to file another."
                )
            ),
            status=409,
        )


def form_token_release(nonce: str) -> None:
    """Give the nonce back when the complaint was not stored, so the person can correct it and resend."""
    caches[THROTTLE_CACHE].delete(f"grievance-form:{nonce}")


def _address(request: HttpRequest) -> str:
    """The client's address by the portal's one rule (AXES_CLIENT_IP_CALLABLE, which the sign-in lock-out
    and the API throttle use too: trusted proxies, never a client-written X-Forwarded-For)."""
    return get_client_ip_address(request) or ""


@dataclass(frozen=True)
class RateLimit:
    name: str
    limit: Callable[[], int]  # reads its setting at each request, so a changed setting counts at once

    def hit(self, request: HttpRequest) -> None:
        """Count one request from the client's address; FormRefused (429) past the limit in the window."""
        window = max(settings.GRIEVANCE_PUBLIC_RATE_WINDOW_SECONDS, 1)
        limit = self.limit()
        now = time.time()
        bucket = int(now // window)
        left = max(int((bucket + 1) * window - now) + 1, 1)
        digest = hashlib.sha256(_address(request).encode()).hexdigest()[:32]
        key = f"grievance-{self.name}:{bucket}:{digest}"
        cache = caches[THROTTLE_CACHE]
        if cache.add(key, 1, timeout=left):
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:
                cache.set(key, 1, timeout=left)
                count = 1
            cache.touch(key, timeout=left)
        if count > limit:
            minutes = (left + 59) // 60
            raise FormRefused(
                str(_("Too many requests from your address: try again in %(minutes)d minute(s)."))
                % {"minutes": minutes},
                status=429,
                retry_after=left,
            )


FILE_LIMIT = RateLimit("file", lambda: settings.GRIEVANCE_PUBLIC_RATE_LIMIT)
STATUS_LIMIT = RateLimit("status", lambda: settings.GRIEVANCE_PUBLIC_STATUS_RATE_LIMIT)


class HoneypotWidget(forms.TextInput):
    """A field people never see (hidden by the public stylesheet) and robots fill in."""

    def __init__(self) -> None:
        super().__init__(attrs={"autocomplete": "off", "tabindex": "-1", "class": "hp-field"})


class PublicFormMixin(forms.Form):
    form_token = forms.CharField(widget=forms.HiddenInput)
    website = forms.CharField(
        required=False,
        label=_("Leave this field empty"),
        widget=HoneypotWidget(),
    )

    def guard(self) -> str:
        """FormRefused for a robot's submission (honeypot filled, forged, expired or too quick a token);
        else the token's nonce, to be spent when the complaint is stored."""
        if (self.data.get("website") or "").strip():
            raise FormRefused(
                str(_("The form could not be accepted: a field meant to stay empty was filled in."))
            )
        return form_token_check(self.data.get("form_token", ""))


class ComplaintForm(PublicFormMixin):
    """What a person gives on the public page; the rules (category, complainant or anonymous) are checked
    by `grievances.services.ticket_create`, the same as for the API and the admin."""

    category = forms.ChoiceField(label=_("What is it about?"))
    description = forms.CharField(
        label=_("Your complaint"), widget=forms.Textarea, max_length=10_000, strip=True
    )
    location = forms.ChoiceField(label=_("Where?"), required=False)
    anonymous = forms.BooleanField(
        label=_("File it anonymously"),
        required=False,
        help_text=_("Then leave your name and contact empty: you follow it with the tracking code only."),
    )
    name = forms.CharField(label=_("Your name"), required=False, max_length=200)
    phone = forms.CharField(
        label=_("Your phone number"),
        required=False,
        max_length=32,
        help_text=_("To receive an SMS when the complaint moves on."),
    )
    email = forms.EmailField(label=_("Your e-mail address"), required=False, max_length=254)

    def __init__(
        self,
        *args: object,
        categories: list[tuple[str, str]],
        locations: list[tuple[str, str]],
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "—"), *categories]
        self.fields["location"].choices = [("", "—"), *locations]
        self.order_fields(["category", "description", "location", "anonymous", "name", "phone", "email"])


class StatusForm(PublicFormMixin):
    number = forms.CharField(label=_("Ticket number"), max_length=20, strip=True)
    tracking_code = forms.CharField(label=_("Tracking code"), max_length=16, strip=True)

    def clean_tracking_code(self) -> str:
        return self.cleaned_data["tracking_code"].replace(" ", "").replace("-", "").upper()

    def clean_number(self) -> str:
        return self.cleaned_data["number"].upper()
