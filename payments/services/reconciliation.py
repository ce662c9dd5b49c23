"""Reconciliation: provider results checked line by line, applied set-based, answered once per key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, TextField, Value, When
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from payments.models import (
    PAYABLE_STATES,
    Benefit,
    BenefitStatus,
    PaymentPoint,
    Payroll,
    PayrollStatus,
    ProviderRequestKind,
    ReconciliationBatch,
)
from payments.services.events import benefit_events_record
from payments.signals import reconciliation_lines_changed

MAX_LINES = 10_000
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
UPDATE_CHUNK = 2000


@dataclass
class LineResult:
    """One validated line, ready to write."""

    benefit_id: int
    payroll_id: int
    status: str
    amount_paid: Decimal | None
    paid_at: datetime | None
    transaction_id: str
    reason: str


@dataclass
class IssuedLine:
    """What validation needs of a Benefit row, read with values(): no model instance per line."""

    pk: int
    payroll_id: int
    amount: Decimal | None
    status: str
    amount_paid: Decimal | None
    transaction_id: str
    payroll: Payroll

    def get_status_display(self) -> str:
        return str(BenefitStatus(self.status).label)


def is_text(value: str) -> bool:
    """Whether the database can store it: no NUL character, no lone UTF-16 surrogate."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text(value: Any, limit: int) -> str:
    """The value as storable text (the answer echoes it, so it must be storable even when refused)."""
    if value is None:
        return ""
    text = str(value)[:limit]
    return text if is_text(text) else text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


class LineRefused(Exception):
    """Why one line of a provider's results is refused (the answer's `error`)."""


def _line_fields(raw: Any) -> tuple[str, str]:
    """The line's reference and reported status, once its shape and text are sound."""
    if not isinstance(raw, dict):
        raise LineRefused("A line must be an object.")
    reference = _text(raw.get("reference"), 40)
    if not reference:
        raise LineRefused("The reference is missing.")
    texts = [raw.get(name) for name in ("reference", "transaction_id", "reason", "paid_at")]
    if not all(is_text(value) for value in texts if isinstance(value, str)):
        raise LineRefused("The line holds characters that are not text (NUL or a broken code point).")
    status = raw.get("status")
    if status not in (BenefitStatus.PAID, BenefitStatus.FAILED):
        raise LineRefused('The status must be "paid" or "failed".')
    return reference, status


def _line_issued(
    benefit: IssuedLine | None, reference: str, payment_point: PaymentPoint, payroll: Payroll | None
) -> IssuedLine:
    """The issued line the reference names, if it is one of the provider's lines in a payable payroll."""
    if benefit is None:
        if payroll is not None:
            raise LineRefused(
                str(
                    _("%(reference)s is not a line of %(payroll)s.")
                    % {"reference": reference, "payroll": payroll}
                )
            )
        raise LineRefused(f"Unknown reference {reference}.")
    if benefit.payroll.payment_point_id != payment_point.pk:
        raise LineRefused(f"{reference} is not a line of your payment point.")
    if benefit.payroll.status not in PAYABLE_STATES:
        raise LineRefused(
            f"Payroll {benefit.payroll} is {benefit.payroll.get_status_display().lower()}: it is not payable."
        )
    return benefit


def _amount_paid(raw: dict[str, Any]) -> Decimal | None:
    if raw.get("amount_paid") is None:
        return None
    try:
        amount_paid = Decimal(str(raw["amount_paid"]))
    except InvalidOperation:
        raise LineRefused("amount_paid is not a number.") from None
    if not amount_paid.is_finite() or amount_paid < 0:
        raise LineRefused("amount_paid must not be negative.")
    return amount_paid


