"""Advanced-search filters: each core filter, each custom-field type, malformed ranges, scope."""

from __future__ import annotations

from datetime import date

import pytest

from registry.filters import household_filterset, individual_filterset, years_before
from registry.models import Individual
from registry.schemas import schema_for
from registry.services import household_member_add, registry_schema_save


@pytest.fixture
def people(tree, make_individual, make_household):
    """Named people in the North (districts A and B) and one in the South."""
    today = date.today()
    big = make_household(tree.north_a, members=0, code="HH-BIG")
    small = make_household(tree.north_b, members=0, code="HH-SMALL")
    ada = make_individual(
        tree.north_a,
        given_name="Ada",
        family_name="Lovelace",
        sex="F",
        birth_date=years_before(today, 30),
        documents=[("national_id", "NID-111")],
        data={"disability": True, "education": "tertiary", "school_attendance": 0.9},
    )
    bob = make_individual(
        tree.north_a,
        given_name="Bob",
        family_name="Lovell",
        sex="M",
        birth_date=years_before(today, 70),
        registration_source="upload",
        registration_date=date(2020, 5, 1),
        data={"disability": False, "education": "primary", "school_attendance": 0.2},
    )
    cyd = make_individual(
        tree.north_b,
        given_name="Cyd",
        family_name="Charisse",
        sex="F",
        birth_date=years_before(today, 8),
        status="moved",
        data={"education": "none"},
    )
    sue = make_individual(
        tree.south,
        given_name="Sue",
        family_name="Lovegood",
        sex="F",
        birth_date=years_before(today, 30),
        data={"disability": True, "education": "tertiary"},
    )
    household_member_add(household=big, individual=ada, role="head", is_primary_recipient=True)
    household_member_add(household=big, individual=bob, role="parent")
    household_member_add(household=small, individual=cyd, role="head")
    return {"ada": ada, "bob": bob, "cyd": cyd, "sue": sue}


def names(filterset) -> set[str]:
    assert filterset.is_valid(), filterset.errors
    return set(filterset.qs.values_list("given_name", flat=True))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, {"Ada", "Bob", "Cyd", "Sue"}),
        ({"family_name": "lovel"}, {"Ada", "Bob"}),
        ({"given_name": "C"}, {"Cyd"}),
        ({"sex": ["M"]}, {"Bob"}),
        ({"sex": ["F", "M"]}, {"Ada", "Bob", "Cyd", "Sue"}),
        ({"status": ["moved"]}, {"Cyd"}),
        ({"registration_source": ["upload"]}, {"Bob"}),
        ({"registration_date_min": "2020-01-01", "registration_date_max": "2020-12-31"}, {"Bob"}),
        ({"document": "NID-111"}, {"Ada"}),
        ({"document": "NID-999"}, set()),
        ({"age_min": "18"}, {"Ada", "Bob", "Sue"}),
        ({"age_min": "18", "age_max": "64"}, {"Ada", "Sue"}),
        ({"age_max": "8"}, {"Cyd"}),
        ({"age_min": "30", "age_max": "30"}, {"Ada", "Sue"}),
        ({"household_size_min": "2"}, {"Ada", "Bob"}),
        ({"household_size_max": "1"}, {"Cyd"}),
        ({"household_role": ["head"]}, {"Ada", "Cyd"}),
        ({"household_role": ["head"], "household_size_min": "2"}, {"Ada"}),
    ],
)
def test_core_filters(people, auditor, data, expected):
    assert names(individual_filterset(data, user=auditor)) == expected


def test_birth_date_range(people, auditor):
    born = people["bob"].birth_date
    data = {"birth_date_min": born.isoformat(), "birth_date_max": born.isoformat()}
    assert names(individual_filterset(data, user=auditor)) == {"Bob"}


def test_location_filter_takes_the_subtree(people, tree, auditor):
    assert names(individual_filterset({"location": tree.north.pk}, user=auditor)) == {"Ada", "Bob", "Cyd"}
    assert names(individual_filterset({"location": tree.north_b.pk}, user=auditor)) == {"Cyd"}


