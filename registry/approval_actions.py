"""Maker-checker for registry edits: `registry.update`, its request, executor and before/after view.

The payload holds, for every changed item, the value before and after the
change; the executor refuses to run when the record no longer reads as it did
("before") and re-validates everything through the services.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import OuterRef, QuerySet
from django.utils.translation import gettext as _

from access.scope import user_location_paths, user_sees_everywhere
from approvals.actions import Description, action_register
from approvals.services import approval_request
from registry.models import (
    DocumentType,
    Household,
    HouseholdMember,
    HouseholdRole,
    Individual,
    Location,
    SchemaKind,
)
from registry.schemas import schema_fields, schema_for
from registry.selectors import household_list, individual_list
from registry.services import (
    HOUSEHOLD_FIELDS,
    INDIVIDUAL_FIELDS,
    household_member_add,
    household_member_remove,
    household_member_update,
    household_update,
    identity_documents_normalise,
    individual_create,
    individual_update,
)

ACTION = "registry.update"
EMPTY = "—"
Target = Individual | Household


def _kind(target: Target) -> str:
    return SchemaKind.INDIVIDUAL if isinstance(target, Individual) else SchemaKind.HOUSEHOLD


def _editable(target: Target) -> tuple[str, ...]:
    return INDIVIDUAL_FIELDS if isinstance(target, Individual) else HOUSEHOLD_FIELDS


def _serialise(instance: models.Model, name: str) -> Any:
    field = instance._meta.get_field(name)
    if isinstance(field, models.ForeignKey):
        return getattr(instance, field.attname)
    value = getattr(instance, name)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _deserialise(model: type[models.Model], name: str, value: Any) -> Any:
    field = model._meta.get_field(name)
    if isinstance(field, models.ForeignKey):
        return field.related_model.objects.filter(pk=value).first() if value is not None else None
    return field.to_python(value)


def _documents(individual: Individual) -> list[list[str]]:
    return sorted(
        [doc_type, value] for doc_type, value in individual.documents.values_list("doc_type", "value")
    )


def _diff(before: Any, after: Any) -> dict[str, Any] | None:
    return None if before == after else {"before": before, "after": after}


def registry_update_payload(
    *,
    target: Target,
    fields: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    documents: list[Any] | None = None,
    members: dict[str, list[Any]] | None = None,
) -> dict[str, Any]:
    """What would change, as before/after pairs read from the database now; empty when nothing would."""
    current = type(target).objects.get(pk=target.pk)
    payload: dict[str, Any] = {}
    changed_fields = {}
    for name, value in (fields or {}).items():
        if name not in _editable(target):
            raise ValidationError(f"{name!r} cannot be changed this way.")
        probe = type(target)(**{name: value})
        change = _diff(_serialise(current, name), _serialise(probe, name))
        if change:
            changed_fields[name] = change
    if changed_fields:
        payload["fields"] = changed_fields
    if data is not None:
        stored = current.data or {}
        changed_data = {key: _diff(stored.get(key), data.get(key)) for key in sorted(set(stored) | set(data))}
        changed_data = {key: change for key, change in changed_data.items() if change}
        if changed_data:
            payload["data"] = changed_data
    if documents is not None and isinstance(current, Individual):
        wanted = sorted([doc_type, value] for doc_type, value in identity_documents_normalise(documents))
        change = _diff(_documents(current), wanted)
        if change:
            payload["documents"] = change
    if members and isinstance(current, Household):
        changes = _members_payload(members)
        if changes:
            payload["members"] = changes
    return payload


def _members_payload(members: dict[str, list[Any]]) -> dict[str, list[dict[str, Any]]]:
    """members = {"remove": [membership], "change": [(membership, role, primary)],
    "add": [(individual, role, primary)]}."""
    result: dict[str, list[dict[str, Any]]] = {}
    removed = [
        {"membership": m.pk, "individual": m.individual_id, "name": str(m.individual), "role": m.role}
        for m in members.get("remove", [])
    ]
    changed = []
    for membership, role, primary in members.get("change", []):
        entry: dict[str, Any] = {"membership": membership.pk, "name": str(membership.individual)}
        stored = HouseholdMember.objects.get(pk=membership.pk)
        for name, after in (("role", role), ("is_primary_recipient", bool(primary))):
            change = _diff(getattr(stored, name), after)
            if change:
                entry[name] = change
        if len(entry) > 2:
            changed.append(entry)
    added = [
        {
            "individual": individual.pk,
            "name": str(individual),
            "role": role,
            "is_primary_recipient": bool(primary),
        }
        for individual, role, primary in members.get("add", [])
    ]
    for key, items in (("remove", removed), ("change", changed), ("add", added)):
        if items:
            result[key] = items
    return result


def registry_update_request(
    *,
    target: Target,
    maker: AbstractBaseUser,
    fields: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    documents: list[Any] | None = None,
    members: dict[str, list[Any]] | None = None,
    reason: str = "",
) -> Any:
    """Ask for a change of an individual or household; None when nothing would change.

    The approvals service decides: with a policy needing approval the change
    waits as a task; without, it runs at once and is recorded.
    """
    payload = registry_update_payload(
        target=target, fields=fields, data=data, documents=documents, members=members
    )
    if not payload:
        return None
    return approval_request(action=ACTION, target=target, payload=payload, maker=maker, reason=reason)


def _stale(label: str, now: Any) -> str:
    return f"{label} now reads {now if now not in (None, '') else EMPTY}"


@transaction.atomic
def registry_update_execute(
    *, target: Target, payload: dict[str, Any], task: Any = None, **kwargs: Any
) -> dict[str, Any]:
    """Apply an approved change, if the record still reads as it did when the change was asked for."""
    model = type(target)
    current = model.objects.select_for_update().get(pk=target.pk)
    stale: list[str] = []
    fields: dict[str, Any] = {}
    for name, change in payload.get("fields", {}).items():
        if name not in _editable(current):
            raise ValidationError(f"{name!r} cannot be changed this way.")
        now = _serialise(current, name)
        if now != change["before"]:
            stale.append(_stale(_field_label(model, name), _display_field(model, name, now)))
        fields[name] = _deserialise(model, name, change["after"])
    data = None
    if payload.get("data"):
        data = dict(current.data or {})
        for key, change in payload["data"].items():
            if data.get(key) != change["before"]:
                stale.append(_stale(_data_labels(current).get(key, key), data.get(key)))
            if change["after"] is None:
                data.pop(key, None)
            else:
                data[key] = change["after"]
    documents = None
    if "documents" in payload and isinstance(current, Individual):
        if _documents(current) != payload["documents"]["before"]:
            stale.append(_stale("Identity documents", _display_documents(_documents(current))))
        documents = [tuple(document) for document in payload["documents"]["after"]]
    if stale:
        raise ValidationError(
            f"{current} changed after this request was made ({'; '.join(stale)}): ask for the change again."
        )
    if isinstance(current, Individual):
        individual_update(individual=current, data=data, documents=documents, **fields)
    else:
        household_update(household=current, data=data, **fields)
        _people_apply(people=payload.get("people", []))
        _members_apply(household=current, changes=payload.get("members", {}))
    return {
        "changed": sorted([*payload.get("fields", {}), *(f"data.{key}" for key in payload.get("data", {}))])
    }


def _on_row(entry: dict[str, Any], exc: ValidationError) -> ValidationError:
    """An error of one member's change, keyed by the row of the household page it came from (if any)."""
    row = entry.get("row")
    if row is None:
        return exc
    if not hasattr(exc, "error_dict"):
        return ValidationError({f"members.{row}": exc.messages})
    return ValidationError(
        {
            f"members.{row}.{key}" if key != "__all__" else f"members.{row}": m
            for key, m in exc.message_dict.items()
        }
    )