def _paid_at(raw: dict[str, Any], now: datetime) -> datetime | None:
    paid_at = raw.get("paid_at")
    if isinstance(paid_at, str):
        try:
            paid_at = parse_datetime(paid_at)
        except ValueError:
            paid_at = None
        if paid_at is None:
            raise LineRefused("paid_at is not a date and time (ISO 8601).")
    if paid_at is None:
        return None
    if timezone.is_naive(paid_at):
        paid_at = timezone.make_aware(paid_at, timezone.get_default_timezone())
    if paid_at > now:
        raise LineRefused("paid_at lies in the future.")
    if paid_at < EARLIEST:
        # Older moments are no payment of this system, and some (year 1 east of UTC) fall before
        # year 1 in UTC: PostgreSQL stores them, Python cannot read them back.
        raise LineRefused("paid_at lies before 2000.")
    return paid_at


def _check_line(
    raw: Any,
    *,
    benefit: IssuedLine | None,
    payment_point: PaymentPoint,
    seen: set[str],
    now: datetime,
    payroll: Payroll | None = None,
) -> tuple[LineResult | None, str, str]:
    """(what to write or None, outcome, error) for one line: outcome is accepted, unchanged or rejected.

    The checks run in this order, so a line with several faults is answered with the first of them."""
    try:
        reference, status = _line_fields(raw)
        issued = _line_issued(benefit, reference, payment_point, payroll)
        amount_paid = _amount_paid(raw)
        paid_at = _paid_at(raw, now)
        transaction_id = _text(raw.get("transaction_id"), 100)
        reason = _text(raw.get("reason"), 2000)
        if status == BenefitStatus.PAID:
            if amount_paid is None or paid_at is None:
                raise LineRefused("A paid line needs amount_paid and paid_at.")
            if issued.amount is None or amount_paid != issued.amount:
                raise LineRefused(
                    f"amount_paid {amount_paid} differs from the amount issued, {issued.amount}."
                )
        elif not reason:
            raise LineRefused("A failed line needs a reason.")
        if reference in seen:
            raise LineRefused("This reference appears twice in the request.")
        if issued.status in (BenefitStatus.PAID, BenefitStatus.FAILED):
            same = issued.status == status and (
                status == BenefitStatus.FAILED
                or (issued.amount_paid == amount_paid and issued.transaction_id == transaction_id)
            )
            if same:
                return None, "unchanged", ""
            raise LineRefused(f"{reference} was already reconciled as {issued.status}.")
        if issued.status != BenefitStatus.PENDING:
            raise LineRefused(f"{reference} is {issued.get_status_display().lower()}: it is not payable.")
    except LineRefused as refused:
        return None, "rejected", str(refused)
    seen.add(reference)
    result = LineResult(issued.pk, issued.payroll_id, status, amount_paid, paid_at, transaction_id, reason)
    return result, "accepted", ""


def _write(
    results: list[LineResult], now: datetime, *, user: Any = None, payment_point: PaymentPoint | None = None
) -> set[int]:
    """UPDATE ... FROM (VALUES ...): one statement per chunk, not one save per line, and one INSERT ... SELECT
    of the lines' events. Returns the ids written: a line another request reconciled meanwhile is skipped
    by the status condition."""
    written: set[int] = set()
    if not results:
        return written
    is_pg = connection.vendor == "postgresql"
    table = connection.ops.quote_name(Benefit._meta.db_table)
    row = "(%s::bigint, %s, %s::numeric, %s::timestamptz, %s, %s)" if is_pg else "(%s, %s, %s, %s, %s, %s)"
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        for start in range(0, len(results), UPDATE_CHUNK):
            chunk = results[start : start + UPDATE_CHUNK]
            params: list[Any] = []
            for line in chunk:
                amount = (
                    None
                    if line.amount_paid is None
                    else (line.amount_paid if is_pg else str(line.amount_paid))
                )
                paid_at = adapt(line.paid_at) if line.paid_at else None
                params += [line.benefit_id, line.status, amount, paid_at, line.transaction_id, line.reason]
            cursor.execute(
                "WITH v(id, status, amount_paid, paid_at, transaction_id, reason) "
                f"AS (VALUES {', '.join([row] * len(chunk))}) "
                f"UPDATE {table} SET status = v.status, amount_paid = v.amount_paid, paid_at = v.paid_at, "
                f"transaction_id = v.transaction_id, failure_reason = v.reason, reconciled_at = %s "
                f"FROM v WHERE {table}.id = v.id AND {table}.status = %s RETURNING {table}.id",
                [*params, adapt(now), BenefitStatus.PENDING],
            )
            ids = [row_id for (row_id,) in cursor.fetchall()]
            written.update(ids)
            if ids:
                benefit_events_record(
                    lines=Benefit.objects.filter(pk__in=ids),
                    kind=F("status"),
                    from_status=BenefitStatus.PENDING,
                    note=Case(
                        When(status=BenefitStatus.FAILED, then=F("failure_reason")),
                        default=Concat(Value("Transaction "), F("transaction_id")),
                        output_field=TextField(),
                    ),
                    user=user,
                    payment_point=None if user is not None else payment_point,
                    at=now,
                )
    return written


