"""The import form of beneficiary files: django-import-export's import form (resource, file, format) plus the
plan, and how to read the file (encoding, date format, what to do with duplicates)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.db.models import QuerySet
from import_export.forms import ImportForm

from programs.models import BenefitPlan
from uploads.models import DateFormat, DuplicateMode, FileEncoding

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")


class BeneficiaryImportForm(ImportForm):
    benefit_plan = forms.ModelChoiceField(queryset=BenefitPlan.objects.none(), label="Benefit plan")
    encoding = forms.ChoiceField(
        choices=FileEncoding.choices,
        initial=FileEncoding.AUTO,
        help_text="Of a CSV or TSV file; detected unless you choose.",
    )
    date_format = forms.ChoiceField(choices=DateFormat.choices, initial=DateFormat.ISO)
    duplicate_mode = forms.ChoiceField(
        choices=DuplicateMode.choices,
        initial=DuplicateMode.SKIP,
        label="Duplicates",
        help_text="A person already in the registry (same identity document, or same name, birth date and "
        "location) or twice in the file. Several matching people is always an error.",
    )

    field_order = [
        "resource",
        "benefit_plan",
        "import_file",
        "format",
        "encoding",
        "date_format",
        "duplicate_mode",
    ]

    def __init__(
        self, formats: list[type], resources: list[type], *, plans: QuerySet[BenefitPlan], **kwargs: Any
    ):
        super().__init__(formats, resources, **kwargs)
        self.formats = formats
        self.fields["benefit_plan"].queryset = plans
        self.fields["import_file"].help_text = (
            "CSV or TSV (comma, semicolon or tab separated: detected) or XLSX (the first sheet), "
            "with the plan's template columns."
        )
        self.order_fields(self.field_order)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        upload, chosen = cleaned.get("import_file"), cleaned.get("format")
        if upload is None or chosen in (None, ""):
            return cleaned
        input_format = self.formats[int(chosen)]()
        name = Path(upload.name or "").name
        suffix = Path(name).suffix.lower()
        title = input_format.get_title()
        if input_format.is_binary() and suffix != ".xlsx":
            self.add_error(
                "format", f"{name} is not an .xlsx workbook: choose the format of the file ({title} chosen)."
            )
        elif not input_format.is_binary() and suffix == ".xlsx":
            self.add_error("format", f"{name} is an Excel workbook: choose the format xlsx ({title} chosen).")
        elif not input_format.is_binary() and suffix not in TEXT_SUFFIXES:
            self.add_error(
                "import_file",
                f"{name}: upload a .csv, .tsv or .xlsx file (a .{suffix.lstrip('.') or '?'} was given).",
            )
        return cleaned
