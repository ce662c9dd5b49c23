"""Enrolment from the registry: preview, request, approval, one set-based insert, and every refusal."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from approvals.models import TaskState
from programs.models import Beneficiary, BeneficiaryStatus, PlanStatus
from programs.services import EnrolmentSelection, enrolment_preview, enrolment_request
from tests.programs.conftest import approve, beneficiaries

pytestmark = pytest.mark.django_db


def test_enrol_households_after_approval(officer, approver, household_plan, registry, tree):
    selection = EnrolmentSelection()
    preview = enrolment_preview(user=officer, plan=household_plan, selection=selection)
    assert (preview.selected, preview.already_enrolled, preview.to_enrol) == (
        6,
        0,
        6,
    )  # North only: the maker's scope
    task = enrolment_request(
        user=officer,
        plan=household_plan,
        selection=selection,
        status=BeneficiaryStatus.ACTIVE,
        reason="first wave",
    )
    assert task.state == TaskState.PENDING
    assert not Beneficiary.objects.exists()
    task = approve(task, approver)
    assert task.state == TaskState.EXECUTED, task.error
    assert task.result == {"enrolled": 6, "status": "active"}
    rows = beneficiaries(household_plan)
    assert {row.household.code for row in rows} == {h.code for h in registry.north_households}
    assert all(row.status == BeneficiaryStatus.ACTIVE and row.enrolment_task_id == task.pk for row in rows)
    assert {row.location_id for row in rows} == {tree.north_a.pk, tree.north_b.pk}
    # The audit of a bulk enrolment is its task: who asked, who approved, when (no per-row history insert).
    assert rows[0].enrolment_task.maker == officer
    assert rows[0].enrolment_task.approvals.get().user == approver


def test_filters_pick_and_preview_counts(officer, individual_plan, registry):
    # Nina0 born 1950, Nina1 1960...: the advanced search's age filter and sex filter.
    selection = EnrolmentSelection(filters="age_min=60&sex=M")
    preview = enrolment_preview(user=officer, plan=individual_plan, selection=selection)
    expected = {p.pk for p in registry.north_people if p.sex == "M" and p.age() >= 60}
    assert preview.selected == len(expected) > 0
    assert {row.pk for row in preview.sample} == expected
    assert not preview.exceeds_maximum


def test_already_enrolled_are_skipped_and_counted(officer, approver, household_plan, registry):
    first = EnrolmentSelection(filters="code=N-00")  # codes starting N-00: N-000..N-005
    task = approve(
        enrolment_request(
            user=officer,
            plan=household_plan,
            selection=EnrolmentSelection(ids=[registry.north_households[0].pk]),
        ),
        approver,
    )
    assert task.state == TaskState.EXECUTED
    preview = enrolment_preview(user=officer, plan=household_plan, selection=first)
    assert (preview.selected, preview.already_enrolled, preview.to_enrol) == (6, 1, 5)
    task = approve(enrolment_request(user=officer, plan=household_plan, selection=first), approver)
    assert task.result["enrolled"] == 5
    assert Beneficiary.objects.filter(benefit_plan=household_plan).count() == 6


def test_enrolling_everyone_twice_is_refused(officer, approver, household_plan, registry):
    approve(enrolment_request(user=officer, plan=household_plan, selection=EnrolmentSelection()), approver)
    with pytest.raises(ValidationError, match="already enrolled"):
        enrolment_request(user=officer, plan=household_plan, selection=EnrolmentSelection())
    assert Beneficiary.objects.count() == 6


def test_beyond_maximum_refused_at_request(officer, household_plan, registry):
    household_plan.max_beneficiaries = 4
    household_plan.save()
    with pytest.raises(ValidationError, match="exceed the maximum of 4"):
        enrolment_request(user=officer, plan=household_plan, selection=EnrolmentSelection())
    assert not Beneficiary.objects.exists()


def test_beyond_maximum_at_execution_fails_with_nothing_written(
    officer, approver, household_plan, registry, tree
):
    household_plan.max_beneficiaries = 7
    household_plan.save()
    task = enrolment_request(user=officer, plan=household_plan, selection=EnrolmentSelection())  # 6 of 7
    # Meanwhile two more households are registered in the North: the selection grows to 8 > 7.
    from registry.models import Household

    Household.objects.create(code="N-100", location=tree.north_a)
    Household.objects.create(code="N-101", location=tree.north_a)
    task = approve(task, approver)
    assert task.state == TaskState.FAILED
    assert "exceed the maximum of 7" in task.error
    assert not Beneficiary.objects.exists()
    assert not Beneficiary.history.exists()


def test_closed_plan_refuses_enrolment(officer, household_plan, registry):
    household_plan.status = PlanStatus.CLOSED
    household_plan.save()
    with pytest.raises(ValidationError, match="closed"):
        enrolment_request(user=officer, plan=household_plan, selection=EnrolmentSelection())
    assert not Beneficiary.objects.exists()


def test_individual_into_household_plan_refused(officer, household_plan, registry):
    person = registry.north_people[0]
    with pytest.raises(ValidationError, match="do not exist or lie outside"):
        enrolment_request(
            user=officer, plan=household_plan, selection=EnrolmentSelection(ids=[person.pk + 10_000])
        )
    from programs.services import beneficiary_enrol_one

    with pytest.raises(ValidationError, match="household plan"):
        beneficiary_enrol_one(user=officer, plan=household_plan, individual=person)
    assert not Beneficiary.objects.exists()


def test_enrolment_status_must_be_potential_or_active(officer, household_plan, registry):
    with pytest.raises(ValidationError, match="potential or active"):
        enrolment_request(
            user=officer, plan=household_plan, selection=EnrolmentSelection(), status="graduated"
        )


def test_plan_data_failing_schema_refused(officer, household_plan, registry):
    household_plan.beneficiary_schema = {
        "type": "object",
        "properties": {"school_enrolment_confirmed": {"type": "boolean"}},
        "required": ["school_enrolment_confirmed"],
    }
    household_plan.save()
    with pytest.raises(ValidationError) as info:
        enrolment_request(
            user=officer,
            plan=household_plan,
            selection=EnrolmentSelection(),
            data={"school_enrolment_confirmed": "yes"},
        )
    assert "true or false" in str(info.value)
    with pytest.raises(ValidationError, match="required"):
        enrolment_request(user=officer, plan=household_plan, selection=EnrolmentSelection())
    task = enrolment_request(
        user=officer,
        plan=household_plan,
        selection=EnrolmentSelection(),
        data={"school_enrolment_confirmed": False},
    )
    assert task.payload["data"] == {"school_enrolment_confirmed": False}


def test_enrolled_data_is_stored(officer, approver, household_plan, registry):
    household_plan.beneficiary_schema = {
        "type": "object",
        "properties": {"school_enrolment_confirmed": {"type": "boolean"}},
    }
    household_plan.save()
    task = enrolment_request(
        user=officer,
        plan=household_plan,
        selection=EnrolmentSelection(),
        data={"school_enrolment_confirmed": True},
    )
    approve(task, approver)
    rows = beneficiaries(household_plan)
    assert len(rows) == 6
    assert all(row.data == {"school_enrolment_confirmed": True} for row in rows)


def test_officer_not_assigned_cannot_enrol(south_officer, household_plan, registry):
    with pytest.raises(ValidationError, match="may not manage"):
        enrolment_request(user=south_officer, plan=household_plan, selection=EnrolmentSelection())
    assert not Beneficiary.objects.exists()


def test_enrolment_is_one_insert(officer, household_plan, registry, django_assert_max_num_queries):
    from programs.services import plan_enrol

    # Lock, checks, maximum count and one INSERT ... SELECT: not one query per row.
    with django_assert_max_num_queries(12):
        result = plan_enrol(plan=household_plan, user=officer, selection=EnrolmentSelection())
    assert result["enrolled"] == 6


def test_checker_sees_count_and_sample(officer, approver, household_plan, registry):
    from approvals.actions import action_get

    task = enrolment_request(
        user=officer, plan=household_plan, selection=EnrolmentSelection(filters="code=N-00")
    )
    description = action_get("programs.enrol").describe(target=household_plan, payload=task.payload)
    assert description.count == 6
    assert len(description.sample) == 6
    assert "6 households" in description.summary


def test_custom_expression_selects(officer, individual_plan, registry):
    from registry.models import RegistrySchema

    RegistrySchema.objects.update_or_create(
        kind="individual",
        defaults={"schema": {"type": "object", "properties": {"disability": {"type": "boolean"}}}},
    )
    people = registry.north_people
    for person in people[:2]:
        person.data = {"disability": True}
        person.save()
    selection = EnrolmentSelection(expression="age >= 65 and data.disability == true")
    preview = enrolment_preview(user=officer, plan=individual_plan, selection=selection)
    expected = {p.pk for p in people[:2] if p.age() >= 65}
    assert {row.pk for row in preview.sample} == expected and preview.selected == len(expected) > 0


def test_custom_expression_with_filters_on_households(officer, household_plan, registry):
    selection = EnrolmentSelection(filters="code=N-00", expression="household_size == 0")
    assert enrolment_preview(user=officer, plan=household_plan, selection=selection).selected == 6
    selection = EnrolmentSelection(filters="code=N-00", expression="household_size >= 1")
    assert enrolment_preview(user=officer, plan=household_plan, selection=selection).selected == 0


def test_bad_expression_is_a_clear_message(officer, individual_plan, registry):
    with pytest.raises(ValidationError) as info:
        enrolment_request(
            user=officer, plan=individual_plan, selection=EnrolmentSelection(expression="age >= ")
        )
    assert "expression" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        enrolment_preview(
            user=officer, plan=individual_plan, selection=EnrolmentSelection(expression="shoe_size > 3")
        )
    assert "shoe_size" in str(info.value)
    assert not Beneficiary.objects.exists()
