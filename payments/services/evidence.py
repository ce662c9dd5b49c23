"""Delivery evidence of in-person payments from field apps: one line by form upload, or many in one
JSON request, each line checked and answered with a JSON pointer to the field at fault."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from payments.models import PAYABLE_STATES, Benefit, BenefitStatus, PaymentPoint, ProviderRequestKind
from payments.services.reconciliation import EARLIEST, idempotency_key_check, is_text, provider_request_once

MAX_PHOTO_BYTES = 2 * 1024 * 1024
PHOTO_SIGNATURES = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png"}
MAX_EVIDENCE_LINES = 100
MAX_EVIDENCE_BYTES = 12 * 1024 * 1024  # of base64 photo text in one request, under the 20 MB body limit
FIELDS = ("reference", "latitude", "longitude", "captured_at", "agent", "photo")


class EvidenceError(Exception):
    """A bad field of one line: which field, and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class EvidenceErrors(Exception):
    """Every bad field of one line."""

    def __init__(self, errors: list[EvidenceError]) -> None:
        super().__init__(" ".join(error.message for error in errors))
        self.errors = errors


@dataclass
class Evidence:
    """One line's evidence, checked and ready to store."""

    latitude: Decimal
    longitude: Decimal
    captured_at: datetime
    agent: str
    photo: bytes | None
    photo_extension: str | None


def photo_extension(head: bytes) -> str | None:
    for signature, extension in PHOTO_SIGNATURES.items():
        if head.startswith(signature):
            return extension
    return None


def _coordinate(value: Any, field: str, bound: int) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise EvidenceError(field, f"{field} must be a number from -{bound} to {bound}.")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise EvidenceError(field, f"{field} must be a number from -{bound} to {bound}.") from None
    if not number.is_finite() or not (-bound <= number <= bound):
        raise EvidenceError(field, f"{field} must be a number from -{bound} to {bound}.")
    return number.quantize(Decimal("0.000001"))


def _moment(value: Any, field: str) -> datetime:
    if isinstance(value, str):
        if not is_text(value):
            raise EvidenceError(field, f"{field} is not a date and time (ISO 8601).")
        try:
            value = parse_datetime(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, datetime):
        raise EvidenceError(field, f"{field} is not a date and time (ISO 8601).")
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    if value > timezone.now():
        raise EvidenceError(field, "The time of the payment lies in the future.")
    if value < EARLIEST:
        raise EvidenceError(field, "The time of the payment lies before 2000.")
    return value


def _photo_check(content: bytes, field: str) -> str:
    if len(content) > MAX_PHOTO_BYTES:
        raise EvidenceError(field, f"The photo is larger than {MAX_PHOTO_BYTES // 1024 // 1024} MB.")
    extension = photo_extension(content[:8])
    if extension is None:
        raise EvidenceError(field, "The photo must be a JPEG or PNG image.")
    return extension


def _photo_base64(value: Any, field: str) -> bytes | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise EvidenceError(field, "The photo must be a JPEG or PNG image in base64 text.")
    text = value.strip()
    if text.startswith("data:") and "," in text:  # a data: URL, as browsers make them
        text = text.split(",", 1)[1]
    if len(text) > (MAX_PHOTO_BYTES * 4) // 3 + 8:
        raise EvidenceError(field, f"The photo is larger than {MAX_PHOTO_BYTES // 1024 // 1024} MB.")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise EvidenceError(field, "The photo is not valid base64.") from None


def _agent(value: Any, field: str) -> str:
    if not isinstance(value, str) or not is_text(value) or not value.strip():
        raise EvidenceError(field, "Name the agent who paid (text, at most 200 characters).")
    if len(value.strip()) > 200:
        raise EvidenceError(field, "The agent's name is longer than 200 characters.")
    return value.strip()


