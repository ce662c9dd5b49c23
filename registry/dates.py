"""Dates as the user types and reads them: the active language's format in forms, filters and lists, and the
ISO form too (saved searches, links, files). The one door for a date field of the registry's pages."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats


def date_display(value: date | None) -> str:
    """A date as the user types it (the active language's first DATE_INPUT_FORMATS): forms, filters, lists."""
    return "" if value is None else str(formats.localize_input(value))


class LocaleDateInput(forms.DateInput):
    """A date typed and shown in the active language's format (DATE_INPUT_FORMATS), with an example."""

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"].setdefault("placeholder", date_display(date.today()))
        return context


class LocaleDateField(forms.DateField):
    """The one date field of the registry's forms and filters: the user's locale format in and out, and the
    ISO form (YYYY-MM-DD) too, so saved searches, links and files keep working whatever the language."""

    widget = LocaleDateInput

    def to_python(self, value: Any) -> date | None:
        try:
            return super().to_python(value)
        except ValidationError:
            try:
                return date.fromisoformat(str(value).strip())
            except ValueError:
                raise ValidationError(self.error_messages["invalid"], code="invalid") from None
