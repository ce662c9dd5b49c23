"""Forms of the programmes screens: plan settings, enrolment request, status change with its reason."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from programs.models import TRANSITION_LABELS, BeneficiaryStatus, BenefitPlan, CeilingAction


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
