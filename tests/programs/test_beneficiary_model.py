"""The database keeps beneficiaries unique per plan and of one kind; their data follows the plan's schema."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from programs.models import Beneficiary
from programs.services import beneficiary_data_request
from tests.programs.conftest import approve

pytestmark = pytest.mark.django_db


def row(plan, **fields) -> Beneficiary:
    now = timezone.now()
    return Beneficiary.objects.create(benefit_plan=plan, status_changed_at=now, enrolled_at=now, **fields)


def test_unique_per_plan(household_plan, individual_plan, registry):
    household = registry.north_households[0]
    row(household_plan, household=household, location=household.location)
    with pytest.raises(IntegrityError), transaction.atomic():
        row(household_plan, household=household, location=household.location)
    person = registry.north_people[0]
    row(individual_plan, individual=person, location=person.location)
    with pytest.raises(IntegrityError), transaction.atomic():
        row(individual_plan, individual=person, location=person.location)


def test_exactly_one_of_individual_or_household(household_plan, registry):
    household, person = registry.north_households[0], registry.north_people[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        row(household_plan, household=household, individual=person, location=household.location)
    with pytest.raises(IntegrityError), transaction.atomic():
        row(household_plan, location=household.location)


def test_data_validated_with_plan_schema(officer, approver, household_plan, registry):
    household_plan.beneficiary_schema = {
        "type": "object",
        "properties": {"grade": {"type": "integer", "minimum": 1, "maximum": 12}},
        "required": [],
    }
    household_plan.save()
    household = registry.north_households[0]
    beneficiary = row(household_plan, household=household, location=household.location)
    with pytest.raises(ValidationError) as info:
        beneficiary_data_request(user=officer, beneficiary=beneficiary, data={"grade": 14})
    assert "at most 12" in str(info.value)
    with pytest.raises(ValidationError, match="not a data field of plan CASH"):
        beneficiary_data_request(user=officer, beneficiary=beneficiary, data={"colour": "red"})
    beneficiary.refresh_from_db()
    assert beneficiary.data == {}
    approve(beneficiary_data_request(user=officer, beneficiary=beneficiary, data={"grade": 5}), approver)
    beneficiary.refresh_from_db()
    assert beneficiary.data == {"grade": 5}
