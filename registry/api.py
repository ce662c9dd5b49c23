"""The registry API for partner systems (/api/registry/): search people and households of the client's
locations with keyset pages, read one with its household, role and documents, register and update them
through the registry's own services and maker-checker. Authenticated by the client's X-API-Key
(identity.apikeys); limited per client per minute; every call on the call trail (`RegistryApiCall`)."""

from __future__ import annotations

import base64
import binascii
import functools
import json
import time
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Status
from ninja.security import APIKeyHeader

from approvals.models import TaskState
from identity.apikeys import request_address
from registry.api_clients import (
    RegistryApiClient,
    api_call_record,
    rate_limit_wait,
    registry_api_client_by_key,
)
from registry.api_schemas import (
    ErrorsOut,
    HouseholdIn,
    HouseholdOut,
    HouseholdPage,
    HouseholdPatch,
    HouseholdQuery,
    IndividualIn,
    IndividualOut,
    IndividualPage,
    IndividualPatch,
    IndividualQuery,
    SearchQuery,
    TaskOut,
)
from registry.approval_actions import registry_update_request
from registry.filters import json_equals
from registry.models import (
    Household,
    HouseholdMember,
    IdentityDocument,
    Individual,
    Location,
    RegistrationSource,
    SchemaKind,
)
from registry.schemas import schema_for
from registry.selectors import PREFIX_MARK, PREFIX_MIN_LENGTH, document_number_condition, documents_matching
from registry.services import household_create, household_update, individual_create, individual_update


class RateLimited(Exception):
    """The client called more often than its rate: answered 429 with Retry-After (portal/api.py)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class RegistryClientKey(APIKeyHeader):
    """A registry API client's key (Registry → Registry API clients), shown once when made."""

    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> RegistryApiClient | None:
        client = registry_api_client_by_key(key or "", request_address(request))
        if client is None:
            return None
        request.registry_call_started = time.monotonic()  # type: ignore[attr-defined]
        wait = rate_limit_wait(client)
        if wait:
            api_call_record(client=client, request=request, status=429)
            raise RateLimited(wait)
        # The schema's refusals (422, portal/api.py) are written to the trail through this.
        request.registry_call_record = functools.partial(  # type: ignore[attr-defined]
            _record, client=client, request=request
        )
        return client


def _record(status: int, records: int = 0, *, client: RegistryApiClient, request: HttpRequest) -> None:
    if getattr(request, "registry_call_recorded", False):
        return
    request.registry_call_recorded = True  # type: ignore[attr-defined]
    api_call_record(
        client=client,
        request=request,
        status=status,
        records=records,
        started=getattr(request, "registry_call_started", None),
    )


def audited(view: Callable[..., Any]) -> Callable[..., Any]:
    """Every call on the trail with its answer's status and how many records it returned."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            result = view(request, *args, **kwargs)
        except Exception:
            request.registry_call_record(500)  # type: ignore[attr-defined]
            raise
        status, records = 200, 0
        if isinstance(result, Status):
            status = result.status_code
            value = result.value
            if isinstance(value, dict) and isinstance(value.get("items"), list):
                records = len(value["items"])
            elif status in (200, 201):
                records = 1
        request.registry_call_record(status, records)  # type: ignore[attr-defined]
        return result

    return wrapper


router = Router(auth=RegistryClientKey(), tags=["registry"])


# --- Helpers --------------------------------------------------------------------------------------


def _refused(status: int, detail: Any, errors: list[dict[str, str]] | None = None) -> Status:
    return Status(status, {"detail": str(detail), "errors": errors or []})


def _pointers(exc: ValidationError) -> list[dict[str, str]]:
    """The services' errors ({"data.education": [...], "documents": [...]}) as JSON pointers into the body."""
    if not hasattr(exc, "error_dict"):
        return [{"pointer": "", "detail": message} for message in exc.messages]
    errors = []
    for key, messages in exc.message_dict.items():
        pointer = "" if key == "__all__" else "/" + key.replace(".", "/")
        errors.extend({"pointer": pointer, "detail": message} for message in messages)
    return errors


def _invalid(exc: ValidationError, what: str) -> Status:
    return _refused(422, f"The {what} was not stored: see errors.", _pointers(exc))


