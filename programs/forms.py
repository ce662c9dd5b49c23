"""Forms of the programmes screens: plan settings, enrolment request, status change with its reason."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from programs.models import TRANSITION_LABELS, Beneficiary, BeneficiaryStatus, BenefitPlan, CeilingAction
from programs.schemas import plan_data_validate


class BenefitPlanForm(forms.ModelForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "ceiling_action" in self.fields:
            self.fields["ceiling_action"].required = False  # a form without it keeps the default: cap

    def clean_ceiling_action(self) -> str:
        return self.cleaned_data.get("ceiling_action") or (self.instance.ceiling_action or CeilingAction.CAP)

    class Meta:
        model = BenefitPlan
        fields = [
            "code",
            "name",
            "description",
            "plan_type",
            "start_date",
            "end_date",
            "max_beneficiaries",
            "ceiling_per_beneficiary",
            "ceiling_action",
            "institution",
            "beneficiary_schema",
        ]
        widgets = {
            "beneficiary_schema": forms.Textarea(attrs={"rows": 12, "cols": 80, "class": "vLargeTextField"})
        }
        help_texts = {
            "beneficiary_schema": 'JSON Schema, e.g. {"type": "object", "properties": '
            '{"school_enrolment_confirmed": '
            '{"type": "boolean", "title": "School enrolment confirmed"}}, "required": []}',
        }


class EnrolmentRequestForm(forms.Form):
    filters = forms.CharField(required=False, widget=forms.HiddenInput)
    expression = forms.CharField(required=False, widget=forms.HiddenInput)
    status = forms.ChoiceField(
        choices=[(BeneficiaryStatus.POTENTIAL, "Potential"), (BeneficiaryStatus.ACTIVE, "Active")],
        initial=BeneficiaryStatus.POTENTIAL,
        label="Enrol as",
    )
    data = forms.CharField(
        required=False,
        label="Beneficiary data (JSON)",
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text='Plan data given to every enrolled beneficiary, e.g. {"school_enrolment_confirmed": false}',
    )
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))

    def clean_data(self) -> dict[str, Any]:
        text = (self.cleaned_data.get("data") or "").strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise forms.ValidationError('Give a JSON object, e.g. {"field": "value"}.')
        return value


class StatusChangeForm(forms.Form):
    transition = forms.ChoiceField(choices=list(TRANSITION_LABELS.items()))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


class BeneficiaryDataForm(forms.ModelForm):
    """The beneficiary page's one editable field: the plan data, checked with the plan's schema.

    Saving it only requests the change (see BeneficiaryAdmin.save_model); errors name the field by its
    JSON pointer inside `data` (`/grade: Must be at most 12.`).
    """

    class Meta:
        model = Beneficiary
        fields = ["data"]

    def clean_data(self) -> dict[str, Any]:
        previous = Beneficiary.objects.filter(pk=self.instance.pk).values_list("data", flat=True).first()
        try:
            return plan_data_validate(
                self.instance.benefit_plan, self.cleaned_data.get("data"), previous=previous
            )
        except ValidationError as exc:
            raise ValidationError(self._on_data_field(exc)["data"]) from None

    def _on_data_field(self, errors: ValidationError) -> dict[str, list[str]]:
        """The schema's errors are keyed "data.<field>": put on the data field, with the field's pointer."""
        remapped: dict[str, list[str]] = {}
        for key, found in errors.error_dict.items():
            known = key in self.fields or key == NON_FIELD_ERRORS
            prefix = "" if known or key == "data" else f"/{key.removeprefix('data.')}: "
            remapped.setdefault(key if known else "data", []).extend(
                f"{prefix}{message}" for error in found for message in error.messages
            )
        return remapped

    def _update_errors(self, errors: ValidationError) -> None:
        if hasattr(errors, "error_dict"):
            errors = ValidationError(self._on_data_field(errors))
        super()._update_errors(errors)


BeneficiaryDataForm.base_fields["data"].help_text = _(
    "The plan's data fields, as JSON. A change waits for a checker's approval and is saved then."
)