def test_location_outside_the_users_scope_is_refused(people, tree, maker):
    filterset = individual_filterset({"location": tree.south.pk}, user=maker)
    assert not filterset.is_valid()
    assert "location" in filterset.errors


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"cf_disability": "true"}, {"Ada", "Sue"}),
        ({"cf_disability": "false"}, {"Bob"}),
        ({"cf_disability": ""}, {"Ada", "Bob", "Cyd", "Sue"}),
        ({"cf_education": ["tertiary"]}, {"Ada", "Sue"}),
        ({"cf_education": ["none", "primary"]}, {"Bob", "Cyd"}),
        ({"cf_school_attendance_min": "0.5"}, {"Ada"}),
        ({"cf_school_attendance_max": "0.5"}, {"Bob"}),
        ({"cf_school_attendance_min": "0.1", "cf_school_attendance_max": "1"}, {"Ada", "Bob"}),
    ],
)
def test_custom_fields_by_type(people, auditor, data, expected):
    assert names(individual_filterset(data, user=auditor)) == expected


def test_custom_text_and_date_fields(tree, auditor, make_individual):
    schema = schema_for("individual")
    registry_schema_save(
        kind="individual",
        schema={
            **schema,
            "properties": {
                **schema["properties"],
                "nickname": {"type": "string", "title": "Nickname"},
                "last_visit": {"type": "string", "format": "date", "title": "Last visit"},
            },
        },
    )
    make_individual(tree.north, given_name="Eve", data={"nickname": "Evie", "last_visit": "2024-03-01"})
    make_individual(tree.north, given_name="Fay", data={"nickname": "Fab", "last_visit": "2025-07-15"})
    assert names(individual_filterset({"cf_nickname": "Evie"}, user=auditor)) == {"Eve"}
    assert names(individual_filterset({"cf_nickname": "Ev"}, user=auditor)) == set()
    assert names(individual_filterset({"cf_nickname": "F*"}, user=auditor)) == {"Fay"}
    assert names(individual_filterset({"cf_last_visit_min": "2025-01-01"}, user=auditor)) == {"Fay"}
    assert names(individual_filterset({"cf_last_visit_max": "2024-12-31"}, user=auditor)) == {"Eve"}
    filterset = individual_filterset({"cf_last_visit_min": "yesterday"}, user=auditor)
    assert not filterset.is_valid()
    assert "cf_last_visit" in filterset.errors


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"age_min": "60", "age_max": "18"}, "age", "lower bound (60) is above the upper bound (18)"),
        ({"age_min": "old"}, "age", "Enter a whole number"),
        ({"household_size_min": "5", "household_size_max": "2"}, "household_size", "above the upper bound"),
        ({"birth_date_min": "2001-13-40"}, "birth_date", "Enter a valid date"),
        (
            {"registration_date_min": "2024-01-02", "registration_date_max": "2024-01-01"},
            "registration_date",
            "above",
        ),
        ({"cf_school_attendance_min": "abc"}, "cf_school_attendance", "Enter a number"),
        (
            {"cf_school_attendance_min": "0.9", "cf_school_attendance_max": "0.1"},
            "cf_school_attendance",
            "above",
        ),
        ({"sex": ["Q"]}, "sex", "Select a valid choice"),
        ({"cf_education": ["phd"]}, "cf_education", "Select a valid choice"),
        ({"cf_disability": "maybe"}, "cf_disability", "Select a valid choice"),
    ],
)
def test_malformed_input_is_a_field_error(people, auditor, data, field, message):
    filterset = individual_filterset(data, user=auditor)
    assert not filterset.is_valid()
    assert list(filterset.errors) == [field]
    assert message in " ".join(filterset.errors[field])


def test_unknown_parameters_are_ignored(people, auditor):
    assert names(individual_filterset({"no_such_field": "1", "sex": ["M"]}, user=auditor)) == {"Bob"}


def test_scope_south_officer_never_sees_the_north(people, south_officer, tree):
    assert names(individual_filterset({}, user=south_officer)) == {"Sue"}
    assert names(individual_filterset({"family_name": "Lov"}, user=south_officer)) == {"Sue"}


def test_filterset_narrows_a_given_queryset_and_keeps_scope(people, maker):
    """The enrolment screen reuses the FilterSet on its own queryset."""
    adults = Individual.objects.filter(birth_date__lte=years_before(date.today(), 18))
    assert names(individual_filterset({"sex": ["F"]}, user=maker, queryset=adults)) == {"Ada"}