def _people_apply(*, people: list[dict[str, Any]]) -> None:
    """Members' own records changed on the household page: each as an edit of that individual."""
    for entry in people:
        individual = Individual.objects.filter(pk=entry["individual"]).first()
        if individual is None:
            raise ValidationError(_("%(name)s is no longer in the registry.") % {"name": entry["name"]})
        try:
            registry_update_execute(target=individual, payload=entry["change"])
        except ValidationError as exc:
            raise _on_row(entry, exc) from None


def _new_person_create(*, household: Household, entry: dict[str, Any]) -> Individual:
    person = entry["person"]
    fields = {
        name: _deserialise(Individual, name, value)
        for name, value in person.items()
        if name in INDIVIDUAL_FIELDS
    }
    try:
        return individual_create(
            location=household.location,
            data=entry.get("data") or {},
            documents=[tuple(document) for document in entry.get("documents", [])],
            **fields,
        )
    except ValidationError as exc:
        raise _on_row(entry, exc) from None


def _members_apply(*, household: Household, changes: dict[str, list[dict[str, Any]]]) -> None:
    def current_membership(entry: dict[str, Any]) -> HouseholdMember:
        membership = HouseholdMember.objects.filter(
            pk=entry["membership"], household=household, end_date__isnull=True
        ).first()
        if membership is None:
            raise ValidationError(
                f"{entry['name']} is no longer a member of household {household}: ask for the change again."
            )
        return membership

    for entry in changes.get("remove", []):
        try:
            household_member_remove(membership=current_membership(entry))
        except ValidationError as exc:
            raise _on_row(entry, exc) from None
    # Roles that give up head or primary recipient go first, so a swap of the head succeeds.
    ordered = sorted(
        changes.get("change", []),
        key=lambda e: (
            e.get("role", {}).get("after") == HouseholdRole.HEAD
            or bool(e.get("is_primary_recipient", {}).get("after"))
        ),
    )
    for entry in ordered:
        membership = current_membership(entry)
        for name in ("role", "is_primary_recipient"):
            if name in entry and getattr(membership, name) != entry[name]["before"]:
                raise ValidationError(
                    f"{entry['name']}'s {name.replace('_', ' ')} changed after this request: ask again."
                )
        try:
            household_member_update(
                membership=membership,
                role=entry.get("role", {}).get("after"),
                is_primary_recipient=entry.get("is_primary_recipient", {}).get("after"),
            )
        except ValidationError as exc:
            raise _on_row(entry, exc) from None
    for entry in [*changes.get("add", []), *changes.get("new", [])]:
        if "person" in entry:
            individual = _new_person_create(household=household, entry=entry)
        else:
            individual = Individual.objects.filter(pk=entry["individual"]).first()
            if individual is None:
                raise ValidationError(f"{entry['name']} is no longer in the registry.")
        try:
            household_member_add(
                household=household,
                individual=individual,
                role=entry["role"],
                is_primary_recipient=entry["is_primary_recipient"],
            )
        except ValidationError as exc:
            raise _on_row(entry, exc) from None


