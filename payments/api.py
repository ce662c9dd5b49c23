"""The payment providers' JSON API: reconciliation results and delivery evidence, by the provider's key."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Form, Header, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.security import APIKeyHeader

from identity.apikeys import request_address
from payments.models import PaymentPoint
from payments.services import (
    MAX_EVIDENCE_BYTES,
    MAX_EVIDENCE_LINES,
    MAX_LINES,
    MAX_PHOTO_BYTES,
    benefit_evidence_attach,
    evidence_batch_apply,
    payment_point_by_key,
    reconciliation_apply,
)


class ProviderKey(APIKeyHeader):
    """The payment point's API key, shown once when it was made; only its hash is stored."""

    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> PaymentPoint | None:
        return payment_point_by_key(key or "", request_address(request))


router = Router(auth=ProviderKey(), tags=["payments"])


class ResultLine(Schema):
    reference: str = Field(..., max_length=40, description="The line's reference from the payroll file")
    status: Literal["paid", "failed"]
    amount_paid: Decimal | None = Field(None, description="Required when paid: equal to the amount issued")
    paid_at: datetime | None = Field(None, description="Required when paid; not in the future")
    transaction_id: str = Field("", max_length=100)
    reason: str = Field("", max_length=2000, description="Required when failed")


class ReconciliationIn(Schema):
    lines: list[ResultLine] = Field(..., min_length=1, description=f"At most {MAX_LINES:,} lines")


class LineAnswer(Schema):
    reference: str
    result: Literal["accepted", "unchanged", "rejected"]
    error: str


class Counts(Schema):
    accepted: int
    unchanged: int
    rejected: int


class ReconciliationOut(Schema):
    counts: Counts
    lines: list[LineAnswer]
    replayed: bool


class ErrorOut(Schema):
    detail: str | list[dict[str, Any]] = Field(
        ..., description="Why the request was refused: a sentence, or the invalid fields (422)"
    )


class EvidenceOut(Schema):
    reference: str
    evidence_at: datetime
    agent: str
    photo: bool


class EvidenceLine(Schema):
    """One line's evidence. Types are checked line by line, so a bad line is answered, not the request."""

    reference: Any = Field(None, description="The line's reference from the payroll file (text)")
    latitude: Any = Field(None, description="GPS latitude, a number from -90 to 90")
    longitude: Any = Field(None, description="GPS longitude, a number from -180 to 180")
    captured_at: Any = Field(None, description="When the money was handed over (ISO 8601), not in the future")
    agent: Any = Field(None, description="The agent who paid (text, 1 to 200 characters)")
    photo: Any = Field(
        None,
        description=f"Optional: a JPEG or PNG photo in base64 (or a data: URL), at most "
        f"{MAX_PHOTO_BYTES // 2**20} MB",
    )


class EvidenceBatchIn(Schema):
    lines: list[EvidenceLine] = Field(
        ...,
        min_length=1,
        description=f"At most {MAX_EVIDENCE_LINES} lines and {MAX_EVIDENCE_BYTES // 2**20} MB of photos",
    )


class FieldError(Schema):
    pointer: str = Field(..., description="JSON pointer to the field at fault, e.g. /lines/3/photo")
    detail: str


class EvidenceAnswer(Schema):
    index: int
    reference: str
    result: Literal["accepted", "rejected"]
    errors: list[FieldError]


class EvidenceCounts(Schema):
    accepted: int
    rejected: int


class EvidenceBatchOut(Schema):
    counts: EvidenceCounts
    lines: list[EvidenceAnswer]
    replayed: bool


def _detail(exc: ValidationError) -> dict[str, str]:
    return {"detail": " ".join(exc.messages)}


@router.post(
    "/reconciliations",
    response={200: ReconciliationOut, 401: ErrorOut, 409: ErrorOut, 413: ErrorOut, 422: ErrorOut},
    summary="Report paid and failed lines",
)
def reconciliation_post(
    request: HttpRequest,
    response: HttpResponse,
    body: ReconciliationIn,
    idempotency_key: str = Header(..., alias="Idempotency-Key", min_length=1, max_length=200),
):
    """Each line is answered: accepted, unchanged (same result sent before) or rejected with the reason.
    A request sent again with the same Idempotency-Key gets the first answer and changes nothing."""
    if len(body.lines) > MAX_LINES:
        return Status(
            413,
            {
                "detail": f"At most {MAX_LINES:,} lines per request: this one has {len(body.lines):,}. "
                "Split it."
            },
        )
    try:
        answer, replayed = reconciliation_apply(
            payment_point=request.auth,
            idempotency_key=idempotency_key,
            lines=[line.model_dump(mode="json") for line in body.lines],
        )
    except ValidationError as exc:
        return Status(409 if exc.code == "key_reused" else 422, _detail(exc))
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return Status(200, {**answer, "replayed": replayed})


@router.post(
    "/benefits/{reference}/evidence",
    response={200: EvidenceOut, 401: ErrorOut, 422: ErrorOut},
    summary="Attach proof of an in-person payment",
)
def evidence_post(
    request: HttpRequest,
    reference: str,
    latitude: Decimal = Form(..., ge=-90, le=90),  # noqa: B008
    longitude: Decimal = Form(..., ge=-180, le=180),  # noqa: B008
    taken_at: datetime = Form(...),  # noqa: B008
    agent: str = Form(..., min_length=1, max_length=200),  # noqa: B008
    photo: UploadedFile | None = File(None),  # noqa: B008
):
    """GPS position, time, agent and a photo (JPEG or PNG, at most 2 MB), stored with the line."""
    try:
        benefit = benefit_evidence_attach(
            payment_point=request.auth,
            reference=reference,
            latitude=latitude,
            longitude=longitude,
            taken_at=taken_at,
            agent=agent,
            photo=photo,
        )
    except ValidationError as exc:
        return Status(422, _detail(exc))
    return Status(
        200,
        {
            "reference": benefit.reference,
            "evidence_at": benefit.evidence_at,
            "agent": benefit.evidence_agent,
            "photo": bool(benefit.evidence_photo),
        },
    )


@router.post(
    "/evidence",
    response={200: EvidenceBatchOut, 401: ErrorOut, 409: ErrorOut, 413: ErrorOut, 422: ErrorOut},
    summary="Attach proof of in-person payments to many lines",
)
def evidence_batch_post(
    request: HttpRequest,
    response: HttpResponse,
    body: EvidenceBatchIn,
    idempotency_key: str = Header(..., alias="Idempotency-Key", min_length=1, max_length=200),
):
    """Each line is stored, or answered with the JSON pointer of every bad field (`/lines/3/photo`), all in
    one transaction. Sent again with the same Idempotency-Key, a request gets the first answer."""
    try:
        answer, replayed = evidence_batch_apply(
            payment_point=request.auth,
            idempotency_key=idempotency_key,
            lines=[line.model_dump() for line in body.lines],
        )
    except ValidationError as exc:
        status = {"key_reused": 409, "too_large": 413}.get(exc.code or "", 422)
        return Status(status, _detail(exc))
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return Status(200, {**answer, "replayed": replayed})