def evidence_check(
    *,
    latitude: Any,
    longitude: Any,
    captured_at: Any,
    agent: Any,
    photo: Callable[[], bytes | None],
    names: dict[str, str],
    errors: list[EvidenceError] | None = None,
) -> Evidence:
    """Every field of one line checked (`names` maps a field to its name in the request); all the bad
    ones are raised together, after any `errors` found before (the reference's)."""
    found: list[EvidenceError] = list(errors or [])

    def attempt(check: Callable[..., Any], *args: Any) -> Any:
        try:
            return check(*args)
        except EvidenceError as error:
            found.append(error)
            return None

    values = Evidence(
        latitude=attempt(_coordinate, latitude, names["latitude"], 90),
        longitude=attempt(_coordinate, longitude, names["longitude"], 180),
        captured_at=attempt(_moment, captured_at, names["captured_at"]),
        agent=attempt(_agent, agent, names["agent"]),
        photo=attempt(photo),
        photo_extension=None,
    )
    if values.photo is not None:
        values.photo_extension = attempt(_photo_check, values.photo, names["photo"])
    if found:
        raise EvidenceErrors(found)
    return values


def _benefit_check(benefit: Benefit | None, reference: str, payment_point: PaymentPoint) -> None:
    if benefit is None:
        # References are at most 40 characters: a longer text is no reference, and is not echoed whole.
        shown = reference if len(reference) <= 40 else f"{reference[:40]}…"
        raise EvidenceError("reference", f"Unknown reference {shown}.")
    if benefit.payroll.payment_point_id != payment_point.pk:
        raise EvidenceError("reference", f"{reference} is not a line of your payment point.")
    if benefit.payroll.status not in PAYABLE_STATES and benefit.status != BenefitStatus.PAID:
        raise EvidenceError("reference", f"Payroll {benefit.payroll} is not payable.")


def _store(benefit: Benefit, evidence: Evidence) -> None:
    if evidence.photo is not None:
        benefit.evidence_photo.save(
            f"{benefit.reference}.{evidence.photo_extension}", ContentFile(evidence.photo), save=False
        )
    benefit.evidence_latitude = evidence.latitude
    benefit.evidence_longitude = evidence.longitude
    benefit.evidence_at = evidence.captured_at
    benefit.evidence_agent = evidence.agent


EVIDENCE_FIELDS = [
    "evidence_latitude",
    "evidence_longitude",
    "evidence_at",
    "evidence_agent",
    "evidence_photo",
]


@transaction.atomic
def benefit_evidence_attach(
    *,
    payment_point: PaymentPoint,
    reference: str,
    latitude: Decimal,
    longitude: Decimal,
    taken_at: datetime,
    agent: str,
    photo: Any = None,
) -> Benefit:
    """Proof of one in-person payment: where, when, by whom, and a photo (JPEG or PNG, at most 2 MB)."""
    if not is_text(reference) or not is_text(agent or ""):
        raise ValidationError("The reference and the agent must be text (no NUL, no broken code point).")
    benefit = (
        Benefit.objects.select_for_update(of=("self",))
        .select_related("payroll")
        .filter(reference=reference)
        .first()
    )
    try:
        _benefit_check(benefit, reference, payment_point)

        def content() -> bytes | None:
            if photo is None:
                return None
            if photo.size > MAX_PHOTO_BYTES:
                raise EvidenceError(
                    "photo", f"The photo is larger than {MAX_PHOTO_BYTES // 1024 // 1024} MB."
                )
            return photo.read()

        evidence = evidence_check(
            latitude=latitude,
            longitude=longitude,
            captured_at=taken_at,
            agent=agent,
            photo=content,
            names={"latitude": "latitude", "longitude": "longitude", "agent": "agent", "photo": "photo"}
            | {"captured_at": "taken_at"},
        )
    except EvidenceError as exc:
        raise ValidationError(exc.message) from None
    except EvidenceErrors as exc:
        raise ValidationError([error.message for error in exc.errors]) from None
    assert benefit is not None
    _store(benefit, evidence)
    benefit.save(update_fields=EVIDENCE_FIELDS)
    return benefit


def _request_hash(lines: list[Any]) -> str:
    return hashlib.sha256(json.dumps(lines, sort_keys=True, default=str).encode()).hexdigest()


