"""The programmes' filters in the registry's advanced search: enrolled in a benefit plan, with a status.

Plugged into the registry's search through `registry.hooks` in `ProgramsConfig.ready()`: the registry
imports nothing of the programmes app.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from access.plans import plan_list
from programs.models import Beneficiary, BeneficiaryStatus
from registry.filters import ConditionFilter
from registry.hooks import SearchExtension, User

ENROLMENT = "enrolment"


class EnrolmentFilter(ConditionFilter):
    """A condition on the person's or household's enrolments; they share one subquery per search."""

    scope = ENROLMENT


class PlanEnrolmentFilter(EnrolmentFilter):
    field_class = forms.ModelChoiceField

    def condition(self, value: Any) -> Q | None:
        return Q(benefit_plan=value)


class EnrolmentStatusFilter(EnrolmentFilter):
    field_class = forms.MultipleChoiceField

    def condition(self, value: list[str]) -> Q | None:
        return Q(status__in=value) if value else None


def enrolment_filters(*, kind: str, user: User) -> dict[str, ConditionFilter]:
    """The same two filters over people and households; only the plans the user sees are offered."""
    return {
        "benefit_plan": PlanEnrolmentFilter(
            label=_("Enrolled in benefit plan"), queryset=plan_list(user=user)
        ),
        "enrolment_status": EnrolmentStatusFilter(
            label=_("Enrolment status"),
            choices=BeneficiaryStatus.choices,
            widget=forms.CheckboxSelectMultiple,
        ),
    }


def enrolment_condition(*, kind: str, conditions: list[Q]) -> Q:
    """People enrolled in person or through the household they live in now; households enrolled."""
    beneficiaries = Beneficiary.objects.filter(*conditions)
    if kind == "household":
        return Q(Exists(beneficiaries.filter(household=OuterRef("pk"))))
    in_person = beneficiaries.filter(individual=OuterRef("pk"))
    through_household = beneficiaries.filter(
        household__memberships__individual=OuterRef("pk"), household__memberships__end_date__isnull=True
    )
    return Q(Exists(in_person)) | Q(Exists(through_household))


ENROLMENT_SEARCH = SearchExtension(name=ENROLMENT, filters=enrolment_filters, condition=enrolment_condition)