def _field_label(model: type[models.Model], name: str) -> str:
    return str(model._meta.get_field(name).verbose_name).capitalize()


def _display_field(model: type[models.Model], name: str, value: Any) -> Any:
    if value is None or value == "":
        return EMPTY
    field = model._meta.get_field(name)
    if isinstance(field, models.ForeignKey):
        return str(Location.objects.filter(pk=value).first() or value)
    if field.choices:
        return dict(field.flatchoices).get(value, value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return value


def _data_labels(target: Target) -> dict[str, str]:
    return {field.name: field.label for field in schema_fields(schema_for(_kind(target)))}


def _display_value(value: Any) -> Any:
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return value


def _display_documents(documents: list[list[str]]) -> str:
    labels = dict(DocumentType.choices)
    return "; ".join(f"{labels.get(doc_type, doc_type)} {value}" for doc_type, value in documents) or EMPTY


def _display_member(role: str | None, primary: bool | None) -> str:
    if role is None:
        return EMPTY
    text = str(dict(HouseholdRole.choices).get(role, role))
    return f"{text}, primary recipient" if primary else text


def _household_page_rows(payload: dict[str, Any]) -> list[tuple[str, object, object]]:
    """The household page's extra changes: new people, and each member's own record, by name."""
    rows: list[tuple[str, object, object]] = []
    for entry in payload.get("members", {}).get("new", []):
        rows.append(
            (
                _("New person %(name)s") % {"name": entry["name"]},
                _("not registered"),
                _display_member(entry["role"], entry["is_primary_recipient"]),
            )
        )
    for entry in payload.get("people", []):
        person = Individual(pk=entry["individual"])
        for label, before, after in registry_update_describe(target=person, payload=entry["change"]).changes:
            rows.append((f"{entry['name']}: {label}", before, after))
    return rows


def registry_update_describe(*, target: Target | None, payload: dict[str, Any]) -> Description:
    """Before/after rows with field labels, for the checker."""
    if target is None:
        return Description(summary="The record was deleted.")
    model = type(target)
    rows: list[tuple[str, object, object]] = []
    for name, change in payload.get("fields", {}).items():
        rows.append(
            (
                _field_label(model, name),
                _display_field(model, name, change["before"]),
                _display_field(model, name, change["after"]),
            )
        )
    labels = _data_labels(target)
    for key, change in payload.get("data", {}).items():
        rows.append(
            (
                labels.get(key, f"{key} (no longer a custom field)"),
                _display_value(change["before"]),
                _display_value(change["after"]),
            )
        )
    if "documents" in payload:
        rows.append(
            (
                "Identity documents",
                _display_documents(payload["documents"]["before"]),
                _display_documents(payload["documents"]["after"]),
            )
        )
    members = payload.get("members", {})
    for entry in members.get("remove", []):
        rows.append(
            (f"Member {entry['name']}", _display_member(entry.get("role"), False), "leaves the household")
        )
    for entry in members.get("change", []):
        role = entry.get("role", {})
        primary = entry.get("is_primary_recipient", {})
        rows.append(
            (
                f"Member {entry['name']}",
                ", ".join(
                    str(x)
                    for x in (
                        dict(HouseholdRole.choices).get(role.get("before"), ""),
                        "primary recipient" if primary.get("before") else "",
                    )
                    if x
                )
                or EMPTY,
                ", ".join(
                    str(x)
                    for x in (
                        dict(HouseholdRole.choices).get(role.get("after"), ""),
                        "primary recipient" if primary.get("after") else "",
                    )
                    if x
                )
                or EMPTY,
            )
        )
    for entry in members.get("add", []):
        rows.append(
            (
                f"Member {entry['name']}",
                "not a member",
                _display_member(entry["role"], entry["is_primary_recipient"]),
            )
        )
    rows.extend(_household_page_rows(payload))
    noun = "individual" if isinstance(target, Individual) else "household"
    return Description(changes=rows, summary=f"Edit of {noun} {target}: {len(rows)} change(s).")


def registry_target_visible(user: AbstractBaseUser | AnonymousUser, target: Target) -> bool:
    """Is the target in the user's locations? One primary-key lookup (approval lists ask it per task)."""
    if user_sees_everywhere(user):
        return True
    paths = user_location_paths(user)
    if not paths:
        return False
    path = Location.objects.filter(pk=target.location_id).values_list("path", flat=True).first() or ""
    return any(path.startswith(prefix) for prefix in paths)


def registry_targets_visible(user: AbstractBaseUser | AnonymousUser) -> list[QuerySet]:
    """The people and households in the user's locations, as SQL the approval lists filter tasks with.

    Correlated to the task row (`pk = task.object_id`): one primary-key probe per pending task, where
    `object_id IN (<everyone in scope>)` would hash the whole individual table (1.3 s at 1.1M people).
    """
    return [
        individual_list(user=user).filter(pk=OuterRef("object_id")),
        household_list(user=user).filter(pk=OuterRef("object_id")),
    ]


def register() -> None:
    action_register(
        ACTION,
        label="Edit registry data",
        executor=registry_update_execute,
        describer=registry_update_describe,
        can_view=registry_target_visible,
        visible=registry_targets_visible,
    )