def evidence_batch_apply(
    *, payment_point: PaymentPoint, idempotency_key: str, lines: list[Any]
) -> tuple[dict[str, Any], bool]:
    """Evidence for many lines in one transaction: valid lines stored, each bad one answered with a JSON
    pointer to its field (`/lines/3/photo`). The same Idempotency-Key gets the first answer again."""
    idempotency_key = idempotency_key_check(idempotency_key)
    if not isinstance(lines, list) or not lines:
        raise ValidationError("Send at least one line.")
    if len(lines) > MAX_EVIDENCE_LINES:
        raise ValidationError(
            f"At most {MAX_EVIDENCE_LINES} lines per request: this one has {len(lines):,}. Split it.",
            code="too_large",
        )
    photo_text = sum(
        len(line.get("photo") or "")
        for line in lines
        if isinstance(line, dict) and isinstance(line.get("photo"), str)
    )
    if photo_text > MAX_EVIDENCE_BYTES:
        raise ValidationError(
            f"At most {MAX_EVIDENCE_BYTES // 1024 // 1024} MB of photos per request: "
            f"this one has {photo_text / 1024 / 1024:.1f} MB. Split it.",
            code="too_large",
        )
    return provider_request_once(
        payment_point=payment_point,
        kind=ProviderRequestKind.EVIDENCE,
        idempotency_key=idempotency_key,
        request_hash=_request_hash(lines),
        source="api",
        user=None,
        apply=lambda: _apply(payment_point=payment_point, lines=lines),
    )


def _rejected(index: int, reference: str, errors: list[EvidenceError]) -> dict[str, Any]:
    return {
        "index": index,
        "reference": reference,
        "result": "rejected",
        "errors": [
            {
                "pointer": f"/lines/{index}" + (f"/{error.field}" if error.field else ""),
                "detail": error.message,
            }
            for error in errors
        ],
    }


def _apply(*, payment_point: PaymentPoint, lines: list[Any]) -> dict[str, Any]:
    references = {
        line["reference"]
        for line in lines
        if isinstance(line, dict) and isinstance(line.get("reference"), str) and is_text(line["reference"])
    }
    benefits = {
        benefit.reference: benefit
        for benefit in Benefit.objects.select_for_update(of=("self",))
        .select_related("payroll")
        .filter(reference__in=references)
        .order_by("pk")
    }
    answers: list[dict[str, Any]] = []
    stored: dict[int, Benefit] = {}
    seen: set[str] = set()
    for index, line in enumerate(lines):
        reference = line.get("reference") if isinstance(line, dict) else None
        echo = reference[:40] if isinstance(reference, str) and is_text(reference) else ""
        if not isinstance(line, dict):
            answers.append(_rejected(index, echo, [EvidenceError("", "A line must be an object.")]))
            continue
        before: list[EvidenceError] = []
        benefit = None
        if not isinstance(reference, str) or not reference.strip() or not is_text(reference):
            before.append(EvidenceError("reference", "The reference is missing or not text."))
        elif reference in seen:
            before.append(EvidenceError("reference", "This reference appears twice in the request."))
        else:
            seen.add(reference)
            benefit = benefits.get(reference)
            try:
                _benefit_check(benefit, reference, payment_point)
            except EvidenceError as error:
                before.append(error)
        try:
            evidence = evidence_check(
                latitude=line.get("latitude"),
                longitude=line.get("longitude"),
                captured_at=line.get("captured_at"),
                agent=line.get("agent"),
                photo=lambda line=line: _photo_base64(line.get("photo"), "photo"),
                names={name: name for name in FIELDS},
                errors=before,
            )
        except EvidenceErrors as exc:
            answers.append(_rejected(index, echo, exc.errors))
            continue
        assert benefit is not None
        _store(benefit, evidence)
        stored[benefit.pk] = benefit
        answers.append({"index": index, "reference": echo, "result": "accepted", "errors": []})
    Benefit.objects.bulk_update(list(stored.values()), EVIDENCE_FIELDS)
    accepted = sum(1 for answer in answers if answer["result"] == "accepted")
    return {"counts": {"accepted": accepted, "rejected": len(answers) - accepted}, "lines": answers}
