"""A scoped export reads its share of the registry, not the whole of it: the plan of its chunk query.

The chunk query the export runs for an officer scoped to a region is planned on PostgreSQL with
`enable_seqscan = off` (so a scan is left without an index only where no index applies): the people must
be read through an index whose condition is the scope's locations (a batch of them at a time, so a sort
above takes that batch's rows, never the whole scope's; on a million people PostgreSQL sorts each
location's few hundred rows, an Incremental Sort), and an export of everything walks the primary key.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access.roles import REGISTRY_OFFICER
from registry import exports
from registry.filters import household_filterset, individual_filterset
from tests.conftest import make_user

pytestmark = pytest.mark.postgres


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes.extend(_nodes(child))
    return nodes


def _first_chunk_plan(dataset: str, queryset: Any, *, sort_off: bool = False) -> dict[str, Any]:
    table = f"registry_{dataset}"
    with CaptureQueriesContext(connection) as captured:
        next(exports.export_chunks(dataset, queryset, {}))
    chunk_sql = next(q["sql"] for q in captured.captured_queries if f'FROM "{table}"' in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        if sort_off:
            # A dozen rows make any plan cheap: with sorting priced out, only a walk in id order avoids a
            # Sort node, so the check holds whatever the statistics of so small a table say.
            cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {chunk_sql}")
        raw = cursor.fetchone()[0]
    return (raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"]


def _scans_of(plan: dict[str, Any], table: str) -> list[dict[str, Any]]:
    return [node for node in _nodes(plan) if node.get("Relation Name") == table]


@pytest.fixture
def scoped_registry(tree, make_household):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the query plan is PostgreSQL's")
    for location in (tree.north_a, tree.north_b, tree.south, tree.north_a):
        make_household(location, members=3)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE registry_individual, registry_household, registry_location")


@pytest.mark.parametrize("dataset", ["individual", "household"])
def test_scoped_export_reads_people_through_the_scope_index(dataset, tree, scoped_registry):
    officer = make_user("north-officer", roles=(REGISTRY_OFFICER,), locations=(tree.north,))
    make = individual_filterset if dataset == "individual" else household_filterset
    queryset = make({}, user=officer).qs
    assert exports.within_location_subtrees(queryset)

    plan = _first_chunk_plan(dataset, queryset)
    table = f"registry_{dataset}"
    scans = _scans_of(plan, table)
    assert scans, plan
    for scan in scans:
        assert scan["Node Type"] != "Seq Scan", scan
        condition = scan.get("Index Cond") or ""
        if scan["Node Type"] == "Bitmap Heap Scan":
            condition = scan.get("Recheck Cond") or ""
        # The batch of the scope's locations: whatever sorts above it sorts those locations' rows only.
        assert "location_id = ANY" in condition, f"{table} not read through the scope's locations: {scan}"
    locations = _scans_of(plan, "registry_location")
    assert locations and all(node["Node Type"] != "Seq Scan" for node in locations), plan


def test_export_of_everything_walks_the_ids(admin_user, scoped_registry):
    queryset = individual_filterset({}, user=admin_user).qs
    assert not exports.within_location_subtrees(queryset)
    plan = _first_chunk_plan("individual", queryset, sort_off=True)
    (scan,) = _scans_of(plan, "registry_individual")
    assert scan["Index Name"] == "registry_individual_pkey", scan
    assert not [node for node in _nodes(plan) if node["Node Type"] == "Sort"], plan


def test_which_exports_walk_by_location(tree, admin_user):
    from registry.models import Individual

    north = tree.north.path
    assert exports.within_location_subtrees(Individual.objects.filter(location__path__startswith=north))
    either = Individual.objects.filter(location__path__startswith=north) | Individual.objects.filter(
        location__path__startswith=tree.south.path
    )
    assert exports.within_location_subtrees(either.filter(sex="F"))
    assert not exports.within_location_subtrees(Individual.objects.exclude(location__path__startswith=north))
    assert not exports.within_location_subtrees(
        Individual.objects.filter(location__path__startswith=north) | Individual.objects.filter(sex="F")
    )
    # Another row's location (the household's) does not place the person.
    assert not exports.within_location_subtrees(
        Individual.objects.filter(memberships__household__location__path__startswith=north)
    )
