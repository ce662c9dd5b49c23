"""The household on one page: the household's fields, then its members as rows (a person each, with their
documents and custom fields), registered through `registry.registration` in one transaction.

The admin's add and change pages of a household render it (registry/admin/households.py); a row's errors
come back from the services keyed `members.<row>.<field>` and are shown on that row's field.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from registry.dates import LocaleDateField
from registry.forms import (
    HouseholdForm,
    custom_field_name,
    custom_fields_form,
    custom_form_field,
)
from registry.models import (
    DocumentType,
    Household,
    HouseholdMember,
    HouseholdRole,
    IdentityDocument,
    Individual,
    SchemaKind,
    Sex,
)
from registry.registration import PERSON_FIELDS, MemberEntry
from registry.schemas import schema_fields, schema_for
from registry.selectors import individual_list, location_list
from registry.services import identity_documents_conflicts

DOCUMENT_SLOTS = 2  # identity documents a new row offers; a member holding more gets a slot for each


def document_field_names(slot: int) -> tuple[str, str]:
    return f"doc_type_{slot}", f"doc_value_{slot}"


class MemberRowForm(forms.Form):
    """One member: a new person, someone registered before (by registry ID), or a current member."""

    membership = forms.IntegerField(required=False, widget=forms.HiddenInput)
    given_name = forms.CharField(label=_("Given name"), max_length=100, required=False)
    family_name = forms.CharField(label=_("Family name"), max_length=100, required=False)
    sex = forms.ChoiceField(label=_("Sex"), choices=[("", "---------"), *Sex.choices], required=False)
    birth_date = LocaleDateField(label=_("Birth date"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    role = forms.ChoiceField(
        label=_("Relationship to the head"),
        choices=[("", "---------"), *HouseholdRole.choices],
        required=False,
    )
    is_primary_recipient = forms.BooleanField(label=_("Primary recipient"), required=False)
    individual = forms.ModelChoiceField(
        label=_("Or: registry ID of someone registered"),
        queryset=Individual.objects.none(),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 8}),
        help_text=_("Leave the person's details empty when you give an ID."),
    )

    def __init__(
        self,
        *args: Any,
        user: Any,
        member: HouseholdMember | None = None,
        document_slots: int = DOCUMENT_SLOTS,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.member = member
        self.document_slots = document_slots
        if member is not None:
            del self.fields["individual"]
        else:
            self.fields["individual"].queryset = individual_list(user=user)
        for slot in range(document_slots):
            type_name, value_name = document_field_names(slot)
            self.fields[type_name] = forms.ChoiceField(
                label=_("Document type"), choices=[("", "---------"), *DocumentType.choices], required=False
            )
            self.fields[value_name] = forms.CharField(label=_("Number"), max_length=64, required=False)
        stored = dict(member.individual.data or {}) if member is not None else {}
        self.custom_fields = schema_fields(schema_for(SchemaKind.INDIVIDUAL))
        for field in self.custom_fields:
            form_field = custom_form_field(field, stored=stored.get(field.name))
            form_field.required = False  # the schema's required fields are checked by the services, per row
            self.fields[custom_field_name(field.name)] = form_field

    @property
    def is_new(self) -> bool:
        return self.member is None

    def document_pairs(self) -> list[tuple[Any, Any]]:
        return [
            (self[type_name], self[value_name])
            for type_name, value_name in map(document_field_names, range(self.document_slots))
        ]

    def custom_bound_fields(self) -> list[Any]:
        return [self[custom_field_name(field.name)] for field in self.custom_fields]

    def documents(self) -> list[tuple[str, str]]:
        pairs = []
        for slot in range(self.document_slots):
            type_name, value_name = document_field_names(slot)
            doc_type, value = (
                self.cleaned_data.get(type_name),
                (self.cleaned_data.get(value_name) or "").strip(),
            )
            if doc_type and value:
                pairs.append((doc_type, value))
        return pairs

    def custom_data(self) -> dict[str, Any]:
        data = dict(self.member.individual.data or {}) if self.member is not None else {}
        for field in self.custom_fields:
            value = self.cleaned_data.get(custom_field_name(field.name))
            if value is None or value == "":
                data.pop(field.name, None)
            else:
                data[field.name] = value.isoformat() if isinstance(value, date) else value
        return data

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("DELETE") or not self.has_changed() and self.is_new:
            return cleaned
        joining = cleaned.get("individual") is not None
        details = [name for name in (*PERSON_FIELDS, *self._document_names()) if cleaned.get(name)]
        if joining and details:
            self.add_error(
                "individual", _("Give either a registered person's ID or a new person's details, not both.")
            )
        if not joining:
            for name in ("given_name", "family_name", "sex"):
                if not cleaned.get(name) and name not in self.errors:
                    self.add_error(name, _("This field is required."))
        if not cleaned.get("role") and "role" not in self.errors:
            self.add_error("role", _("Choose the relationship to the head."))
        for slot in range(self.document_slots):
            type_name, value_name = document_field_names(slot)
            doc_type, value = cleaned.get(type_name), (cleaned.get(value_name) or "").strip()
            if value and not doc_type:
                self.add_error(type_name, _("Choose the type of this document."))
            elif doc_type and not value:
                self.add_error(value_name, _("Enter the number."))
            elif doc_type and value:
                owner = self.member.individual if self.member is not None else None
                problems = identity_documents_conflicts(documents=[(doc_type, value)], individual=owner)
                if problems:
                    self.add_error(value_name, problems[0])
        return cleaned

    def _document_names(self) -> list[str]:
        return [document_field_names(slot)[1] for slot in range(self.document_slots)]

    def entry(self) -> MemberEntry:
        cleaned = self.cleaned_data
        leaves = bool(cleaned.get("DELETE")) or (self.is_new and not self.has_changed())
        return MemberEntry(
            role=cleaned.get("role") or "",
            is_primary_recipient=bool(cleaned.get("is_primary_recipient")),
            person={name: cleaned.get(name) for name in PERSON_FIELDS if name in cleaned}
            if cleaned.get("individual") is None
            else {},
            data=self.custom_data(),
            documents=self.documents(),
            individual=cleaned.get("individual"),
            membership=self.member,
            leaves=leaves,
        )


class MemberRowFormSet(forms.BaseFormSet):
    """The rows; current members first, in the order they joined. Cross-row rules are the services'."""

    def __init__(self, *args: Any, user: Any, members: list[HouseholdMember], **kwargs: Any) -> None:
        self.user, self.members = user, members
        kwargs.setdefault("initial", [member_initial(member) for member in members])
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        member = self.members[index] if index is not None and index < len(self.members) else None
        slots = DOCUMENT_SLOTS
        if member is not None:
            slots = max(DOCUMENT_SLOTS, len(member.individual.documents.all()))
        return {"user": self.user, "member": member, "document_slots": slots}

    def add_fields(self, form: Any, index: int | None) -> None:
        super().add_fields(form, index)
        form.fields["DELETE"].label = _("Leaves the household") if form.member is not None else _("Remove")

    def clean(self) -> None:
        super().clean()
        for form, member in zip(self.forms, self.members, strict=False):
            sent = form.cleaned_data.get("membership") if hasattr(form, "cleaned_data") else None
            if sent != member.pk:
                raise ValidationError(
                    gettext("The household changed while you were editing it: open it again.")
                )

    def entries(self) -> list[MemberEntry]:
        return [form.entry() for form in self.forms]


