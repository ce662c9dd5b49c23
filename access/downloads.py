"""The one way a permission-checked file leaves the portal: an attachment, never sniffed, 404 if refused."""

from __future__ import annotations

import mimetypes
from pathlib import PurePath

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest


def protected_file_response(
    request: HttpRequest, fieldfile: FieldFile | None, *, allowed: bool, filename: str | None = None
) -> FileResponse:
    """Serve a stored file to a user the caller has checked (`allowed`); otherwise, or with no file, 404.

    404 rather than 403: a refused user learns nothing about whether the file exists. The response is an
    attachment (never rendered inline) with `X-Content-Type-Options: nosniff`, so an uploaded HTML or SVG
    file cannot run in the portal's origin.
    """
    if not allowed or not fieldfile or not fieldfile.name:
        raise Http404("No such file.")
    try:
        handle = fieldfile.open("rb")
    except FileNotFoundError:
        raise Http404("No such file.") from None
    name = filename or PurePath(fieldfile.name).name
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(handle, as_attachment=True, filename=name, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
