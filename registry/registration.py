"""A household and its members in one go: registered directly, or changed through `registry.update`.

The one-page household form (registry/admin/household_page.py) calls these; so may an API. Errors are keyed
as the page shows them: household fields by their name (`code`, `data.water_source`), a member's by its row
(`members.2.birth_date`, `members.2.documents`, `members.2.data.disability`), the household as a whole under
`members`. Every write goes through `registry.services` (and `registry.approval_actions` for edits), inside
one transaction: a refusal anywhere leaves nothing stored.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from registry.approval_actions import (
    ACTION,
    registry_update_execute,
    registry_update_payload,
)
from registry.models import DocumentType, Household, HouseholdMember, HouseholdRole, Individual, Location
from registry.services import (
    Document,
    household_create,
    identity_documents_normalise,
    individual_create,
)

User = AbstractBaseUser | AnonymousUser
MEMBERS = "members"
# The core fields of a person a member row carries.
PERSON_FIELDS = ("given_name", "family_name", "sex", "birth_date", "phone")


@dataclass
class MemberEntry:
    """One row of the page: a new person, someone already registered joining, or a current member."""

    role: str
    is_primary_recipient: bool = False
    person: dict[str, Any] = field(
        default_factory=dict
    )  # core fields (PERSON_FIELDS) of a new or current member
    data: dict[str, Any] | None = None  # custom fields, the whole set
    documents: list[Document] | None = None  # the whole list
    individual: Individual | None = None  # someone registered before, joining (their record is not edited)
    membership: HouseholdMember | None = None  # a current member (editing)
    leaves: bool = False  # a current member leaving (the membership ends, kept on record)

    @property
    def name(self) -> str:
        if self.membership is not None:
            return str(self.membership.individual)
        if self.individual is not None:
            return str(self.individual)
        return " ".join(str(self.person.get(key) or "") for key in ("given_name", "family_name")).strip()


def row_key(row: int, key: str = "") -> str:
    return f"{MEMBERS}.{row}.{key}" if key else f"{MEMBERS}.{row}"


def _rekey(exc: ValidationError, row: int, *, row_fields: Sequence[str] = ()) -> dict[str, list[str]]:
    """A service's errors as the row's: `given_name` → `members.<row>.given_name`; the rest on the row."""
    if not hasattr(exc, "error_dict"):
        return {row_key(row): list(exc.messages)}
    errors: dict[str, list[str]] = {}
    for key, messages in exc.message_dict.items():
        known = key in row_fields or key.startswith("data.") or key in ("documents", "individual", "role")
        errors.setdefault(row_key(row, key) if known else row_key(row), []).extend(messages)
    return errors


def _merge(errors: dict[str, list[str]], more: dict[str, list[str]]) -> None:
    for key, messages in more.items():
        errors.setdefault(key, []).extend(messages)


ROW_FIELDS = (*PERSON_FIELDS, "is_primary_recipient")


def members_check(entries: Sequence[MemberEntry]) -> dict[str, list[str]]:
    """The rules over the rows themselves, before the database: one head, one primary recipient, nobody
    twice, no identity number twice."""
    errors: dict[str, list[str]] = {}
    kept = [(row, entry) for row, entry in enumerate(entries) if not entry.leaves]
    heads = [(row, entry) for row, entry in kept if entry.role == HouseholdRole.HEAD]
    if not heads:
        errors[MEMBERS] = [_("Mark one member as the head of the household.")]
    for row, _entry in heads[1:]:
        errors.setdefault(row_key(row, "role"), []).append(
            _("A household has one head: %(first)s is already marked as head.") % {"first": heads[0][1].name}
        )
    primaries = [(row, entry) for row, entry in kept if entry.is_primary_recipient]
    for row, _entry in primaries[1:]:
        errors.setdefault(row_key(row, "is_primary_recipient"), []).append(
            _("A household has one primary recipient: %(first)s is already marked.")
            % {"first": primaries[0][1].name}
        )
    people: dict[int, int] = {}
    numbers: dict[Document, int] = {}
    labels = dict(DocumentType.choices)
    for row, entry in kept:
        person = entry.individual or (entry.membership.individual if entry.membership else None)
        if person is not None:
            if person.pk in people:
                errors.setdefault(row_key(row, "individual"), []).append(
                    _("%(person)s is already listed in row %(row)s.")
                    % {"person": person, "row": people[person.pk] + 1}
                )
            people.setdefault(person.pk, row)
        for document in identity_documents_normalise(entry.documents or []):
            if document in numbers and numbers[document] != row:
                errors.setdefault(row_key(row, "documents"), []).append(
                    _("%(type)s %(number)s is also given in row %(row)s.")
                    % {
                        "type": labels.get(document[0], document[0]),
                        "number": document[1],
                        "row": numbers[document] + 1,
                    }
                )
            numbers.setdefault(document, row)
    return errors


def _joining_check(
    entry: MemberEntry, row: int, household: Household | None, location: Location
) -> dict[str, list[str]]:
    """Someone registered before may join if they live here and are in no other household now."""
    individual = entry.individual
    assert individual is not None
    errors: dict[str, list[str]] = {}
    current = (
        HouseholdMember.objects.filter(individual=individual, end_date__isnull=True)
        .select_related("household")
        .first()
    )
    if current is not None and (household is None or current.household_id != household.pk):
        errors[row_key(row, "individual")] = [
            _("%(person)s is already a member of household %(household)s: they must leave it first.")
            % {"person": individual, "household": current.household}
        ]
    elif individual.location_id != location.pk:
        errors[row_key(row, "individual")] = [
            _("%(person)s lives in another location than the household (%(location)s).")
            % {"person": individual, "location": location}
        ]
    return errors


@contextmanager
def _savepoint(errors: dict[str, list[str]], rekey: Any) -> Iterator[None]:
    """Run a service in a savepoint; its refusal goes into `errors` (re-keyed) and the work goes on."""
    try:
        with transaction.atomic():
            yield
    except ValidationError as exc:
        _merge(errors, rekey(exc))


@transaction.atomic
def household_register(
    *,
    code: str,
    location: Location,
    members: Sequence[MemberEntry],
    user: User | None = None,
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> Household:
    """Register a household with its members (new people, or people registered before), all or nothing.

    New people are created by `individual_create` at the household's location, the household and its
    memberships by `household_create` (the household rules of `registry.rules`). Every refusal is gathered
    before raising, keyed by row and field.
    """
    errors = members_check(members)
    people: list[tuple[Individual, str, bool]] = []
    for row, entry in enumerate(members):
        if entry.leaves:
            continue
        if entry.individual is not None:
            _merge(errors, _joining_check(entry, row, None, location))
            people.append((entry.individual, entry.role, entry.is_primary_recipient))
            continue
        if any(key == row_key(row) or key.startswith(row_key(row) + ".") for key in errors):
            continue  # refused on the page already (e.g. a number given twice): no second message
        with _savepoint(errors, lambda exc, row=row: _rekey(exc, row, row_fields=ROW_FIELDS)):
            person = individual_create(
                location=location,
                user=user,
                data=entry.data or {},
                documents=entry.documents or [],
                **{key: value for key, value in entry.person.items() if key in PERSON_FIELDS},
            )
            people.append((person, entry.role, entry.is_primary_recipient))
    household = None

    def household_errors(exc: ValidationError) -> dict[str, list[str]]:
        moved: dict[str, list[str]] = {}
        for key, messages in exc.message_dict.items():
            moved.setdefault(
                MEMBERS if key in ("individual", "role", "is_primary_recipient") else key, []
            ).extend(messages)
        return moved

    with _savepoint(errors, household_errors):
        household = household_create(
            code=code,
            location=location,
            user=user,
            data=data,
            members=[] if errors else people,
            **fields,
        )
    if errors or household is None:
        raise ValidationError(errors)
    return household


def household_change_payload(
    *,
    household: Household,
    members: Sequence[MemberEntry],
    fields: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `registry.update` payload of the page's edit: the household's own changes, each member's record
    (before/after, as for an individual), memberships leaving, changing and joining, new people."""
    changes: dict[str, list[Any]] = {"remove": [], "change": [], "add": []}
    people: list[dict[str, Any]] = []
    new_people: list[dict[str, Any]] = []
    for row, entry in enumerate(members):
        membership = entry.membership
        if membership is not None:
            if entry.leaves:
                changes["remove"].append(membership)
                continue
            if (membership.role, membership.is_primary_recipient) != (
                entry.role,
                bool(entry.is_primary_recipient),
            ):
                changes["change"].append((membership, entry.role, entry.is_primary_recipient))
            change = registry_update_payload(
                target=membership.individual,
                fields={key: value for key, value in entry.person.items() if key in PERSON_FIELDS},
                data=entry.data,
                documents=entry.documents,
            )
            if change:
                people.append(
                    {"row": row, "individual": membership.individual_id, "name": entry.name, "change": change}
                )
        elif entry.leaves:
            continue
        elif entry.individual is not None:
            changes["add"].append((entry.individual, entry.role, entry.is_primary_recipient))
        else:
            new_people.append(
                {
                    "row": row,
                    "name": entry.name,
                    "role": entry.role,
                    "is_primary_recipient": bool(entry.is_primary_recipient),
                    "person": {
                        key: _jsonable(value) for key, value in entry.person.items() if key in PERSON_FIELDS
                    },
                    "data": entry.data or {},
                    "documents": [
                        list(document) for document in identity_documents_normalise(entry.documents or [])
                    ],
                }
            )
    payload = registry_update_payload(target=household, fields=fields, data=data, members=changes)
    rows = _rows_of(members)
    for key in ("remove", "change", "add"):
        for item in payload.get("members", {}).get(key, []):
            item["row"] = rows.get(("membership", item.get("membership"))) or rows.get(
                ("individual", item.get("individual"))
            )
    if new_people:
        payload.setdefault("members", {})["new"] = new_people
    if people:
        payload["people"] = people
    return payload


