"""Forms of the field-collection pages: a form's creation, its mapping (one line per column), an import."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _gettext
from django.utils.translation import gettext_lazy as _

from intake.models import FieldForm
from uploads.models import DuplicateMode


def mapping_text(mapping: dict[str, str]) -> str:
    return "\n".join(f"{source} = {target}" for source, target in mapping.items())


def mapping_parse(text: str) -> dict[str, str]:
    """Lines `export column = upload column` (nothing after `=` ignores the column); errors name the line."""
    mapping: dict[str, str] = {}
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        source, equals, target = line.partition("=")
        source = source.strip()
        if not equals or not source:
            problems.append(
                _gettext("Line %(line)s: write `export column = upload column` (%(text)s).")
                % {"line": number, "text": line[:60]}
            )
            continue
        if source in mapping:
            problems.append(
                _gettext("Line %(line)s: %(source)s is mapped twice.") % {"line": number, "source": source}
            )
            continue
        mapping[source] = target.strip()
    if problems:
        raise ValidationError(problems)
    return mapping


class FieldFormCreateForm(forms.ModelForm):
    class Meta:
        model = FieldForm
        fields = ["title", "form_id", "version", "benefit_plan"]

    def __init__(self, *args: Any, plans: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if plans is not None:
            self.fields["benefit_plan"].queryset = plans


class FieldFormChangeForm(forms.ModelForm):
    mapping_lines = forms.CharField(
        label=_("Column mapping"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 30, "cols": 60}),
        help_text=_(
            "One line per column of the export: `export column = upload column`. Leave the upload column "
            "empty to ignore the column. A column renamed in the field: change its name on the left."
        ),
    )

    class Meta:
        model = FieldForm
        fields = ["title"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["mapping_lines"] = mapping_text(self.instance.mapping or {})

    def clean_mapping_lines(self) -> dict[str, str]:
        from intake.services import mapping_check

        mapping = mapping_parse(self.cleaned_data.get("mapping_lines", ""))
        try:
            return mapping_check(plan=self.instance.benefit_plan, mapping=mapping)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None


class FieldImportForm(forms.Form):
    export = forms.FileField(
        label=_("Export"),
        help_text=_(
            "ODK Central's zip of CSVs, KoboToolbox's XLSX, the submissions JSON (ODK Central OData or "
            "KoboToolbox API), or the submissions CSV"
        ),
    )
    members = forms.FileField(
        label=_("Members CSV"),
        required=False,
        help_text=_("With a submissions CSV: the members repeat's CSV"),
    )
    duplicate_mode = forms.ChoiceField(
        label=_("Duplicates"), choices=DuplicateMode.choices, initial=DuplicateMode.SKIP
    )