def _cursor_encode(values: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def _cursor_decode(cursor: str, *, by_time: bool) -> dict[str, Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, dict) or not isinstance(values.get("id"), int):
            raise ValueError
        if by_time:
            at = parse_datetime(values.get("at") or "")
            if at is None:
                raise ValueError
            values["at"] = at
        elif "at" in values:
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValidationError(
            {"query.cursor": "Not a cursor of this search: give the next_cursor of the previous page."}
        ) from None
    return values


def _custom_conditions(kind: str, fields: list[str]) -> Q:
    """key=value pairs as conditions on `data`, keys checked against the schema; errors per pair."""
    properties = schema_for(kind).get("properties") or {}
    condition = Q()
    for index, pair in enumerate(fields):
        key, sep, raw = pair.partition("=")
        if not sep or key not in properties:
            raise ValidationError(
                {
                    f"query.field.{index}": (
                        f"{pair!r}: give key=value with a custom field of {kind}s "
                        f"({', '.join(sorted(properties)) or 'none defined'})."
                    )
                }
            )
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        condition &= json_equals(key, value)
    return condition


def _location_by_code(code: str, client: RegistryApiClient, pointer: str) -> Location | Status:
    location = Location.objects.filter(code=code).first()
    if location is None:
        return _refused(
            422,
            _("Unknown location."),
            [{"pointer": pointer, "detail": str(_("No location %(code)s.") % {"code": repr(code)})}],
        )
    if not client.covers(location.path):
        return _refused(
            403,
            _("Outside this client's locations."),
            [
                {
                    "pointer": pointer,
                    "detail": str(
                        _("%(location)s is outside this client's locations.") % {"location": location}
                    ),
                }
            ],
        )
    return location


def _page(queryset: QuerySet[Any], query: SearchQuery) -> tuple[list[Any], str | None]:
    """Keyset pages: by id, or by (updated_at, id) with modified_since; never OFFSET, never COUNT."""
    by_time = query.modified_since is not None
    if by_time:
        queryset = queryset.filter(updated_at__gte=query.modified_since).order_by("updated_at", "pk")
    else:
        queryset = queryset.order_by("pk")
    if query.cursor:
        after = _cursor_decode(query.cursor, by_time=by_time)
        if by_time:
            queryset = queryset.filter(
                Q(updated_at__gt=after["at"]) | Q(updated_at=after["at"], pk__gt=after["id"])
            )
        else:
            queryset = queryset.filter(pk__gt=after["id"])
    rows = list(queryset[: query.limit + 1])
    next_cursor = None
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        last = rows[-1]
        values: dict[str, Any] = {"id": last.pk}
        if by_time:
            values["at"] = last.updated_at.isoformat()
        next_cursor = _cursor_encode(values)
    return rows, next_cursor


def _search_errors(exc: ValidationError) -> Status:
    return _refused(422, _("The search is not valid: see errors."), _pointers(exc))


def individuals_of(client: RegistryApiClient) -> QuerySet[Individual]:
    current = HouseholdMember.objects.filter(end_date__isnull=True).select_related("household")
    return (
        Individual.objects.filter(client.scope_q())
        .select_related("location")
        .prefetch_related(
            Prefetch("memberships", queryset=current, to_attr="current_memberships"),
            Prefetch("documents", queryset=IdentityDocument.objects.order_by("doc_type", "value")),
        )
    )


def households_of(client: RegistryApiClient) -> QuerySet[Household]:
    current = HouseholdMember.objects.filter(end_date__isnull=True).select_related("individual")
    return (
        Household.objects.filter(client.scope_q())
        .select_related("location")
        .prefetch_related(
            Prefetch("memberships", queryset=current.order_by("pk"), to_attr="current_memberships")
        )
    )


def individual_out(person: Individual) -> dict[str, Any]:
    membership = next(iter(getattr(person, "current_memberships", [])), None)
    return {
        "id": person.pk,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "other_names": person.other_names,
        "sex": person.sex,
        "birth_date": person.birth_date,
        "birth_date_estimated": person.birth_date_estimated,
        "phone": person.phone,
        "location": person.location.code,
        "status": person.status,
        "registration_date": person.registration_date,
        "data": person.data or {},
        "updated_at": person.updated_at,
        "household": (
            {"id": membership.household_id, "code": membership.household.code} if membership else None
        ),
        "role": membership.role if membership else None,
        "is_primary_recipient": bool(membership and membership.is_primary_recipient),
        "documents": [{"type": d.doc_type, "value": d.value} for d in person.documents.all()],
    }


def household_out(household: Household) -> dict[str, Any]:
    return {
        "id": household.pk,
        "code": household.code,
        "location": household.location.code,
        "address": household.address,
        "latitude": household.latitude,
        "longitude": household.longitude,
        "size": household.size,
        "registration_date": household.registration_date,
        "data": household.data or {},
        "updated_at": household.updated_at,
        "members": [
            {
                "individual": m.individual_id,
                "given_name": m.individual.given_name,
                "family_name": m.individual.family_name,
                "role": m.role,
                "is_primary_recipient": m.is_primary_recipient,
            }
            for m in getattr(household, "current_memberships", [])
        ],
    }


def _writer(client: RegistryApiClient) -> Status | None:
    if not client.may_write:
        return _refused(403, _("This client may only read."))
    return None


class _DryRun(Exception):
    """Raised inside a savepoint to undo a validation run of a service."""


def _validate_by_service(run: Callable[[], Any]) -> ValidationError | None:
    """Run a service in a savepoint and undo it: the same validation as the real write, nothing stored."""
    try:
        with transaction.atomic():
            run()
            raise _DryRun
    except _DryRun:
        return None
    except ValidationError as exc:
        return exc


# --- Individuals ----------------------------------------------------------------------------------


@router.get(
    "/individuals",
    response={200: IndividualPage, 422: ErrorsOut},
    summary="Search people",
    url_name="registry_individuals",
)
@audited
def individuals_search(request: HttpRequest, query: Query[IndividualQuery]) -> Status:
    """People of the client's locations, in keyset pages (follow next_cursor)."""
    client: RegistryApiClient = request.auth  # type: ignore[assignment]
    queryset = individuals_of(client)
    try:
        # The registry's one rule for numbers, exact or by prefix (registry.selectors.documents_matching).
        if query.identity_number and (exact := document_number_condition(query.identity_number.rstrip("*"))):
            queryset = queryset.filter(exact)
        if query.identity_number_prefix and query.identity_number_prefix.strip():
            start = query.identity_number_prefix.strip()
            if len(start) < PREFIX_MIN_LENGTH:
                raise ValidationError(
                    {
                        "query.identity_number_prefix": _(
                            "At least %(count)d characters, or the search is too broad."
                        )
                        % {"count": PREFIX_MIN_LENGTH}
                    }
                )
            queryset = queryset.filter(document_number_condition(f"{start}{PREFIX_MARK}"))
        if query.name_prefix and query.name_prefix.strip():
            prefix = query.name_prefix.strip()
            queryset = queryset.filter(Q(family_name__istartswith=prefix) | Q(given_name__istartswith=prefix))
        if query.location:
            queryset = queryset.filter(location__path__startswith=_location_path(query.location))
        if query.field:
            queryset = queryset.filter(_custom_conditions(SchemaKind.INDIVIDUAL, query.field))
        rows, next_cursor = _page(queryset, query)
    except ValidationError as exc:
        return _search_errors(exc)
    return Status(200, {"items": [individual_out(row) for row in rows], "next_cursor": next_cursor})


def _location_path(code: str) -> str:
    path = Location.objects.filter(code=code).values_list("path", flat=True).first()
    if path is None:
        raise ValidationError({"query.location": _("No location %(code)s.") % {"code": repr(code)}})
    return path


@router.get(
    "/individuals/{int:individual_id}",
    response={200: IndividualOut, 404: ErrorsOut},
    summary="One person",
    url_name="registry_individual",
)
@audited
def individual_get(request: HttpRequest, individual_id: int) -> Status:
    person = individuals_of(request.auth).filter(pk=individual_id).first()  # type: ignore[arg-type]
    if person is None:
        return _refused(404, _("No such person among this client's records."))
    return Status(200, individual_out(person))


@router.post(
    "/individuals",
    response={201: IndividualOut, 403: ErrorsOut, 422: ErrorsOut},
    summary="Register a person",
)
@audited
def individual_post(request: HttpRequest, payload: IndividualIn) -> Status:
    """Registered through the registry's service (as in the admin), all checked, all or nothing."""
    client: RegistryApiClient = request.auth  # type: ignore[assignment]
    refusal = _writer(client)
    if refusal:
        return refusal
    location = _location_by_code(payload.location, client, "/location")
    if isinstance(location, Status):
        return location
    try:
        person = individual_create(
            user=client.acting_user,
            given_name=payload.given_name,
            family_name=payload.family_name,
            sex=payload.sex,
            location=location,
            other_names=payload.other_names,
            birth_date=payload.birth_date,
            birth_date_estimated=payload.birth_date_estimated,
            phone=payload.phone,
            registration_source=RegistrationSource.API,
            data=payload.data,
            documents=[(d.type, d.value) for d in payload.documents],
        )
    except ValidationError as exc:
        return _invalid(exc, "person")
    return Status(201, individual_out(individuals_of(client).get(pk=person.pk)))


@router.patch(
    "/individuals/{int:individual_id}",
    response={
        200: IndividualOut,
        202: TaskOut,
        403: ErrorsOut,
        404: ErrorsOut,
        409: ErrorsOut,
        422: ErrorsOut,
    },
    summary="Change a person",
)
@audited
def individual_patch(request: HttpRequest, individual_id: int, payload: IndividualPatch) -> Status:
    """Checked by the registry's service, then asked through maker-checker as in the admin: 200 when it ran
    at once, 202 with the approval task when the policy needs approval."""
    client: RegistryApiClient = request.auth  # type: ignore[assignment]
    refusal = _writer(client)
    if refusal:
        return refusal
    person = individuals_of(client).filter(pk=individual_id).first()
    if person is None:
        return _refused(404, _("No such person among this client's records."))
    given = payload.model_dump(exclude_unset=True)
    data = given.pop("data", None)
    documents = given.pop("documents", None)
    fields = {key: value for key, value in given.items() if value is not None or key == "birth_date"}
    if "location" in fields:
        location = _location_by_code(fields["location"], client, "/location")
        if isinstance(location, Status):
            return location
        fields["location"] = location
    if data is not None:
        merged = dict(person.data or {})
        for key, value in data.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        data = merged
    if documents is not None:
        documents = [(d["type"], d["value"]) for d in documents]
    user = client.acting_user
    problem = _validate_by_service(
        lambda: individual_update(individual=person, user=user, data=data, documents=documents, **fields)
    )
    if problem is not None:
        return _invalid(problem, "change")
    try:
        task = registry_update_request(
            target=person,
            maker=user,
            fields=fields,
            data=data,
            documents=documents,
            reason=f"Registry API: {client}",
        )
    except ValidationError as exc:
        return _refused(409, _(" ").join(exc.messages))
    if task is not None and task.state not in (TaskState.EXECUTED, TaskState.FAILED):
        return Status(202, {"detail": "The change waits for approval.", "task": task.pk, "state": task.state})
    if task is not None and task.state == TaskState.FAILED:
        return _refused(422, f"The change failed: {task.error}")
    return Status(200, individual_out(individuals_of(client).get(pk=person.pk)))


# --- Households -----------------------------------------------------------------------------------


@router.get(
    "/households",
    response={200: HouseholdPage, 422: ErrorsOut},
    summary="Search households",
    url_name="registry_households",
)
@audited
def households_search(request: HttpRequest, query: Query[HouseholdQuery]) -> Status:
    """Households of the client's locations with their current members, in keyset pages."""
    client: RegistryApiClient = request.auth  # type: ignore[assignment]
    queryset = households_of(client)
    try:
        if query.code_prefix and query.code_prefix.strip():
            queryset = queryset.filter(code__startswith=query.code_prefix.strip())
        if query.member_identity_number and (
            documents := documents_matching(query.member_identity_number.strip().rstrip(PREFIX_MARK))
        ):
            people = documents.values("individual_id")
            queryset = queryset.filter(
                pk__in=HouseholdMember.objects.filter(end_date__isnull=True, individual__in=people).values(
                    "household_id"
                )
            )
        if query.location:
            queryset = queryset.filter(location__path__startswith=_location_path(query.location))
        if query.field:
            queryset = queryset.filter(_custom_conditions(SchemaKind.HOUSEHOLD, query.field))
        rows, next_cursor = _page(queryset, query)
    except ValidationError as exc:
        return _search_errors(exc)
    return Status(200, {"items": [household_out(row) for row in rows], "next_cursor": next_cursor})


@router.get(
    "/households/{int:household_id}",
    response={200: HouseholdOut, 404: ErrorsOut},
    summary="One household",
    url_name="registry_household",
)
@audited
def household_get(request: HttpRequest, household_id: int) -> Status:
    household = households_of(request.auth).filter(pk=household_id).first()  # type: ignore[arg-type]
    if household is None:
        return _refused(404, _("No such household among this client's records."))
    return Status(200, household_out(household))


@router.post(
    "/households",
    response={201: HouseholdOut, 403: ErrorsOut, 422: ErrorsOut},
    summary="Register a household",
)
@audited
def household_post(request: HttpRequest, payload: HouseholdIn) -> Status:
    """With its members (people already registered, in no household), under the household rules."""
    client: RegistryApiClient = request.auth  # type: ignore[assignment]
    refusal = _writer(client)
    if refusal:
        return refusal
    location = _location_by_code(payload.location, client, "/location")
    if isinstance(location, Status):
        return location
    ids = [member.individual for member in payload.members]
    people = {person.pk: person for person in Individual.objects.filter(client.scope_q(), pk__in=ids)}
    errors = [
        {
            "pointer": f"/members/{index}/individual",
            "detail": f"No person {member.individual} in this client's records.",
        }
        for index, member in enumerate(payload.members)
        if member.individual not in people
    ]
    if errors:
        return _refused(422, _("The household was not stored: see errors."), errors)
    try:
        household = household_create(
            user=client.acting_user,
            code=payload.code,
            location=location,
            address=payload.address,
            latitude=payload.latitude,
            longitude=payload.longitude,
            data=payload.data,
            members=[(people[m.individual], m.role, m.primary_recipient) for m in payload.members],
        )
    except ValidationError as exc:
        return _invalid(exc, "household")
    return Status(201, household_out(households_of(client).get(pk=household.pk)))


@router.patch(
    "/households/{int:household_id}",
    response={
        200: HouseholdOut,
        202: TaskOut,
        403: ErrorsOut,
        404: ErrorsOut,
        409: ErrorsOut,
        422: ErrorsOut,
    },
    summary="Change a household",
)
@audited
def household_patch(request: HttpRequest, household_id: int, payload: HouseholdPatch) -> Status:
    """As for a person: checked by the service, then through maker-checker (200 at once, 202 when waiting)."""
    client: RegistryApiClient = request.auth  # type: ignore[assignment]
    refusal = _writer(client)
    if refusal:
        return refusal
    household = households_of(client).filter(pk=household_id).first()
    if household is None:
        return _refused(404, _("No such household among this client's records."))
    given = payload.model_dump(exclude_unset=True)
    data = given.pop("data", None)
    fields = {
        key: value for key, value in given.items() if value is not None or key in ("latitude", "longitude")
    }
    if "location" in fields:
        location = _location_by_code(fields["location"], client, "/location")
        if isinstance(location, Status):
            return location
        fields["location"] = location
    if data is not None:
        merged = dict(household.data or {})
        for key, value in data.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        data = merged
    user = client.acting_user
    problem = _validate_by_service(
        lambda: household_update(household=household, user=user, data=data, **fields)
    )
    if problem is not None:
        return _invalid(problem, "change")
    try:
        task = registry_update_request(
            target=household, maker=user, fields=fields, data=data, reason=f"Registry API: {client}"
        )
    except ValidationError as exc:
        return _refused(409, _(" ").join(exc.messages))
    if task is not None and task.state not in (TaskState.EXECUTED, TaskState.FAILED):
        return Status(202, {"detail": "The change waits for approval.", "task": task.pk, "state": task.state})
    if task is not None and task.state == TaskState.FAILED:
        return _refused(422, f"The change failed: {task.error}")
    return Status(200, household_out(households_of(client).get(pk=household.pk)))
