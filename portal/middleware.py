"""Requests under abuse: bodies over the size limit get 413; wrong API keys are throttled per address.
Which requests read a database replica (portal.db_router)."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from portal import db_router
from portal.security import api_key_failure_record, api_key_retry_after, client_ip_address

log = logging.getLogger("portal.security.api_key")

API_PREFIX = "/api/"
LIMIT_SETTING = "DATA_UPLOAD_MAX_MEMORY_SIZE"
_READ_CHUNK = 64 * 1024


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def request_too_large(request: HttpRequest, limit: int) -> HttpResponse:
    """413: JSON naming the limit and its setting on the API, the admin's look elsewhere."""
    detail = _(
        "The request body is larger than the limit of %(bytes)s bytes (%(size)s), set by %(setting)s."
    ) % {
        "bytes": f"{limit:,}",
        "size": filesizeformat(limit),
        "setting": LIMIT_SETTING,
    }
    if is_api_request(request):
        return JsonResponse({"detail": detail, "limit": limit, "setting": LIMIT_SETTING}, status=413)
    page = render_to_string("portal/request_too_large.html", {"detail": detail}, request=request)
    return HttpResponse(page, status=413)


def _declared_length(request: HttpRequest) -> int | None:
    value = request.META.get("CONTENT_LENGTH")
    if value in (None, ""):
        return None
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return None


def _is_chunked(request: HttpRequest) -> bool:
    return "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()


def _chunked_body_within(request: HttpRequest, limit: int) -> bool:
    """Read a chunked body (no Content-Length) up to the limit; hand what was read on as a sized body.

    Django reads a body of unknown length as empty, so a chunked request would otherwise reach the
    view without its body; past the limit it stops reading and the request is refused.
    """
    stream = request.META["wsgi.input"]
    received = io.BytesIO()
    size = 0
    while size <= limit:
        chunk = stream.read(min(_READ_CHUNK, limit + 1 - size))
        if not chunk:
            break
        received.write(chunk)
        size += len(chunk)
    if size > limit:
        return False
    received.seek(0)
    request.META["CONTENT_LENGTH"] = str(size)
    request.META["wsgi.input"] = received
    request._stream = received  # type: ignore[attr-defined]  # WSGIRequest read its length at creation
    return True


class RequestSizeLimitMiddleware:
    """Refuse bodies over DATA_UPLOAD_MAX_MEMORY_SIZE with 413, in every settings mode.

    Django raises RequestDataTooBig only when a view reads the body and answers it with a 400 (a debug
    page under DEBUG). Here the declared length is checked before any view runs, a chunked body is
    counted as it is read, and on the API the limit covers the whole body (JSON or multipart). Admin
    forms upload files larger than the limit: there only the form fields count, as Django counts them.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None:
            refused = self._refusal(request, limit)
            if refused is not None:
                return refused
        return self.get_response(request)

    def _refusal(self, request: HttpRequest, limit: int) -> HttpResponse | None:
        length = _declared_length(request)
        if length is None and _is_chunked(request) and not _chunked_body_within(request, limit):
            return request_too_large(request, limit)
        multipart = request.META.get("CONTENT_TYPE", "").startswith("multipart/form-data")
        if length is not None and length > limit and (is_api_request(request) or not multipart):
            return request_too_large(request, limit)
        if multipart and not is_api_request(request) and request.method == "POST":
            try:
                request.POST  # noqa: B018  # parsed here (the CSRF check would anyway) to answer 413, not 400
            except RequestDataTooBig:
                return request_too_large(request, limit)
        return None


class ApiKeyThrottleMiddleware:
    """After API_KEY_FAILURE_LIMIT wrong keys from one client address within the window, answer 429.

    A wrong key is a request carrying an X-API-Key that the API refused (401). The count lives in the
    "throttle" cache, shared by every web worker; the address comes from client_ip_address, the same
    as the sign-in lock-out's. Every failure is logged with the address, never the key.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not (is_api_request(request) and request.META.get("HTTP_X_API_KEY")):
            return self.get_response(request)  # no key, nothing to guess with: the docs, or a 401
        address = client_ip_address(request)
        wait = api_key_retry_after(address)
        if wait:
            return self._too_many(wait)
        response = self.get_response(request)
        if response.status_code == 401:
            failures = api_key_failure_record(address)
            log.warning(
                "Wrong API key from %s on %r (%d in this window, limit %d)",
                address,
                request.path_info,
                failures,
                settings.API_KEY_FAILURE_LIMIT,
            )
        return response

    @staticmethod
    def _too_many(wait: int) -> HttpResponse:
        detail = _(
            "Too many requests with a wrong API key from this address: try again in %(seconds)d seconds."
        ) % {"seconds": wait}
        response = JsonResponse({"detail": detail}, status=429)
        response["Retry-After"] = str(wait)
        return response


class ReplicaReadsMiddleware:
    """Mark a request's reads for a replica, or for the primary (portal.db_router decides which views).

    A safe request to a replica-eligible view reads one replica, unless the browser wrote in the last
    DATABASE_REPLICA_STICKY_SECONDS: every non-safe request (a form, an approval, an API post) sets a
    signed, timed cookie that keeps its next pages on the primary, so nobody misses their own change.
    Without replicas it does nothing.
    """

    SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not db_router.replica_aliases():
            return self.get_response(request)
        token = db_router.reads_begin()
        try:
            response = self.get_response(request)
            state = db_router.reads_state()
            if state is not None and state.alias and isinstance(response, StreamingHttpResponse):
                if not response.is_async:
                    response.streaming_content = db_router.replica_iteration(
                        response.streaming_content, state
                    )
        finally:
            db_router.reads_end(token)
        if request.method not in self.SAFE_METHODS:
            self._sticky_set(response)
        return response

    def process_view(self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any) -> None:
        state = db_router.reads_state()
        if state is None or request.method not in self.SAFE_METHODS:
            return None
        if db_router.url_name_reads_replica(request.resolver_match) and not self._sticky(request):
            state.alias = db_router.replica_choose()
        return None

    @staticmethod
    def _sticky(request: HttpRequest) -> bool:
        value = request.get_signed_cookie(
            db_router.STICKY_COOKIE,
            default=None,
            salt=db_router.STICKY_SALT,
            max_age=db_router.sticky_seconds(),
        )
        return value is not None

    @staticmethod
    def _sticky_set(response: HttpResponse) -> None:
        response.set_signed_cookie(
            db_router.STICKY_COOKIE,
            "1",
            salt=db_router.STICKY_SALT,
            max_age=db_router.sticky_seconds(),
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
