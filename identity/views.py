"""The two-factor pages: enrol an authenticator app (QR code, recovery codes shown once), give a code."""

from __future__ import annotations

import base64

import qrcode
import qrcode.image.svg
from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from identity.forms import CodeForm
from identity.policy import totp_enrolment_pending, user_has_two_factor, user_requires_two_factor
from identity.services import (
    recovery_codes_left,
    totp_enrolment_confirm,
    totp_enrolment_device,
    two_factor_verify,
    user_sessions_end,
    user_sessions_live,
)


def _next(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, {request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("admin:index")


def _with_next(page: str, next_url: str) -> str:
    return f"{reverse(page)}?{urlencode({'next': next_url})}"


def _qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    # Our own drawing of the otpauth address (path data only), not user input.
    return mark_safe(image.to_string(encoding="unicode"))  # noqa: S308


def _add_errors(form: CodeForm, exc: ValidationError) -> None:
    for field, field_messages in exc.message_dict.items():
        for message in field_messages:
            form.add_error(field if field in form.fields else None, message)


@login_required
@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest) -> HttpResponse:
    """Enrol (or, once verified, replace) the authenticator app: start, scan the QR code, confirm with a code."""
    user = request.user
    next_url = _next(request)
    enrolled = user_has_two_factor(user)
    if enrolled and not user.is_verified():  # type: ignore[union-attr]
        # Replacing an authenticator needs the current one: a stolen password alone must not do it.
        return HttpResponseRedirect(_with_next("identity:verify", next_url))
    form = CodeForm()
    if request.method == "POST":
        if request.POST.get("action") == "start":
            totp_enrolment_device(user=user)
            return HttpResponseRedirect(_with_next("identity:enrol", next_url))
        form = CodeForm(request.POST)
        if form.is_valid():
            try:
                codes = totp_enrolment_confirm(request=request, user=user, token=form.cleaned_data["token"])
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                return render(request, "identity/recovery_codes.html", {"codes": codes, "next": next_url})
    device = totp_enrolment_pending(user=user)
    context = {
        "title": "",
        "form": form,
        "next": next_url,
        "enrolled": enrolled,
        "required": user_requires_two_factor(user),
        "device": device,
        "qr_svg": _qr_svg(device.config_url) if device else "",
        "secret": base64.b32encode(device.bin_key).decode() if device else "",
    }
    return render(request, "identity/enrol.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """After the password: the code of the authenticator app, or a recovery code."""
    user = request.user
    next_url = _next(request)
    if user.is_verified():  # type: ignore[union-attr]
        return HttpResponseRedirect(next_url)
    if not user_has_two_factor(user):
        return HttpResponseRedirect(_with_next("identity:enrol", next_url))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            two_factor_verify(request=request, user=user, token=form.cleaned_data["token"])
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return HttpResponseRedirect(next_url)
    return render(
        request,
        "identity/verify.html",
        {"title": "", "form": form, "next": next_url, "recovery_left": recovery_codes_left(user=user)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def sessions(request: HttpRequest) -> HttpResponse:
    """Where the user is signed in; end the other sessions (a lost phone, a shared computer)."""
    if request.method == "POST":
        chosen = request.POST.getlist("session")
        ids = (
            [int(value) for value in chosen if value.isdigit()]
            if request.POST.get("action") != "all"
            else None
        )
        ended = user_sessions_end(user=request.user, keep_key=request.session.session_key, session_ids=ids)
        messages.success(
            request,
            ngettext("%(count)d other session ended.", "%(count)d other sessions ended.", ended)
            % {"count": ended},
        )
        return HttpResponseRedirect(reverse("identity:sessions"))
    context = {
        **admin.site.each_context(request),
        "title": _("Your sessions"),
        "sessions": user_sessions_live(user=request.user),
        "current_key": request.session.session_key,
    }
    return render(request, "identity/sessions.html", context)