def _advance_payrolls(payroll_ids: set[int]) -> None:
    for payroll in Payroll.objects.select_for_update().filter(pk__in=payroll_ids):
        before = payroll.status
        if payroll.status == PayrollStatus.SENT:
            payroll.start_reconciling()
        if (
            payroll.status == PayrollStatus.RECONCILING
            and not Benefit.objects.filter(payroll=payroll, status=BenefitStatus.PENDING).exists()
        ):
            payroll.close_reconciled()
        if payroll.status != before:
            payroll.save()


def _request_hash(lines: list[Any]) -> str:
    return hashlib.sha256(json.dumps(lines, sort_keys=True, cls=DjangoJSONEncoder).encode()).hexdigest()


def reconciliation_apply(
    *,
    payment_point: PaymentPoint,
    idempotency_key: str,
    lines: list[Any],
    source: str = "api",
    user: Any = None,
    payroll: Payroll | None = None,
) -> tuple[dict[str, Any], bool]:
    """Validate and apply a batch of results; (the answer, whether it is a replay of an earlier request).

    With a `payroll` (a file uploaded on its page) only that payroll's lines are matched: a reference of
    another payroll, even of the same payment point, is a rejected line."""
    idempotency_key = idempotency_key_check(idempotency_key)
    if not isinstance(lines, list) or not lines:
        raise ValidationError("Send at least one line.")
    if len(lines) > MAX_LINES:
        raise ValidationError(
            f"At most {MAX_LINES:,} lines per request: this one has {len(lines):,}. Split it."
        )
    return provider_request_once(
        payment_point=payment_point,
        kind=ProviderRequestKind.RECONCILIATION,
        idempotency_key=idempotency_key,
        request_hash=_request_hash(lines),
        source=source,
        user=user,
        apply=lambda: _apply(payment_point=payment_point, lines=lines, payroll=payroll, user=user),
    )


MAX_RESULT_FILE_BYTES = 20 * 1024 * 1024


