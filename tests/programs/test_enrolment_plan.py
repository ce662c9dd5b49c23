"""A large enrolment's statement: the selection read once, and no scan of the table being written.

The duplicate check against those already enrolled is the plan's unique index (ON CONFLICT DO NOTHING):
an anti-join against `programs_beneficiary` inside the INSERT was planned before the first row was
written and, on an empty or freshly filled plan, rescanned every row the statement had already inserted,
once per row (over 11 minutes for 1,000,000 people). Here the INSERT's plan is read on PostgreSQL with
the beneficiary table freshly analysed as empty (the case that went quadratic).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from programs.models import Beneficiary, BeneficiaryStatus
from programs.services import EnrolmentSelection, plan_enrol

pytestmark = pytest.mark.django_db


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes.extend(_nodes(child))
    return nodes


def _enrol_statements(officer, plan, selection: EnrolmentSelection) -> tuple[dict[str, Any], list[str]]:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as captured:
        result = plan_enrol(plan=plan, user=officer, selection=selection, status=BeneficiaryStatus.ACTIVE)
    return result, [q["sql"] for q in captured.captured_queries]


def test_enrolment_reads_the_registry_once_and_skips_the_enrolled(officer, individual_plan, registry):
    north = {person.pk for person in registry.north_people}
    first_pk = min(north)
    plan_enrol(
        plan=individual_plan,
        user=officer,
        selection=EnrolmentSelection(ids=[first_pk]),
        status=BeneficiaryStatus.POTENTIAL,
    )
    result, statements = _enrol_statements(officer, individual_plan, EnrolmentSelection())
    assert result["enrolled"] == len(north) - 1
    enrolled = Beneficiary.objects.filter(benefit_plan=individual_plan)
    assert set(enrolled.values_list("individual_id", flat=True)) == north
    # The one enrolled before keeps its row and status: skipped, not written again.
    assert enrolled.get(individual_id=first_pk).status == BeneficiaryStatus.POTENTIAL
    reads = [sql for sql in statements if "registry_individual" in sql]
    assert len(reads) == 1 and reads[0].startswith("INSERT INTO programs_beneficiary"), reads


def test_enrolling_the_same_selection_again_enrols_nobody(officer, individual_plan, registry):
    selection = EnrolmentSelection()
    first = plan_enrol(plan=individual_plan, user=officer, selection=selection)
    again = plan_enrol(plan=individual_plan, user=officer, selection=selection)
    assert (first["enrolled"], again["enrolled"]) == (len(registry.north_people), 0)
    assert Beneficiary.objects.filter(benefit_plan=individual_plan).count() == len(registry.north_people)


@pytest.mark.postgres
@pytest.mark.parametrize("kind", ["individual", "household"])
def test_insert_does_not_scan_the_beneficiaries(kind, officer, individual_plan, household_plan, registry):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the query plan is PostgreSQL's")
    plan = individual_plan if kind == "individual" else household_plan
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE programs_beneficiary")  # empty: what made the nested loop look free
    _, statements = _enrol_statements(officer, plan, EnrolmentSelection())
    (insert,) = [sql for sql in statements if sql.startswith("INSERT INTO programs_beneficiary")]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {insert}")
        raw = cursor.fetchone()[0]
    plan_tree = (raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"]
    assert plan_tree["Node Type"] == "ModifyTable" and plan_tree.get("Conflict Resolution") == "NOTHING"
    scans = [node for node in _nodes(plan_tree)[1:] if node.get("Relation Name") == "programs_beneficiary"]
    assert not scans, f"the INSERT reads the table it writes: {scans}"
