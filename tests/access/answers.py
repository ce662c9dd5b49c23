"""How the matrix names an answer, and how a response is read as one."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.signals import request_finished
from django.db import close_old_connections
from django.http import HttpResponse
from django.urls import reverse

OK = "200"
OK_WITH = "200 listing the North A record"
OK_WITHOUT = "200 not listing the North A record"
INDEX = "302 to the admin index"  # the admin's answer for an object outside the user's queryset
LOGIN = "302 to the login page"
REDIRECT = "302 elsewhere"
UNAUTHORIZED = "401"
DENIED = "403"
MISSING = "404"
NOT_ALLOWED = "405"
INVALID = "422"
REJECTED = "200 with every line rejected"  # the API's answer per line

REFUSED = {INDEX, LOGIN, UNAUTHORIZED, DENIED, MISSING, NOT_ALLOWED, INVALID, REJECTED}
GRANTED = {OK, OK_WITH, OK_WITHOUT, REDIRECT}


def answer(response: HttpResponse, *, marker: str | None = None) -> str:
    """The response as the matrix names it; with a marker, a 200 says whether the North A record is in it."""
    code = response.status_code
    if code in (301, 302, 303):
        path = urlsplit(response["Location"]).path
        if path == reverse("admin:login"):
            return LOGIN
        if path == reverse("admin:index"):
            return INDEX
        return REDIRECT
    if code == 200 and marker is not None:
        return OK_WITH if marker in body(response) else OK_WITHOUT
    return str(code)


def body(response: HttpResponse) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def close(response: HttpResponse) -> None:
    """Close a file response's handle as the test client does: without the signal that would close the
    test's database connection (PostgreSQL)."""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