def _rows_of(members: Sequence[MemberEntry]) -> dict[tuple[str, Any], int]:
    rows: dict[tuple[str, Any], int] = {}
    for row, entry in enumerate(members):
        if entry.membership is not None:
            rows[("membership", entry.membership.pk)] = row
        elif entry.individual is not None:
            rows[("individual", entry.individual.pk)] = row
    return rows


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


class _DryRun(Exception):
    """Raised to roll back a trial run of the change."""


def household_change_request(
    *,
    household: Household,
    maker: AbstractBaseUser,
    members: Sequence[MemberEntry],
    fields: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    reason: str = "",
) -> Any:
    """Ask for the page's edit of a household as one `registry.update` task (None when nothing changes).

    The change is first tried in a savepoint that is always rolled back, through the same executor the
    approval will run: a refusal (two heads, a number used by someone else, a person in another household)
    is raised now, on its row and field, instead of when the checker approves. The approval policy then
    decides: queued, or run at once.
    """
    from approvals.services import approval_request

    errors = members_check(members)
    for row, entry in enumerate(members):
        if entry.individual is not None and entry.membership is None and not entry.leaves:
            _merge(errors, _joining_check(entry, row, household, household.location))
    if errors:
        raise ValidationError(errors)
    payload = household_change_payload(household=household, members=members, fields=fields, data=data)
    if not payload:
        return None
    try:
        with transaction.atomic():
            registry_update_execute(target=household, payload=payload)
            raise _DryRun
    except _DryRun:
        pass
    return approval_request(action=ACTION, target=household, payload=payload, maker=maker, reason=reason)
