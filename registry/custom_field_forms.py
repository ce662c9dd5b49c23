"""The custom-fields form: one row per field (labels per language, type, choices, bounds, section, order),
written as the JSON Schema the registry and the plans already use."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from registry.custom_fields import (
    BOUNDED_TYPES,
    FIELD_TYPES,
    VALUE_KEYWORDS,
    FieldDefinition,
    definitions_schema,
    languages,
    schema_definitions,
)
from registry.schemas import FIELD_NAME

LANGUAGE_NAMES = dict(settings.LANGUAGES)
CHOICE_SEPARATOR = "|"


def label_field_name(code: str) -> str:
    return f"label_{code}"


def _choices_text(choices: list[tuple[str, dict[str, str]]]) -> str:
    lines = []
    for value, labels in choices:
        cells = [value, *[labels.get(code, "") for code in languages()]]
        while len(cells) > 1 and not cells[-1]:
            cells.pop()
        lines.append(f" {CHOICE_SEPARATOR} ".join(cells))
    return "\n".join(lines)


class CustomFieldForm(forms.Form):
    """One custom field. An existing field's key is fixed: a new key is a new field."""

    key = forms.CharField(
        label=_("Key"),
        max_length=63,
        help_text=_("Lower-case letters, digits and _, starting with a letter. It cannot change later."),
    )
    type = forms.ChoiceField(label=_("Type"), choices=FIELD_TYPES, initial="text")
    help_text = forms.CharField(label=_("Help text"), required=False, max_length=500)
    section = forms.CharField(
        label=_("Section"),
        required=False,
        max_length=100,
        help_text=_("Fields of the same section are shown together."),
    )
    required = forms.BooleanField(label=_("Required"), required=False)
    minimum = forms.FloatField(
        label=_("Minimum"),
        required=False,
        help_text=_("Smallest value (numbers) or fewest characters (text)."),
    )
    maximum = forms.FloatField(
        label=_("Maximum"),
        required=False,
        help_text=_("Largest value (numbers) or most characters (text)."),
    )
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        codes = languages()
        for position, code in enumerate(codes):
            self.fields[label_field_name(code)] = forms.CharField(
                label=_("Label (%(language)s)") % {"language": LANGUAGE_NAMES.get(code, code)},
                required=False,
                max_length=200,
            )
            if position == 0:
                self.fields[label_field_name(code)].help_text = _("Required for a new field.")
        names = ", ".join(str(LANGUAGE_NAMES.get(code, code)) for code in codes)
        self.fields["choices"].help_text = _(
            "For one or several choices: one choice a line, as value %(sep)s label in %(names)s "
            "(labels left out fall back to the first)."
        ) % {"sep": CHOICE_SEPARATOR, "names": names}
        order = ["key", "type", *[label_field_name(code) for code in codes]]
        self.order_fields(order)
        if self.initial.get("key"):
            self.fields["key"].disabled = True
            self.fields["key"].help_text = _("A field's key cannot change: add a new field for a new key.")

    @property
    def is_existing(self) -> bool:
        return bool(self.initial.get("key"))

    def clean_key(self) -> str:
        key = (self.cleaned_data.get("key") or "").strip()
        if not FIELD_NAME.match(key):
            raise ValidationError(
                _("Use lower-case letters, digits and _, starting with a letter (at most 63 characters).")
            )
        return key

    def clean_choices(self) -> list[tuple[str, dict[str, str]]]:
        codes = languages()
        parsed: list[tuple[str, dict[str, str]]] = []
        seen: set[str] = set()
        for number, line in enumerate((self.cleaned_data.get("choices") or "").splitlines(), start=1):
            if not line.strip():
                continue
            cells = [cell.strip() for cell in line.split(CHOICE_SEPARATOR)]
            value = cells[0]
            if not value:
                raise ValidationError(
                    _("Line %(number)s has no value before the first |.") % {"number": number}
                )
            if len(cells) - 1 > len(codes):
                raise ValidationError(
                    _("Line %(number)s has more labels than languages (%(count)s).")
                    % {"number": number, "count": len(codes)}
                )
            if value in seen:
                raise ValidationError(_("The choice %(value)s is listed twice.") % {"value": value})
            seen.add(value)
            parsed.append((value, {code: text for code, text in zip(codes, cells[1:], strict=False) if text}))
        return parsed

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.has_changed() and not self.is_existing:
            return cleaned
        kind = cleaned.get("type")
        low, high = cleaned.get("minimum"), cleaned.get("maximum")
        default_label = label_field_name(languages()[0])
        if not any(cleaned.get(label_field_name(code)) for code in languages()):
            self.add_error(default_label, _("Give the field a label."))
        if kind in ("choice", "choices"):
            if "choices" in cleaned and not cleaned["choices"]:
                self.add_error("choices", _("List the choices, one a line."))
        elif cleaned.get("choices"):
            self.add_error("choices", _("Only a field of one or several choices has choices."))
        if kind not in BOUNDED_TYPES:
            for name in ("minimum", "maximum"):
                if cleaned.get(name) is not None:
                    self.add_error(name, _("Only text, number and whole-number fields have bounds."))
        else:
            whole = kind in ("text", "integer")
            for name in ("minimum", "maximum"):
                value = cleaned.get(name)
                if value is not None and whole and not float(value).is_integer():
                    self.add_error(name, _("Enter a whole number."))
                if value is not None and kind == "text" and value < 0:
                    self.add_error(name, _("A number of characters cannot be negative."))
            if low is not None and high is not None and low > high:
                self.add_error("maximum", _("The maximum is below the minimum."))
        return cleaned

    def definition(self) -> FieldDefinition:
        data = self.cleaned_data
        return FieldDefinition(
            key=data["key"],
            type=data["type"],
            labels={code: data.get(label_field_name(code)) or "" for code in languages()},
            help_text=data.get("help_text") or "",
            required=bool(data.get("required")),
            minimum=data.get("minimum"),
            maximum=data.get("maximum"),
            choices=data.get("choices") or [],
            section=data.get("section") or "",
        )


