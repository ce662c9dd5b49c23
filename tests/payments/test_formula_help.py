"""The list of variables, functions and examples beside a payment plan's formula fields."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from payments.expressions import EXAMPLES, payment_context, payment_expression_help, payment_expressions_check
from registry.expressions.parser import FUNCTIONS
from tests.payments.conftest import World, make_payment_plan
from tests.programs.conftest import make_plan


def test_a_custom_field_added_to_the_plan_schema_appears_beside_the_formula(
    client: Client, world: World
) -> None:
    payment_plan = make_payment_plan(world)
    client.force_login(world.officer)
    url = reverse("admin:payments_paymentplan_change", args=[payment_plan.pk])
    assert "data.disability_grade" not in client.get(url).content.decode()
    schema = world.plan.beneficiary_schema
    schema["properties"]["disability_grade"] = {"type": "integer", "title": "Disability grade"}
    world.plan.beneficiary_schema = schema
    world.plan.save()
    page = client.get(url).content.decode()
    assert '<tr data-name="data.disability_grade"><td><code>data.disability_grade</code></td>' in page
    assert "<td>whole number</td><td>Disability grade</td>" in page
    help_json = client.get(reverse("admin:payments_paymentplan_formula_help", args=[world.plan.pk])).json()
    assert {"name": "data.disability_grade", "type": "whole number", "description": "Disability grade"} in (
        help_json["variables"]
    )


def test_the_list_is_the_checkers_own_context(world: World) -> None:
    """Every name the checker accepts is listed, and nothing else: the two cannot drift apart."""
    help_data = payment_expression_help(world.plan)
    assert [v["name"] for v in help_data["variables"]] == payment_context(world.plan).names
    listed = {v["name"]: v["type"] for v in help_data["variables"]}
    assert listed["household_size"] == "whole number" and listed["data.school_attendance"] == "number"
    assert listed["status"].startswith("choice") and '"active"' in listed["status"]
    assert "household.head.age" in listed and "count_age_0_4" in listed
    assert [f["name"] for f in help_data["functions"]] == sorted(FUNCTIONS)
    assert all(f["description"] for f in help_data["functions"]), "a function of the parser is not described"


def test_an_individual_plan_lists_age_and_its_own_fields(db, tree) -> None:
    plan = make_plan(
        "PENSION",
        plan_type="individual",
        beneficiary_schema={"type": "object", "properties": {"pension_id": {"type": "string"}}},
    )
    listed = {v["name"]: v["type"] for v in payment_expression_help(plan)["variables"]}
    assert listed["age"] == "whole number" and listed["data.pension_id"] == "text"
    assert listed["household_size"] == "whole number"


@pytest.mark.parametrize(("expression", "field"), [(e[0], e[2]) for e in EXAMPLES])
def test_every_example_passes_the_checker(world: World, expression: str, field: str) -> None:
    formula, condition = (expression, "") if field == "amount_formula" else ("100", expression)
    payment_expressions_check(plan=world.plan, amount_formula=formula, filter_expression=condition)


def test_the_add_form_lists_the_variables_once_a_plan_is_chosen(client: Client, world: World) -> None:
    client.force_login(world.officer)
    url = reverse("admin:payments_paymentplan_add")
    assert "Choose the benefit plan to see the variables" in client.get(url).content.decode()
    page = client.get(f"{url}?benefit_plan={world.plan.pk}").content.decode()
    assert "<code>data.school_attendance</code>" in page and "<code>if(condition, a, b)</code>" in page
    assert 'src="/static/payments/formula_help.js"' in page and "<script>" not in page


def test_the_help_of_a_plan_one_may_not_see_is_not_found(client: Client, world: World, tree) -> None:
    other = make_plan("OTHER")
    client.force_login(world.officer)
    response = client.get(reverse("admin:payments_paymentplan_formula_help", args=[other.pk]))
    assert response.status_code == 404


def test_the_change_form_with_its_help_in_a_fixed_number_of_queries(client: Client, world: World) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    payment_plan = make_payment_plan(world)
    client.force_login(world.officer)
    url = reverse("admin:payments_paymentplan_change", args=[payment_plan.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as before:
        assert client.get(url).status_code == 200
    for name in ("a", "b", "c", "d", "e", "f"):
        world.plan.beneficiary_schema["properties"][name] = {"type": "number"}
    world.plan.save()
    with CaptureQueriesContext(connection) as after:
        page = client.get(url).content.decode()
    assert "<code>data.f</code>" in page
    assert len(after) == len(before) <= 25, [q["sql"] for q in after.captured_queries]