def payroll_results_record(*, user: Any, payroll: Payroll, content: bytes) -> tuple[dict[str, Any], bool]:
    """Staff record the provider's result file on one payroll: they need a change permission on payment
    lines, the plan's payment permission and every line of the payroll in their locations; only that
    payroll's lines are matched. The same file sent again on the same payroll gets the first answer."""
    from payments.selectors import payroll_results_refusal
    from payments.services.exports import result_file_lines

    refusal = payroll_results_refusal(user=user, payroll=payroll)
    if refusal:
        raise PermissionDenied(refusal)
    if payroll.payment_point_id is None:
        raise ValidationError(
            _("%(payroll)s has no payment point: results cannot be recorded.") % {"payroll": payroll}
        )
    if len(content) > MAX_RESULT_FILE_BYTES:
        raise ValidationError(
            _("The file is larger than %(size)s MB: split it.") % {"size": MAX_RESULT_FILE_BYTES // 2**20}
        )
    return reconciliation_apply(
        payment_point=payroll.payment_point,
        idempotency_key=f"file-{payroll.pk}-{hashlib.sha256(content).hexdigest()}",
        lines=result_file_lines(content),
        source="file",
        user=user,
        payroll=payroll,
    )


def idempotency_key_check(idempotency_key: str | None) -> str:
    idempotency_key = (idempotency_key or "").strip()
    if not idempotency_key or len(idempotency_key) > 200 or not is_text(idempotency_key):
        raise ValidationError("An Idempotency-Key of 1 to 200 characters is required.")
    return idempotency_key


def provider_request_once(
    *,
    payment_point: PaymentPoint,
    kind: str,
    idempotency_key: str,
    request_hash: str,
    source: str,
    user: Any,
    apply: Callable[[], dict[str, Any]],
) -> tuple[dict[str, Any], bool]:
    """Run `apply` once per (provider, kind, key) in one transaction, keeping its answer; a request sent
    again gets that answer (True: replayed), the same key on a different request a `key_reused` error."""

    def replay() -> tuple[dict[str, Any], bool] | None:
        batch = ReconciliationBatch.objects.filter(
            payment_point=payment_point, kind=kind, idempotency_key=idempotency_key
        ).first()
        if batch is None:
            return None
        if batch.request_hash != request_hash:
            raise ValidationError("This Idempotency-Key was used for a different request.", code="key_reused")
        return batch.response, True

    earlier = replay()
    if earlier is not None:
        return earlier
    try:
        with transaction.atomic():
            batch = ReconciliationBatch.objects.create(
                payment_point=payment_point,
                kind=kind,
                idempotency_key=idempotency_key,
                source=source,
                request_hash=request_hash,
                created_by=user if user is not None and getattr(user, "is_authenticated", False) else None,
            )
            response = apply()
            batch.response = response
            batch.save(update_fields=["response"])
            changed = (response.get("counts") or {}).get("accepted", 0)
            if kind == ProviderRequestKind.RECONCILIATION and changed:
                reconciliation_lines_changed.send(sender=ReconciliationBatch, batch=batch, changed=changed)
    except IntegrityError:
        # The same key raced us and won: answer as it did.
        earlier = replay()
        if earlier is None:
            raise
        return earlier
    return response, False


def _issued_lines(references: set[str], payroll: Payroll | None = None) -> dict[str, IssuedLine]:
    issued = Benefit.objects.filter(reference__in=references)
    if payroll is not None:
        issued = issued.filter(payroll=payroll)
    rows = list(
        issued.values_list(
            "reference", "pk", "payroll_id", "amount", "status", "amount_paid", "transaction_id"
        )
    )
    payrolls = Payroll.objects.in_bulk({row[2] for row in rows})
    return {
        reference: IssuedLine(
            pk, payroll_id, amount, status, amount_paid, transaction_id, payrolls[payroll_id]
        )
        for reference, pk, payroll_id, amount, status, amount_paid, transaction_id in rows
    }


def _apply(
    *, payment_point: PaymentPoint, lines: list[Any], payroll: Payroll | None = None, user: Any = None
) -> dict[str, Any]:
    now = timezone.now()
    issued = _issued_lines(
        {_text(raw.get("reference"), 40) for raw in lines if isinstance(raw, dict)}, payroll
    )
    seen: set[str] = set()
    answers: list[dict[str, str]] = []
    results: list[tuple[int, LineResult]] = []
    for raw in lines:
        reference = _text(raw.get("reference"), 40) if isinstance(raw, dict) else ""
        result, outcome, error = _check_line(
            raw,
            benefit=issued.get(reference),
            payment_point=payment_point,
            seen=seen,
            now=now,
            payroll=payroll,
        )
        answers.append({"reference": reference, "result": outcome, "error": error})
        if result is not None:
            results.append((len(answers) - 1, result))
    actor = user if user is not None and getattr(user, "is_authenticated", False) else None
    written = _write([result for _, result in results], now, user=actor, payment_point=payment_point)
    for index, result in results:
        if result.benefit_id not in written:
            answers[index].update(result="rejected", error="Another request reconciled this line meanwhile.")
    _advance_payrolls({result.payroll_id for _, result in results if result.benefit_id in written})
    counts = {"accepted": 0, "unchanged": 0, "rejected": 0}
    for answer in answers:
        counts[answer["result"]] += 1
    return {"counts": counts, "lines": answers}