def definition_initial(definition: FieldDefinition) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "key": definition.key,
        "type": definition.type,
        "help_text": definition.help_text,
        "section": definition.section,
        "required": definition.required,
        "minimum": definition.minimum,
        "maximum": definition.maximum,
        "choices": _choices_text(definition.choices),
    }
    for code in languages():
        initial[label_field_name(code)] = definition.labels.get(code, "")
    return initial


# Which row field a refused change is shown on, by the schema keyword that changed.
KEYWORD_FIELDS = {
    "type": "type",
    "format": "type",
    "items": "choices",
    "enum": "choices",
    "uniqueItems": "choices",
    "minimum": "minimum",
    "minLength": "minimum",
    "maximum": "maximum",
    "maxLength": "maximum",
}


class BaseCustomFieldFormSet(forms.BaseFormSet):
    """The rows of a schema: unique keys; ORDER sorts them; DELETE removes a field (its values stay)."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        seen: dict[str, int] = {}
        for position, form in enumerate(self.forms):
            if not form.has_changed() and not form.is_existing:
                continue
            if self.can_delete and self._should_delete_form(form):
                continue
            key = form.cleaned_data.get("key")
            if key in seen:
                form.add_error("key", _("Another row already has the key %(key)s.") % {"key": key})
                raise ValidationError(_("Each field needs its own key."))
            seen[key] = position

    def kept_forms(self) -> list[CustomFieldForm]:
        kept = [
            form
            for form in self.forms
            if (form.has_changed() or form.is_existing)
            and not (self.can_delete and self._should_delete_form(form))
        ]
        positions = {id(form): position for position, form in enumerate(self.forms)}

        def order(form: CustomFieldForm) -> tuple[int, int]:
            value = form.cleaned_data.get("ORDER")
            return (value if value is not None else 10**6, positions[id(form)])

        return sorted(kept, key=order)

    def schema(self, *, base: dict[str, Any]) -> dict[str, Any]:
        return definitions_schema([form.definition() for form in self.kept_forms()], base=base)

    def refuse(self, refusals: dict[str, str], *, old: dict[str, Any], new: dict[str, Any]) -> None:
        """Put each refused field's message on its row, on the setting whose change is refused."""
        before, after = old.get("properties", {}), new.get("properties", {})
        for form in self.kept_forms():
            key = form.cleaned_data["key"]
            if key not in refusals:
                continue
            changed = [
                word for word in VALUE_KEYWORDS if before.get(key, {}).get(word) != after[key].get(word)
            ]
            target = next((KEYWORD_FIELDS[word] for word in changed if word in KEYWORD_FIELDS), "type")
            form.add_error(target, refusals[key])


CustomFieldFormSet = forms.formset_factory(
    CustomFieldForm, formset=BaseCustomFieldFormSet, extra=2, can_order=True, can_delete=True
)


def custom_field_formset(schema: dict[str, Any], data: Any = None) -> BaseCustomFieldFormSet:
    initial = [definition_initial(definition) for definition in schema_definitions(schema)]
    return CustomFieldFormSet(data=data, initial=initial, prefix="fields")
