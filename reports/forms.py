"""The report form: groupings offered per dataset, number fields suggested; the model checks it all."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from reports.datasets import DATASET_CHOICES, custom_field_specs, dataset_get
from reports.models import Report


class DatalistInput(forms.TextInput):
    """A text input with suggestions (an HTML datalist): any value may be typed, the model checks it."""

    template_name = "reports/widgets/datalist.html"

    def __init__(self, options: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.options = options or []

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        attrs = {**(attrs or {}), "list": f"{(attrs or {}).get('id', name)}-options"}
        context = super().get_context(name, value, attrs)
        context["widget"]["datalist_id"] = attrs["list"]
        context["widget"]["options"] = self.options
        return context


def grouping_choices(*, user: AbstractBaseUser | AnonymousUser) -> list[tuple[str, list[tuple[str, str]]]]:
    """Groupings of every dataset, one option group per dataset; custom fields from the current schemas."""
    from access.plans import plan_list

    choices = []
    plans = list(plan_list(user=user).order_by("code").values_list("code", "beneficiary_schema"))
    for key, label in DATASET_CHOICES:
        dataset = dataset_get(key)
        options = [(g.key, g.label) for g in dataset.all_groupings().values()]
        if key == "beneficiaries":
            for code, schema in plans:
                for name, spec in custom_field_specs(schema):
                    option = (f"custom:{name}", f"Custom field: {spec.get('title') or name} (plan {code})")
                    if option[0] not in dict(options):
                        options.append(option)
        choices.append((label, options))
    return choices


def number_field_options() -> list[tuple[str, str]]:
    options: dict[str, list[str]] = {}
    for key, label in DATASET_CHOICES:
        for name in dataset_get(key).numeric_fields():
            options.setdefault(name, []).append(label.split(" ")[0].lower())
    return [(name, ", ".join(datasets)) for name, datasets in sorted(options.items())]


class ReportForm(forms.ModelForm):
    user: Any = None  # set by the admin: the plans and fields offered are the user's

    group_by = forms.ChoiceField(label="Group by")
    series_by = forms.ChoiceField(label="Second grouping", required=False)

    class Meta:
        model = Report
        fields = (
            "name",
            "description",
            "dataset",
            "benefit_plan",
            "group_by",
            "series_by",
            "measure",
            "measure_field",
            "chart_type",
            "filter_expression",
            "roles",
            "pinned",
            "pin_order",
        )
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2, "cols": 80}),
            "filter_expression": forms.Textarea(attrs={"rows": 2, "cols": 80}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from access.plans import plan_list

        user = self.user or AnonymousUser()
        if "benefit_plan" in self.fields:
            self.fields["benefit_plan"].queryset = plan_list(user=user).order_by("code")
        if "measure_field" in self.fields:
            self.fields["measure_field"].widget = DatalistInput(number_field_options())
        if "group_by" not in self.fields:  # a read-only view of a report the user may not change
            return
        choices = grouping_choices(user=user)
        # A saved key the schemas no longer offer stays selectable, so the check can say what is wrong.
        offered = {key for _, options in choices for key, _ in options}
        for field in ("group_by", "series_by"):
            current = getattr(self.instance, field, "")
            extra = (
                [(current, f"{current} (no longer offered)")] if current and current not in offered else []
            )
            self.fields[field].choices = [("", "---------"), *extra, *choices]
        self.fields["series_by"].help_text = Report._meta.get_field("series_by").help_text
