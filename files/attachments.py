"""Limits on attachments people give with a record (a grievance's photos and documents): size and type.

The type is read from the file's first bytes, not trusted from its name or the browser: a PDF, a JPEG, a
PNG or plain text. A refusal is an `AttachmentRefused` (a ValidationError) naming the limit and its setting.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from files.limits import MEGABYTE

DEFAULT_MAX_BYTES = 5 * MEGABYTE
# First bytes of each accepted type -> the extension stored.
SIGNATURES = {b"%PDF-": "pdf", b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png"}
TEXT_EXTENSIONS = ("txt",)
HEAD_BYTES = 512


class AttachmentRefused(ValidationError):
    """An attachment over the size limit or of a type not accepted; `setting` names what changes it."""

    def __init__(self, message: Any, *, params: dict[str, Any]) -> None:
        super().__init__(message, code="attachment", params=params)
        self.setting = "ATTACHMENTS_MAX_BYTES"


def attachment_max_bytes() -> int:
    return int(getattr(settings, "ATTACHMENTS_MAX_BYTES", DEFAULT_MAX_BYTES))


def _plain_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the head is still text.
        return exc.start >= len(head) - 3
    return True


def attachment_check(*, name: str, size: int, head: bytes) -> str:
    """The extension to store the file under; refuse a file too large or of a type not accepted."""
    most = attachment_max_bytes()
    if size > most:
        raise AttachmentRefused(
            _("%(name)s is %(size)s MB; attachments may be at most %(most)s MB (setting %(setting)s)."),
            params={
                "name": name,
                "size": f"{size / MEGABYTE:,.1f}",
                "most": f"{most / MEGABYTE:,.1f}",
                "setting": "ATTACHMENTS_MAX_BYTES",
            },
        )
    for signature, extension in SIGNATURES.items():
        if head.startswith(signature):
            return extension
    if name.lower().rsplit(".", 1)[-1] in TEXT_EXTENSIONS and _plain_text(head[:HEAD_BYTES]):
        return "txt"
    raise AttachmentRefused(
        _("%(name)s is not an accepted attachment: send a PDF, a JPEG or PNG image, or a plain-text file."),
        params={"name": name},
    )