MemberFormSet = forms.formset_factory(MemberRowForm, formset=MemberRowFormSet, extra=0, can_delete=True)


def member_initial(member: HouseholdMember) -> dict[str, Any]:
    person = member.individual
    initial: dict[str, Any] = {
        "membership": member.pk,
        "role": member.role,
        "is_primary_recipient": member.is_primary_recipient,
        **{name: getattr(person, name) for name in PERSON_FIELDS},
    }
    for slot, document in enumerate(sorted(person.documents.all(), key=lambda d: (d.doc_type, d.value))):
        type_name, value_name = document_field_names(slot)
        initial[type_name], initial[value_name] = document.doc_type, document.value
    for field in schema_fields(schema_for(SchemaKind.INDIVIDUAL)):
        value = (person.data or {}).get(field.name)
        if field.format == "date" and isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                pass
        if value is not None:
            initial[custom_field_name(field.name)] = value
    return initial


def current_members(household: Household | None) -> list[HouseholdMember]:
    """Current members with their person and documents: three queries, whatever the size."""
    if household is None:
        return []
    return list(
        HouseholdMember.objects.filter(household=household, end_date__isnull=True)
        .select_related("individual")
        .prefetch_related(
            Prefetch("individual__documents", queryset=IdentityDocument.objects.order_by("doc_type", "value"))
        )
        .order_by("start_date", "pk")
    )


def household_page_form_class(admin_site: Any) -> type[forms.ModelForm]:
    """The household's own fields and custom fields (the admin form, with the location autocomplete)."""
    base = custom_fields_form(HouseholdForm, kind=SchemaKind.HOUSEHOLD)

    class HouseholdPageForm(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            location = self.fields["location"]
            location.widget = AutocompleteSelect(Household._meta.get_field("location"), admin_site)
            location.queryset = location_list(user=user)  # also gives the new widget its choices

    return HouseholdPageForm


def errors_apply(exc: ValidationError, form: forms.BaseForm, formset: MemberRowFormSet) -> list[str]:
    """Put a service's errors on the field they name; return those naming no field (shown on top)."""
    page: list[str] = []
    if not hasattr(exc, "error_dict"):
        return list(exc.messages)
    for key, messages in exc.message_dict.items():
        parts = key.split(".", 2)
        if (
            parts[0] == "members"
            and len(parts) > 1
            and parts[1].isdigit()
            and int(parts[1]) < len(formset.forms)
        ):
            row = formset.forms[int(parts[1])]
            field = parts[2] if len(parts) > 2 else ""
            for message in messages:
                _row_error(row, field, message)
            continue
        name = custom_field_name(key.removeprefix("data.")) if key.startswith("data.") else key
        for message in messages:
            if name in form.fields:
                form.add_error(name, message)
            else:
                page.append(message)
    return page


def _row_error(row: MemberRowForm, field: str, message: str) -> None:
    if field.startswith("data."):
        field = custom_field_name(field.removeprefix("data."))
    if field == "documents":
        slots = [document_field_names(slot)[1] for slot in range(row.document_slots)]
        values = [(name, (row.cleaned_data.get(name) or "").strip()) for name in slots]
        field = next(
            (name for name, value in values if value and value in message), slots[0] if slots else ""
        )
    if field == "individual" and "individual" not in row.fields:
        field = ""
    row.add_error(field if field in row.fields else None, message)
