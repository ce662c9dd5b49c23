"""The upload form: which plan, which file, and how to read it."""

from __future__ import annotations

from django import forms

from programs.models import BenefitPlan
from uploads.models import DateFormat, DuplicateMode, FileEncoding


class UploadForm(forms.Form):
    benefit_plan = forms.ModelChoiceField(queryset=BenefitPlan.objects.none(), label="Benefit plan")
    file = forms.FileField(
        help_text="CSV (comma, semicolon or tab separated) or XLSX, with the plan's template columns."
    )
    encoding = forms.ChoiceField(
        choices=FileEncoding.choices,
        initial=FileEncoding.AUTO,
        help_text="Of a CSV file; detected unless you choose.",
    )
    date_format = forms.ChoiceField(choices=DateFormat.choices, initial=DateFormat.ISO)
    duplicate_mode = forms.ChoiceField(
        choices=DuplicateMode.choices,
        initial=DuplicateMode.SKIP,
        label="Duplicates",
        help_text="A person already in the registry (same identity document, or same name, birth date and location) "
        "or twice in the file. Several matching people is always an error.",
    )

    def __init__(self, *args, plans=None, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        if plans is not None:
            self.fields["benefit_plan"].queryset = plans
