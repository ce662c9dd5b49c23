"""Writes to the registry. Admin, API, jobs and tests call these, never the models directly."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Concat, Substr

from access.scope import user_location_paths, user_sees_everywhere
from registry import rules
from registry.custom_fields import schema_change_check
from registry.models import (
    PATH_STEP,
    DocumentType,
    Household,
    HouseholdMember,
    HouseholdRole,
    IdentityDocument,
    Individual,
    Location,
    RegistrySchema,
    SchemaKind,
    location_path_segment,
)
from registry.rules import member_checks as _member_checks
from registry.schemas import EMPTY_SCHEMA, MODEL_BY_KIND, custom_data_validate, schema_check

User = AbstractBaseUser | AnonymousUser


def location_rebuild_path(*, location: Location) -> None:
    """Set path and depth from the parent; rewrite the whole subtree in one UPDATE on a move.

    Not atomic on its own: each write is one statement, and the undo on a cycle must survive the raise.
    """
    parent_path = ""
    if location.parent_id:
        parent_path = Location.objects.values_list("path", flat=True).get(pk=location.parent_id)
    new_path = parent_path + location_path_segment(location.pk)
    old_path = Location.objects.values_list("path", flat=True).get(pk=location.pk)
    if old_path == new_path:
        return
    new_depth = len(new_path) // (PATH_STEP + 1) - 1
    if old_path and parent_path.startswith(old_path):
        # Location.save() wrote the new parent before calling us: put back the
        # old one, which the unchanged path still names, so nothing is half-written.
        segments = old_path.rstrip(".").split(".")
        old_parent_id = int(segments[-2]) if len(segments) > 1 else None
        Location.objects.filter(pk=location.pk).update(parent_id=old_parent_id)
        raise ValidationError(
            {"parent": f"{location.parent} lies under {location}: that would make a cycle."}
        )
    if old_path:
        old_depth = len(old_path) // (PATH_STEP + 1) - 1
        Location.objects.filter(path__startswith=old_path).update(
            path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
            depth=F("depth") + (new_depth - old_depth),
        )
    else:
        Location.objects.filter(pk=location.pk).update(path=new_path, depth=new_depth)
    location.path, location.depth = new_path, new_depth


# --- Individuals, households and membership ---------------------------------

INDIVIDUAL_FIELDS = (
    "given_name",
    "family_name",
    "other_names",
    "sex",
    "birth_date",
    "birth_date_estimated",
    "phone",
    "location",
    "registration_date",
    "registration_source",
    "status",
)
HOUSEHOLD_FIELDS = ("code", "location", "address", "latitude", "longitude", "registration_date")
Document = tuple[str, str]


def _location_check(*, user: User | None, location: Location | None, field: str = "location") -> None:
    """A user may only put records in their own locations (None: the system itself)."""
    if user is None or location is None or user_sees_everywhere(user):
        return
    if not any(location.path.startswith(path) for path in user_location_paths(user)):
        raise ValidationError({field: f"{location} is outside your locations."})


def _full_clean(instance: Individual | Household, *, exclude: Sequence[str] = ()) -> None:
    """Core-field validation by the model (types, choices, lengths), constraints left to the services."""
    instance.full_clean(exclude=["data", *exclude], validate_unique=False, validate_constraints=False)


def identity_documents_normalise(documents: Iterable[Any]) -> list[Document]:
    """Documents as (type, value) pairs with the value stripped; accepts pairs or dicts."""
    pairs: list[Document] = []
    for document in documents:
        if isinstance(document, dict):
            doc_type, value = document.get("doc_type", ""), document.get("value", "")
        else:
            doc_type, value = document
        pairs.append((str(doc_type), str(value).strip()))
    return pairs


def identity_documents_check(
    *, documents: Sequence[Document], individual: Individual | None = None
) -> list[Document]:
    """Check types, blanks, repeats and documents already used by someone else; errors under `documents`."""
    documents = identity_documents_normalise(documents)
    labels = dict(DocumentType.choices)
    problems: list[str] = []
    seen: set[Document] = set()
    for doc_type, value in documents:
        if doc_type not in labels:
            problems.append(f"{doc_type!r} is not a document type ({', '.join(labels)}).")
        elif not value:
            problems.append(f"{labels[doc_type]}: enter the number.")
        elif (doc_type, value) in seen:
            problems.append(f"{labels[doc_type]} {value} is listed twice.")
        seen.add((doc_type, value))
    if problems:
        raise ValidationError({"documents": problems})
    problems = identity_documents_conflicts(documents=documents, individual=individual)
    if problems:
        raise ValidationError({"documents": problems})
    return documents


def identity_documents_conflicts(
    *, documents: Sequence[Document], individual: Individual | None = None
) -> list[str]:
    """Messages for documents already held by another person (one query)."""
    if not documents:
        return []
    condition = Q()
    for doc_type, value in documents:
        condition |= Q(doc_type=doc_type, value=value)
    taken = IdentityDocument.objects.filter(condition).select_related("individual")
    if individual is not None and individual.pk:
        taken = taken.exclude(individual_id=individual.pk)
    return [
        f"{document.get_doc_type_display()} {document.value} is already used by "
        f"{document.individual} (id {document.individual_id})."
        for document in taken
    ]


def _documents_write(*, individual: Individual, documents: Sequence[Document]) -> None:
    current = {(d.doc_type, d.value): d for d in individual.documents.all()}
    wanted = set(documents)
    for key, document in current.items():
        if key not in wanted:
            document.delete()
    try:
        with transaction.atomic():
            for doc_type, value in documents:
                if (doc_type, value) not in current:
                    IdentityDocument.objects.create(individual=individual, doc_type=doc_type, value=value)
    except IntegrityError:
        # Someone registered the same document since the check: report it like the check does.
        problems = identity_documents_conflicts(documents=documents, individual=individual)
        raise ValidationError(
            {"documents": problems or ["An identity document is already used by someone else."]}
        ) from None


@transaction.atomic
def individual_create(
    *,
    given_name: str,
    family_name: str,
    sex: str,
    location: Location,
    user: User | None = None,
    data: dict[str, Any] | None = None,
    documents: Sequence[Any] = (),
    **fields: Any,
) -> Individual:
    """Register a person with their custom fields and identity documents; all checked, all or nothing."""
    unknown = set(fields) - set(INDIVIDUAL_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown individual field(s): {', '.join(sorted(unknown))}.")
    individual = Individual(
        given_name=given_name, family_name=family_name, sex=sex, location=location, **fields
    )
    errors: dict[str, Any] = {}
    for check in (
        lambda: _full_clean(individual),
        lambda: _location_check(user=user, location=location),
        lambda: _birth_date_check(individual.birth_date),
    ):
        try:
            check()
        except ValidationError as exc:
            errors.update(exc.message_dict)
    try:
        individual.data = custom_data_validate(kind=SchemaKind.INDIVIDUAL, data=data or {})
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        documents = identity_documents_check(documents=documents)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    individual.save()
    _documents_write(individual=individual, documents=documents)
    return individual


def _birth_date_check(birth_date: date | None) -> None:
    if birth_date and birth_date > date.today():
        raise ValidationError({"birth_date": "The birth date is in the future."})


@transaction.atomic
def individual_update(
    *,
    individual: Individual,
    user: User | None = None,
    data: dict[str, Any] | None = None,
    documents: Sequence[Any] | None = None,
    **fields: Any,
) -> Individual:
    """Change core fields, custom fields (`data`, the whole new set) and/or documents (the whole new list)."""
    unknown = set(fields) - set(INDIVIDUAL_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown individual field(s): {', '.join(sorted(unknown))}.")
    individual = Individual.objects.select_for_update().get(pk=individual.pk)
    errors: dict[str, Any] = {}
    previous_location = individual.location
    for name, value in fields.items():
        setattr(individual, name, value)
    try:
        _full_clean(individual)
        _birth_date_check(individual.birth_date)
        _location_check(user=user, location=previous_location)
        if "location" in fields:
            _location_check(user=user, location=individual.location)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if data is not None:
        try:
            individual.data = custom_data_validate(
                kind=SchemaKind.INDIVIDUAL, data=data, previous=individual.data
            )
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if documents is not None:
        try:
            documents = identity_documents_check(documents=documents, individual=individual)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    individual.save()
    if documents is not None:
        _documents_write(individual=individual, documents=documents)
    return individual


@transaction.atomic
def individuals_delete(*, individuals: QuerySet[Individual]) -> int:
    """Delete people; their documents and memberships go with them and their households are recounted.

    The references from documents and memberships have no database constraint (see models.py), so the
    cascade is Django's; the households' stored size would otherwise still count the deleted members.
    A person who is a beneficiary is protected: the delete raises ProtectedError and nothing changes.
    """
    households = list(
        HouseholdMember.objects.filter(individual__in=individuals.values("pk"), end_date__isnull=True)
        .order_by()
        .values_list("household_id", flat=True)
        .distinct()
    )
    deleted, _ = individuals.delete()
    household_sizes_refresh(households=households)
    return deleted


@transaction.atomic
def household_create(
    *,
    code: str,
    location: Location,
    user: User | None = None,
    data: dict[str, Any] | None = None,
    members: Sequence[tuple[Individual, str, bool | None]] = (),
    **fields: Any,
) -> Household:
    """Register a household, empty (add members with household_member_add) or with its `members`, given as
    (individual, role, designated primary recipient), under the household rules (`registry.rules`): exactly
    one head, at most one designated primary recipient (else the head), all living at its location."""
    unknown = set(fields) - set(HOUSEHOLD_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown household field(s): {', '.join(sorted(unknown))}.")
    household = Household(code=code.strip(), location=location, **fields)
    errors: dict[str, Any] = {}
    try:
        _full_clean(household)
        _location_check(user=user, location=location)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if household.code and Household.objects.filter(code=household.code).exists():
        errors.setdefault("code", []).append(f"Household code {household.code} is already used.")
    try:
        household.data = custom_data_validate(kind=SchemaKind.HOUSEHOLD, data=data or {})
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if members:
        rule_members = [
            (individual, role, bool(primary), individual.location_id) for individual, role, primary in members
        ]
        try:
            rules.new_household_members_check(code=household.code, members=rule_members)
            if any(member[3] != location.pk for member in rule_members):
                raise ValidationError(
                    {"location": f"Household {household.code} lives in {location}: so must its members."}
                )
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            household.save()
    except IntegrityError:
        raise ValidationError({"code": f"Household code {household.code} is already used."}) from None
    if members:
        for (individual, role, _primary, _location), primary in zip(
            rule_members, rules.members_primary(rule_members), strict=True
        ):
            individual = Individual.objects.select_for_update().filter(pk=individual.pk).first()
            if individual is None:
                raise ValidationError({"individual": "This person is no longer in the registry."})
            _not_in_other_household(individual=individual, household=household)
            _member_insert(
                household=household,
                individual=individual,
                role=role,
                is_primary_recipient=primary,
                start_date=date.today(),
            )
        household_sizes_refresh(households=[household.pk])
        household.refresh_from_db(fields=["size"])
    return household


@transaction.atomic
def household_update(
    *, household: Household, user: User | None = None, data: dict[str, Any] | None = None, **fields: Any
) -> Household:
    """Change a household's core fields and/or custom fields (`data`, the whole new set)."""
    unknown = set(fields) - set(HOUSEHOLD_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown household field(s): {', '.join(sorted(unknown))}.")
    household = Household.objects.select_for_update().get(pk=household.pk)
    errors: dict[str, Any] = {}
    previous_location = household.location
    for name, value in fields.items():
        setattr(household, name, value)
    try:
        _full_clean(household)
        _location_check(user=user, location=previous_location)
        if "location" in fields:
            _location_check(user=user, location=household.location)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if "code" in fields and Household.objects.filter(code=household.code).exclude(pk=household.pk).exists():
        errors.setdefault("code", []).append(f"Household code {household.code} is already used.")
    if data is not None:
        try:
            household.data = custom_data_validate(
                kind=SchemaKind.HOUSEHOLD, data=data, previous=household.data
            )
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            household.save()
    except IntegrityError:
        raise ValidationError({"code": f"Household code {household.code} is already used."}) from None
    return household


def _size_expression() -> Coalesce:
    current = (
        HouseholdMember.objects.filter(household=OuterRef("pk"), end_date__isnull=True)
        .order_by()
        .values("household")
        .annotate(members=Count("pk"))
        .values("members")
    )
    return Coalesce(Subquery(current), Value(0))


def household_sizes_refresh(*, households: QuerySet[Household] | Iterable[Any] | None = None) -> int:
    """Recount current members in one UPDATE: all households, or those given (queryset, objects or ids)."""
    target = Household.objects.all()
    if households is not None:
        if isinstance(households, QuerySet):
            target = target.filter(pk__in=households.values("pk"))
        else:
            ids = [getattr(household, "pk", household) for household in households]
            target = target.filter(pk__in=ids)
    return target.update(size=_size_expression())


def _household_lock(household: Household) -> Household:
    return Household.objects.select_for_update().get(pk=household.pk)


def _member_insert(**values: Any) -> HouseholdMember:
    try:
        with transaction.atomic():
            return HouseholdMember.objects.create(**values)
    except IntegrityError:
        # A concurrent write got there first; the checks, run again, name it.
        _member_checks(
            household=values["household"],
            role=values["role"],
            is_primary_recipient=values.get("is_primary_recipient", False),
        )
        _not_in_other_household(individual=values["individual"])
        raise ValidationError(
            "This membership conflicts with another one written at the same time; try again."
        ) from None


def _not_in_other_household(*, individual: Individual, household: Household | None = None) -> None:
    membership = (
        HouseholdMember.objects.filter(individual=individual, end_date__isnull=True)
        .select_related("household")
        .first()
    )
    if membership is None:
        return
    if household is not None and membership.household_id == household.pk:
        raise ValidationError(
            {"individual": f"{individual} is already a member of household {membership.household}."}
        )
    raise ValidationError(
        {
            "individual": f"{individual} is already a member of household {membership.household} "
            f"(since {membership.start_date:%Y-%m-%d}): move them instead."
        }
    )


@transaction.atomic
def household_member_add(
    *,
    household: Household,
    individual: Individual,
    role: str,
    is_primary_recipient: bool | None = None,
    start_date: date | None = None,
    user: User | None = None,
) -> HouseholdMember:
    """Add a person who is in no household now; keeps the household rules (`registry.rules`): one head, one
    primary recipient (the head when nobody is designated), the size."""
    household = _household_lock(household)
    # The database checks no FK of memberships (registry/models.py, IdentityDocument): locking both rows
    # keeps either from being deleted before this membership is committed.
    individual = Individual.objects.select_for_update().filter(pk=individual.pk).first()
    if individual is None:
        raise ValidationError({"individual": "This person is no longer in the registry."})
    _location_check(user=user, location=household.location, field="household")
    _not_in_other_household(individual=individual, household=household)
    is_primary_recipient = rules.primary_recipient_default(
        role=role,
        designated=is_primary_recipient,
        household_has_primary=role == HouseholdRole.HEAD
        and HouseholdMember.objects.filter(
            household=household, end_date__isnull=True, is_primary_recipient=True
        ).exists(),
    )
    _member_checks(household=household, role=role, is_primary_recipient=is_primary_recipient)
    membership = _member_insert(
        household=household,
        individual=individual,
        role=role,
        is_primary_recipient=is_primary_recipient,
        start_date=start_date or date.today(),
    )
    household_sizes_refresh(households=[household.pk])
    return membership


@transaction.atomic
def household_member_update(
    *,
    membership: HouseholdMember,
    role: str | None = None,
    is_primary_recipient: bool | None = None,
    user: User | None = None,
) -> HouseholdMember:
    """Change the role or the primary-recipient flag of a current member."""
    household = _household_lock(membership.household)
    membership = HouseholdMember.objects.select_related("individual").get(pk=membership.pk)
    if membership.end_date is not None:
        raise ValidationError(f"{membership.individual} left household {household} on {membership.end_date}.")
    _location_check(user=user, location=household.location, field="household")
    role = membership.role if role is None else role
    primary = membership.is_primary_recipient if is_primary_recipient is None else is_primary_recipient
    _member_checks(
        household=household,
        role=role,
        is_primary_recipient=primary,
        exclude_pk=membership.pk,
    )
    membership.role, membership.is_primary_recipient = role, primary
    try:
        with transaction.atomic():
            membership.save()
    except IntegrityError:
        raise ValidationError(
            "Another change to this household's head or primary recipient came first; try again."
        ) from None
    return membership


@transaction.atomic
def household_member_remove(
    *, membership: HouseholdMember, end_date: date | None = None, user: User | None = None
) -> HouseholdMember:
    """End a membership (the record stays: moves and departures are kept)."""
    household = _household_lock(membership.household)
    membership = HouseholdMember.objects.select_related("individual").get(pk=membership.pk)
    _location_check(user=user, location=household.location, field="household")
    if membership.end_date is not None:
        raise ValidationError(
            f"{membership.individual} already left household {household} on {membership.end_date}."
        )
    end_date = end_date or date.today()
    if end_date < membership.start_date:
        raise ValidationError({"end_date": f"The end date is before the start ({membership.start_date})."})
    membership.end_date = end_date
    membership.save()
    household_sizes_refresh(households=[household.pk])
    return membership


@transaction.atomic
def household_member_move(
    *,
    individual: Individual,
    household: Household,
    role: str,
    is_primary_recipient: bool | None = None,
    on: date | None = None,
    user: User | None = None,
) -> HouseholdMember:
    """Move a person to another household: the old membership ends on `on`, the new one starts then."""
    on = on or date.today()
    current = HouseholdMember.objects.filter(individual=individual, end_date__isnull=True).first()
    if current is not None:
        if current.household_id == household.pk:
            raise ValidationError(
                {"household": f"{individual} is already a member of household {household}."}
            )
        household_member_remove(membership=current, end_date=on, user=user)
    return household_member_add(
        household=household,
        individual=individual,
        role=role,
        is_primary_recipient=is_primary_recipient,
        start_date=on,
        user=user,
    )


@transaction.atomic
def registry_schema_save(*, kind: str, schema: Any) -> RegistrySchema:
    """Store a checked schema. Stored values are never touched: old keys stay, new required keys
    apply to new writes; a type or constraint that stored values would break is refused."""
    if kind not in SchemaKind.values:
        raise ValidationError({"kind": f"{kind!r} is not a schema kind ({', '.join(SchemaKind.values)})."})
    schema = schema_check(schema)
    record, _ = RegistrySchema.objects.select_for_update().get_or_create(
        kind=kind, defaults={"schema": EMPTY_SCHEMA}
    )
    # Under the row lock: a change that stored values would break is refused with their count.
    schema_change_check(
        MODEL_BY_KIND[SchemaKind(kind)].objects.all(), old=record.schema, new=schema, field="schema"
    )
    record.schema = schema
    record.save()
    return record
