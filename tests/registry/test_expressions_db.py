"""Expressions evaluated by the database, on a small registry with hand-computed answers."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from registry.expressions import (
    T_BOOLEAN,
    ExpressionContext,
    ExpressionError,
    check,
    choice_type,
    compile_annotation,
    compile_expression,
    compile_filter,
    evaluate,
    household_context,
    household_fields,
    individual_context,
    individual_fields,
    linked_context,
    null_reasons,
)
from registry.models import Household, HouseholdMember, HouseholdRole, Individual

TODAY = date(2025, 6, 15)

INDIVIDUAL_SCHEMA = {
    "type": "object",
    "properties": {
        "disability": {"type": "boolean", "title": "Has a disability"},
        "income": {"type": "number"},
        "school_attendance": {"type": ["number", "null"]},
        "children": {"type": "integer"},
        "enrolled_on": {"type": "string", "format": "date"},
        "occupation": {"type": "string", "enum": ["farmer", "trader", "none"]},
        "nickname": {"type": "string"},
        "tags": {"type": "array"},  # not usable in expressions: left out
    },
}
HOUSEHOLD_SCHEMA = {
    "type": "object",
    "properties": {
        "monthly_income": {"type": "number"},
        "has_electricity": {"type": "boolean"},
        "dwelling": {"type": "string", "enum": ["house", "hut"]},
    },
}


@dataclass
class Registry:
    people: dict[str, Individual]
    households: dict[str, Household]

    def names(self, queryset: Any) -> set[str]:
        by_pk = {person.pk: name for name, person in self.people.items()}
        return {by_pk[pk] for pk in queryset.values_list("pk", flat=True)}

    def codes(self, queryset: Any) -> set[str]:
        return set(queryset.values_list("code", flat=True))


@pytest.fixture
def registry(tree: Any) -> Registry:
    def person(
        given: str, sex: str, born: date | None, location: Any, data: dict, **extra: Any
    ) -> Individual:
        return Individual.objects.create(
            given_name=given,
            family_name="Test",
            sex=sex,
            birth_date=born,
            location=location,
            data=data,
            **extra,
        )

    people = {
        "ana": person(
            "Ana",
            "F",
            date(1950, 6, 15),  # 75 today: her birthday
            tree.north_a,
            {
                "disability": True,
                "income": 50.5,
                "school_attendance": 0.9,
                "children": 4,
                "enrolled_on": "2020-01-01",
                "occupation": "farmer",
                "nickname": "Annie",
            },
        ),
        "ben": person(
            "Ben",
            "M",
            date(1960, 6, 16),
            tree.north_b,
            {"disability": False, "income": 0, "occupation": "trader"},
        ),  # 64: birthday tomorrow
        "cai": person("Cai", "F", date(2022, 1, 1), tree.north_a, {"school_attendance": 0.5}),  # 3
        "dan": person("Dan", "M", date(2010, 2, 28), tree.south, {"disability": "yes", "income": 20}),  # 15
        "eve": person(
            "Eve", "F", None, tree.south, {"income": "12", "enrolled_on": "someday"}
        ),  # wrong types
        "fay": person("Fay", "F", date(1990, 12, 31), tree.south, {"income": -7}, status="moved"),  # 34
    }
    households = {
        "H1": Household.objects.create(
            code="H1", location=tree.north_a, data={"monthly_income": 80, "has_electricity": False}
        ),
        "H2": Household.objects.create(
            code="H2", location=tree.south, data={"monthly_income": 150.25, "has_electricity": True}
        ),
        "H3": Household.objects.create(code="H3", location=tree.north_b, data={"dwelling": "hut"}),
    }
    for name, code, role in [
        ("ana", "H1", HouseholdRole.HEAD),
        ("ben", "H1", HouseholdRole.SPOUSE),
        ("cai", "H1", HouseholdRole.GRANDCHILD),
        ("dan", "H2", HouseholdRole.HEAD),
        ("eve", "H2", HouseholdRole.CHILD),
    ]:
        HouseholdMember.objects.create(individual=people[name], household=households[code], role=role)
    # Fay left H2: she counts nowhere.
    HouseholdMember.objects.create(
        individual=people["fay"],
        household=households["H2"],
        role=HouseholdRole.CHILD,
        end_date=date(2024, 1, 1),
    )
    return Registry(people, households)


@pytest.fixture
def people_context() -> ExpressionContext:
    return individual_context(
        individual_schema=INDIVIDUAL_SCHEMA, household_schema=HOUSEHOLD_SCHEMA, extra_constants={"base": 300}
    )


@pytest.fixture
def household_ctx() -> ExpressionContext:
    return household_context(household_schema=HOUSEHOLD_SCHEMA, individual_schema=INDIVIDUAL_SCHEMA)


def per_person(registry: Registry, text: str, context: ExpressionContext, **kwargs: Any) -> dict[str, Any]:
    expression = compile_expression(text, context, today=TODAY, **kwargs)
    rows = dict(Individual.objects.annotate(value=expression).values_list("pk", "value"))
    return {name: rows[person.pk] for name, person in registry.people.items()}


def per_household(registry: Registry, text: str, context: ExpressionContext) -> dict[str, Any]:
    expression = compile_expression(text, context, today=TODAY)
    return dict(Household.objects.annotate(value=expression).values_list("code", "value"))


def selected(registry: Registry, text: str, context: ExpressionContext) -> set[str]:
    return registry.names(Individual.objects.filter(compile_filter(text, context, today=TODAY)))


@pytest.mark.django_db
class TestIndividualVariables:
    def test_core_fields_and_age(self, registry: Registry, people_context: ExpressionContext) -> None:
        assert per_person(registry, "age", people_context) == {
            "ana": 75, "ben": 64, "cai": 3, "dan": 15, "eve": None, "fay": 34,
        }  # fmt: skip
        assert selected(registry, 'sex == "F" and status == "active"', people_context) == {
            "ana",
            "cai",
            "eve",
        }
        assert selected(registry, 'given_name == "Ben"', people_context) == {"ben"}
        assert selected(registry, 'birth_date < date("1960-01-01")', people_context) == {"ana"}

    def test_age_on_another_day(self, registry: Registry, people_context: ExpressionContext) -> None:
        ages = per_person(registry, "age", people_context) | {}
        on_the_16th = Individual.objects.annotate(
            value=compile_expression("age", people_context, today=date(2025, 6, 16))
        )
        assert on_the_16th.get(pk=registry.people["ben"].pk).value == ages["ben"] + 1

    def test_location_levels(self, registry: Registry, people_context: ExpressionContext) -> None:
        assert per_person(registry, "region", people_context) == {
            "ana": "North", "ben": "North", "cai": "North", "dan": "South", "eve": "South", "fay": "South",
        }  # fmt: skip
        assert per_person(registry, "district", people_context)["ben"] == "North B"
        assert per_person(registry, "district", people_context)["dan"] is None  # South has no district
        assert selected(registry, 'age >= 65 and region == "North"', people_context) == {"ana"}
        assert selected(registry, 'location == "N-A"', people_context) == {"ana", "cai"}
        assert selected(registry, 'region_code in ["S"]', people_context) == {"dan", "eve", "fay"}

    def test_location_levels_are_configurable(self, registry: Registry) -> None:
        context = individual_context(location_levels={"province": 0, "county": 1})
        assert "region" not in context and "county_code" in context
        assert selected(registry, 'province == "North" and county_code == "N-A"', context) == {"ana", "cai"}

    def test_custom_fields_typed_by_schema(
        self, registry: Registry, people_context: ExpressionContext
    ) -> None:
        assert selected(registry, "age >= 65 and data.disability == true", people_context) == {"ana"}
        assert selected(registry, "not data.disability", people_context) == {"ben"}
        # Dan's "yes" is not a JSON boolean and Eve's "12" not a number: both read as null.
        assert selected(registry, "data.disability == null", people_context) == {"cai", "dan", "eve", "fay"}
        assert per_person(registry, "data.income", people_context) == {
            "ana": Decimal("50.5"), "ben": 0, "cai": None, "dan": 20, "eve": None, "fay": -7,
        }  # fmt: skip
        assert selected(registry, 'status == "active" and data.school_attendance >= 0.8', people_context) == {
            "ana"
        }
        assert selected(registry, 'data.occupation in ["farmer", "trader"]', people_context) == {"ana", "ben"}
        assert selected(registry, "data.enrolled_on < date('2021-01-01')", people_context) == {"ana"}
        enrolled = per_person(registry, "data.enrolled_on", people_context)
        assert enrolled["ana"] == date(2020, 1, 1) and enrolled["eve"] is None  # "someday" is no date
        assert selected(registry, 'data.nickname == "Annie"', people_context) == {"ana"}
        assert per_person(registry, "data.children * 2", people_context)["ana"] == 8

    def test_household_values_through_current_membership(
        self, registry: Registry, people_context: ExpressionContext
    ) -> None:
        assert per_person(registry, "300 + 50 * household_size", people_context) == {
            "ana": 450, "ben": 450, "cai": 450, "dan": 400, "eve": 400, "fay": None,
        }  # fmt: skip
        assert selected(registry, "household.data.monthly_income < 100", people_context) == {
            "ana",
            "ben",
            "cai",
        }
        assert selected(registry, "count_age_0_4 >= 1", people_context) == {"ana", "ben", "cai"}
        assert selected(registry, 'household_role == "head"', people_context) == {"ana", "dan"}
        assert selected(registry, "household.head.age >= 65", people_context) == {"ana", "ben", "cai"}
        assert selected(registry, "not household.data.has_electricity", people_context) == {
            "ana",
            "ben",
            "cai",
        }

    def test_payment_formulas(self, registry: Registry, people_context: ExpressionContext) -> None:
        amounts = per_person(registry, "if(data.disability, 1.5, 1) * base", people_context)
        assert amounts == {name: 300 for name in registry.people} | {"ana": 450}
        annotation = compile_annotation("data.income * 1.1", people_context, decimal_places=2, today=TODAY)
        rounded = dict(Individual.objects.annotate(v=annotation).values_list("given_name", "v"))
        assert (
            rounded["Ana"] == Decimal("55.55")
            and rounded["Fay"] == Decimal("-7.70")
            and rounded["Cai"] is None
        )
        assert per_person(registry, "150 + 25 * min(household_size, 2)", people_context)["ana"] == 200

    def test_division_by_zero_gives_null_for_that_row_only(
        self, registry: Registry, people_context: ExpressionContext
    ) -> None:
        values = per_person(registry, "100 / (household_size - 3)", people_context)
        assert values["ana"] is None and values["fay"] is None
        assert values["dan"] == -100
        assert per_person(registry, "data.income // 0", people_context)["ana"] is None
        assert per_person(registry, "7 / 2", people_context)["ana"] == Decimal("3.5")  # not integer division

    def test_null_reasons_name_the_cause_per_row(
        self, registry: Registry, people_context: ExpressionContext
    ) -> None:
        reasons = null_reasons(
            Individual.objects.all(), "base + data.income / (household_size - 3)", people_context, today=TODAY
        )
        by_name = {name: reasons.get(person.pk) for name, person in registry.people.items()}
        assert by_name == {
            "ana": "division by zero at column 8: data.income / (household_size - 3)",
            "ben": "division by zero at column 8: data.income / (household_size - 3)",
            "cai": "data.income has no value",
            "dan": None,
            "eve": "data.income has no value",
            "fay": "household_size has no value",
        }

    def test_bare_boolean_variables_filter(
        self, registry: Registry, people_context: ExpressionContext
    ) -> None:
        Individual.objects.filter(pk=registry.people["ben"].pk).update(birth_date_estimated=True)
        assert selected(registry, "birth_date_estimated", people_context) == {"ben"}
        assert selected(registry, "household.data.has_electricity", people_context) == {"dan", "eve"}
        assert selected(registry, "data.disability", people_context) == {"ana"}

    def test_operators(self, registry: Registry, people_context: ExpressionContext) -> None:
        assert per_person(registry, "(age - 100) % 7", people_context)["ana"] == 3  # Python's sign rule
        assert per_person(registry, "age // 10", people_context)["ana"] == 7
        assert per_person(registry, "-(age ** 2)", people_context)["cai"] == -9
        assert per_person(registry, "age ** 0", people_context)["cai"] == 1
        assert per_person(registry, "0.1 + 0.2 == 0.3", people_context)["ana"] is True
        assert per_person(registry, "abs(data.income)", people_context)["fay"] == 7
        assert per_person(registry, "round(2.675, 2)", people_context)["ana"] == Decimal("2.68")
        assert per_person(registry, "round(-2.5)", people_context)["ana"] == -3
        assert per_person(registry, "max(age, 18)", people_context) == {
            "ana": 75, "ben": 64, "cai": 18, "dan": 18, "eve": None, "fay": 34,
        }  # fmt: skip
        assert per_person(registry, "coalesce(age, 0)", people_context)["eve"] == 0
        assert per_person(registry, "if(age == null, 'unknown', 'known')", people_context)["eve"] == "unknown"
        assert per_person(registry, "min(birth_date, date('2000-01-01'))", people_context)["cai"] == date(
            2000, 1, 1
        )

    def test_dates(self, registry: Registry, people_context: ExpressionContext) -> None:
        assert per_person(registry, "today()", people_context)["ana"] == TODAY
        assert per_person(registry, "years_since(data.enrolled_on)", people_context)["ana"] == 5
        assert per_person(registry, "years_since(data.enrolled_on)", people_context)["eve"] is None
        assert per_person(registry, "days_since(date('2025-06-01'))", people_context)["ana"] == 14
        assert per_person(registry, "days_since(birth_date)", people_context)["cai"] == 1261

    def test_constant_conditions(self, registry: Registry, people_context: ExpressionContext) -> None:
        everyone = set(registry.people)
        assert selected(registry, "true", people_context) == everyone
        assert selected(registry, "false", people_context) == set()
        assert selected(registry, "age in []", people_context) == set()
        assert selected(registry, "age not in []", people_context) == everyone
        assert selected(registry, "base > 100", people_context) == everyone
        assert selected(registry, "null == null", people_context) == everyone

    def test_null_logic_matches_sql(self, registry: Registry, people_context: ExpressionContext) -> None:
        # Eve's age is null: `or` with a true side is true, `and` with a false side false, else null.
        values = per_person(registry, "age > 1 or true", people_context)
        assert values["eve"] is True
        assert per_person(registry, "age > 1 and false", people_context)["eve"] is False
        assert per_person(registry, "age > 1 and true", people_context)["eve"] is None
        assert "eve" not in selected(registry, "not (age > 1)", people_context)
        assert "eve" not in selected(registry, "age > 1", people_context)
        negated = ~compile_filter("age > 1", people_context, today=TODAY)
        assert registry.names(Individual.objects.filter(negated)) == set()


@pytest.mark.django_db
class TestHouseholdVariables:
    def test_counts(self, registry: Registry, household_ctx: ExpressionContext) -> None:
        expected = {
            "household_size": {"H1": 3, "H2": 2, "H3": 0},
            "size": {"H1": 3, "H2": 2, "H3": 0},
            "count_female": {"H1": 2, "H2": 1, "H3": 0},  # Fay left H2
            "count_male": {"H1": 1, "H2": 1, "H3": 0},
            "count_head": {"H1": 1, "H2": 1, "H3": 0},
            "count_child": {"H1": 0, "H2": 1, "H3": 0},
            "count_grandchild": {"H1": 1, "H2": 0, "H3": 0},
            "count_age_0_4": {"H1": 1, "H2": 0, "H3": 0},
            "count_age_5_17": {"H1": 0, "H2": 1, "H3": 0},
            "count_age_18_59": {"H1": 0, "H2": 0, "H3": 0},
            "count_age_60_plus": {"H1": 2, "H2": 0, "H3": 0},
            "count_age_65_plus": {"H1": 1, "H2": 0, "H3": 0},  # Ben is 64 until tomorrow
            "count_under_18": {"H1": 1, "H2": 1, "H3": 0},
        }
        for name, values in expected.items():
            assert per_household(registry, name, household_ctx) == values, name

    def test_formulas_and_filters(self, registry: Registry, household_ctx: ExpressionContext) -> None:
        assert per_household(registry, "150 + 25 * min(household_size, 6)", household_ctx) == {
            "H1": 225, "H2": 200, "H3": 150,
        }  # fmt: skip
        low_income = Household.objects.filter(compile_filter("data.monthly_income < 100", household_ctx))
        assert registry.codes(low_income) == {"H1"}
        assert per_household(registry, "head.age", household_ctx) == {"H1": 75, "H2": 15, "H3": None}
        assert per_household(registry, 'head.sex == "F"', household_ctx) == {
            "H1": True,
            "H2": False,
            "H3": None,
        }
        assert per_household(registry, "head.data.disability", household_ctx)["H1"] is True
        assert per_household(registry, 'data.dwelling == "hut"', household_ctx)["H3"] is True
        assert per_household(registry, "data.monthly_income / household_size", household_ctx)["H3"] is None
        assert per_household(registry, 'region == "North"', household_ctx) == {
            "H1": True,
            "H2": False,
            "H3": True,
        }


@pytest.mark.django_db
def test_beneficiary_style_composition(registry: Registry) -> None:
    """A context for a model with `individual` and `household` foreign keys (HouseholdMember here,
    standing in for programmes' Beneficiary), built with the public API only."""
    individual = individual_fields(individual_schema=INDIVIDUAL_SCHEMA)
    household = household_fields(household_schema=HOUSEHOLD_SCHEMA)
    context = (
        ExpressionContext()
        .add("role", choice_type(HouseholdRole.choices), "role")
        .add("is_primary_recipient", T_BOOLEAN, "is_primary_recipient")
        .add_schema_fields({"properties": {"weight": {"type": "number"}}}, prefix="plan")
        .include(individual, path="individual", prefix="individual")
        .include(individual, path="individual", skip_existing=True)
        .include(household, path="household", prefix="household")
        .include(household, path="household", names=["household_size", "count_*"])
        .add_constant("base", Decimal("100.50"))
    )
    assert {"age", "individual.age", "household.data.monthly_income", "household.head.age"} <= set(
        context.names
    )
    current = HouseholdMember.objects.filter(end_date__isnull=True)
    chosen = current.filter(
        compile_filter('age >= 18 and household_size >= 2 and role != "grandchild"', context, today=TODAY)
    )
    assert {m.individual.given_name for m in chosen} == {"Ana", "Ben"}
    amounts = dict(
        current.annotate(
            amount=compile_annotation(
                "base + if(individual.data.disability, 50, 0) + 10 * count_age_0_4", context, today=TODAY
            )
        ).values_list("individual__given_name", "amount")
    )
    assert amounts == {
        "Ana": Decimal("160.5"), "Ben": Decimal("110.5"), "Cai": Decimal("110.5"),
        "Dan": Decimal("100.5"), "Eve": Decimal("100.5"),
    }  # fmt: skip
    heads = current.filter(
        compile_filter("household.data.monthly_income > 100 and household.head.age < 18", context)
    )
    assert {m.individual.given_name for m in heads} == {"Dan", "Eve"}


@pytest.mark.django_db
def test_linked_context_for_a_beneficiary_like_model(registry: Registry) -> None:
    """linked_context + the model's own fields: the plan's `data.x` wins over the registry's."""
    plan_schema = {"properties": {"disability": {"type": "string", "enum": ["mild", "severe"]}}}
    context = (
        linked_context(individual_schema=INDIVIDUAL_SCHEMA, household_schema=HOUSEHOLD_SCHEMA)
        .add("role", choice_type(HouseholdRole.choices), "role")
        .add_schema_fields(plan_schema)
    )
    assert context.get("data.disability").type.choice_values == ("mild", "severe")
    assert context.get("individual.data.disability").type == T_BOOLEAN
    current = HouseholdMember.objects.filter(end_date__isnull=True)

    def members(text: str) -> set[str]:
        found = current.filter(compile_filter(text, context, today=TODAY))
        return set(found.values_list("individual__given_name", flat=True))

    assert members("age >= 65 and individual.data.disability == true") == {"Ana"}
    assert members('household_size >= 3 and role == "spouse"') == {"Ben"}
    assert members("household.head.age < 18 and household.data.monthly_income > 100") == {"Dan", "Eve"}
    assert members('region == "South" and household.region == "South"') == {"Dan", "Eve"}


@pytest.mark.django_db
def test_linked_context_with_one_path(registry: Registry) -> None:
    current = HouseholdMember.objects.filter(end_date__isnull=True)
    # Only the individual: household values through the individual's current membership.
    by_individual = linked_context(household_path=None, household_schema=HOUSEHOLD_SCHEMA)
    found = current.filter(compile_filter("household.size == 2 and household_size == 2", by_individual))
    assert set(found.values_list("individual__given_name", flat=True)) == {"Dan", "Eve"}
    # Only the household: its variables are bare too.
    by_household = linked_context(individual_path=None, household_schema=HOUSEHOLD_SCHEMA)
    assert "age" not in by_household and "data.monthly_income" in by_household
    found = current.filter(
        compile_filter("data.monthly_income < 100 and code == household.code", by_household)
    )
    assert set(found.values_list("individual__given_name", flat=True)) == {"Ana", "Ben", "Cai"}
    with pytest.raises(ValueError, match="needs an individual path"):
        linked_context(individual_path=None, household_path=None)


@pytest.mark.django_db
def test_one_query_whatever_the_variables(
    registry: Registry, people_context: ExpressionContext, django_assert_num_queries: Any
) -> None:
    text = "if(household.head.age >= 65, 2, 1) * (household_size + count_age_0_4) + age // 10"
    expression = compile_annotation(text, people_context, today=TODAY)
    with django_assert_num_queries(1):
        values = dict(Individual.objects.annotate(value=expression).values_list("given_name", "value"))
    assert values == {"Ana": 15, "Ben": 14, "Cai": 8, "Dan": 3, "Eve": None, "Fay": None}


@pytest.mark.django_db
def test_checked_expression_compiles_once_checked(
    registry: Registry, people_context: ExpressionContext
) -> None:
    typed = check("age >= 65", people_context, expect="boolean")
    assert registry.names(Individual.objects.filter(compile_filter(typed, people_context, today=TODAY))) == {
        "ana"
    }
    with pytest.raises(ExpressionError, match="must give a number, but it gives a true/false"):
        compile_annotation(typed, people_context)


# --- cross-check: random expressions, evaluated in Python and in the database -----------------

NUMERIC_VARIABLES = ["age", "household_size", "data.income", "count_female", "data.school_attendance", "base"]
BOOLEAN_VARIABLES = ["data.disability", "household.data.has_electricity"]


def random_number(rng: random.Random, depth: int) -> str:
    if depth <= 0 or rng.random() < 0.25:
        choice = rng.random()
        if choice < 0.45:
            return rng.choice(NUMERIC_VARIABLES)
        if choice < 0.7:
            return str(rng.randint(-5, 20))
        return str(rng.choice(["0.5", "1.25", "2.5", "0.1", "3.75", "0"]))
    kind = rng.randrange(9)
    a, b = random_number(rng, depth - 1), random_number(rng, depth - 1)
    if kind <= 3:
        return f"({a} {rng.choice(['+', '-', '*', '/'])} {b})"
    if kind == 4:
        return f"{rng.choice(['min', 'max'])}({a}, {b})"
    if kind == 5:
        return f"if({random_condition(rng, depth - 1)}, {a}, {b})"
    if kind == 6:
        return f"round({a}, {rng.randint(0, 2)})" if rng.random() < 0.5 else f"abs({a})"
    if kind == 7:
        return f"coalesce({a}, {b})"
    return f"({a} {rng.choice(['//', '%'])} {b})" if rng.random() < 0.5 else f"({a}) ** {rng.randint(0, 3)}"


def random_condition(rng: random.Random, depth: int) -> str:
    kind = rng.randrange(6)
    if depth <= 0 or kind == 0:
        return rng.choice(BOOLEAN_VARIABLES + ["true", "false"])
    if kind <= 2:
        op = rng.choice(["==", "!=", "<", "<=", ">", ">="])
        return f"{random_number(rng, depth - 1)} {op} {random_number(rng, depth - 1)}"
    if kind == 3:
        left, right = random_condition(rng, depth - 1), random_condition(rng, depth - 1)
        return f"({left} {rng.choice(['and', 'or'])} {right})"
    if kind == 4:
        return f"not ({random_condition(rng, depth - 1)})"
    return f"{random_number(rng, depth - 1)} == null"


def same(database: Any, python: Any) -> bool:
    if isinstance(python, bool) or python is None or isinstance(database, bool) or database is None:
        return database == python and type(database) is type(python)
    return abs(Decimal(database) - Decimal(python)) <= Decimal("1e-6") * max(Decimal(1), abs(Decimal(python)))


@pytest.mark.django_db
def test_random_expressions_agree_with_python(registry: Registry, people_context: ExpressionContext) -> None:
    variables = NUMERIC_VARIABLES + BOOLEAN_VARIABLES
    rows = Individual.objects.annotate(
        **{
            f"v{index}": compile_expression(name, people_context, today=TODAY)
            for index, name in enumerate(variables)
        }
    ).values_list("pk", *[f"v{index}" for index in range(len(variables))])
    values = {row[0]: dict(zip(variables, row[1:], strict=True)) for row in rows}
    rng = random.Random(20250615)
    checked = 0
    for _ in range(150):
        text = random_number(rng, 3) if rng.random() < 0.6 else random_condition(rng, 3)
        typed = check(text, people_context)
        database = dict(
            Individual.objects.annotate(
                value=compile_expression(typed, people_context, today=TODAY)
            ).values_list("pk", "value")
        )
        for pk, row in values.items():
            python = evaluate(typed, row, context=people_context, today=TODAY)
            assert same(database[pk], python), (
                f"{text} for #{pk}: database {database[pk]!r}, python {python!r}"
            )
            checked += 1
    assert checked == 150 * len(registry.people)