def test_household_filters(people, tree, auditor, make_household):
    make_household(
        tree.south, members=1, code="SOUTH-1", data={"has_electricity": True, "monthly_income": 500}
    )
    make_household(
        tree.north_a, members=0, code="HH-RICH", data={"has_electricity": False, "monthly_income": 9000}
    )

    def codes(data, user=auditor):
        filterset = household_filterset(data, user=user)
        assert filterset.is_valid(), filterset.errors
        return set(filterset.qs.values_list("code", flat=True))

    assert codes({"code": "hh-"}) == {"HH-BIG", "HH-SMALL", "HH-RICH"}
    assert codes({"size_min": "2"}) == {"HH-BIG"}
    assert codes({"size_max": "1"}) == {"HH-SMALL", "SOUTH-1", "HH-RICH"}
    assert codes({"location": tree.north_a.pk}) == {"HH-BIG", "HH-RICH"}
    assert codes({"cf_has_electricity": "true"}) == {"SOUTH-1"}
    assert codes({"cf_monthly_income_min": "1000"}) == {"HH-RICH"}
    filterset = household_filterset({"size_min": "3", "size_max": "1"}, user=auditor)
    assert not filterset.is_valid() and "size" in filterset.errors


def test_household_scope(people, tree, south_officer, make_household):
    make_household(tree.south, members=1, code="SOUTH-1")
    filterset = household_filterset({}, user=south_officer)
    assert set(filterset.qs.values_list("code", flat=True)) == {"SOUTH-1"}


def test_programme_enrolment_and_status(people, auditor, maker):
    from django.utils import timezone

    from programs.models import Beneficiary, BenefitPlan, PlanType

    now = timezone.now()
    cash = BenefitPlan.objects.create(
        code="CT", name="Cash", plan_type=PlanType.HOUSEHOLD, start_date=date(2026, 1, 1)
    )
    pension = BenefitPlan.objects.create(
        code="OP", name="Pension", plan_type=PlanType.INDIVIDUAL, start_date=date(2026, 1, 1)
    )
    big = people["ada"].memberships.get().household
    Beneficiary.objects.create(
        benefit_plan=cash,
        household=big,
        location=big.location,
        status="active",
        status_changed_at=now,
        enrolled_at=now,
    )
    Beneficiary.objects.create(
        benefit_plan=pension,
        individual=people["bob"],
        location=people["bob"].location,
        status="suspended",
        status_changed_at=now,
        enrolled_at=now,
    )
    assert names(individual_filterset({"benefit_plan": pension.pk}, user=auditor)) == {"Bob"}
    assert names(individual_filterset({"benefit_plan": cash.pk}, user=auditor)) == {"Ada", "Bob"}
    assert names(individual_filterset({"enrolment_status": ["suspended"]}, user=auditor)) == {"Bob"}
    assert (
        names(
            individual_filterset({"benefit_plan": cash.pk, "enrolment_status": ["suspended"]}, user=auditor)
        )
        == set()
    )
    households = household_filterset({"benefit_plan": cash.pk}, user=auditor)
    assert households.is_valid() and list(households.qs.values_list("code", flat=True)) == ["HH-BIG"]
    # The maker was granted no plan: choosing one is refused at the field.
    refused = individual_filterset({"benefit_plan": pension.pk}, user=maker)
    assert not refused.is_valid() and "benefit_plan" in refused.errors


def test_a_plain_dict_takes_single_values_lists_and_objects(people, tree, auditor):
    """The programmes' enrolment screen passes plain dicts."""
    assert names(individual_filterset({"sex": "F", "location": tree.north, "age_min": 18}, user=auditor)) == {
        "Ada"
    }
    assert names(individual_filterset({"cf_disability": True}, user=auditor)) == {"Ada", "Sue"}
    assert names(individual_filterset({"household_role": ["head", "parent"]}, user=auditor)) == {
        "Ada",
        "Bob",
        "Cyd",
    }


def test_a_given_annotated_queryset_keeps_its_annotations_and_the_scope(people, maker):
    from django.db.models import Value

    annotated = Individual.objects.annotate(plan_score=Value(7)).filter(plan_score__gte=5)
    filterset = individual_filterset({"family_name": "Lov"}, user=maker, queryset=annotated)
    assert names(filterset) == {"Ada", "Bob"}  # Sue Lovegood is in the South
    assert {row.plan_score for row in filterset.qs} == {7}
