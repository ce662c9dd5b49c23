"""A scoped export walks location by location and still gives every row of the scope once."""

from __future__ import annotations

import pytest

from access.roles import REGISTRY_OFFICER
from registry import exports
from registry.filters import household_filterset, individual_filterset
from registry.models import Household, Individual
from tests.conftest import make_user


@pytest.mark.parametrize("dataset", ["individual", "household"])
def test_scoped_export_gives_each_row_of_the_scope_once(dataset, tree, make_household, monkeypatch):
    for location in (tree.north_a, tree.south, tree.north_b, tree.north_a, tree.north_b):
        make_household(location, members=3)
    # Pages of 2 rows and one location a batch: keysets cross locations and batches many times.
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    monkeypatch.setattr(exports, "LOCATION_BATCH", 1)
    officer = make_user("north-officer", roles=(REGISTRY_OFFICER,), locations=(tree.north,))
    make = individual_filterset if dataset == "individual" else household_filterset
    filterset = make({}, user=officer)
    assert exports.within_location_subtrees(filterset.qs)
    chunks = list(exports.export_chunks(dataset, filterset.qs, filterset.schema))
    ids = [row[0] for chunk in chunks for row in chunk]
    model = Individual if dataset == "individual" else Household
    expected = set(
        model.objects.filter(location__path__startswith=tree.north.path).values_list("pk", flat=True)
    )
    assert len(ids) == len(set(ids)) == len(expected) and set(ids) == expected
    assert all(len(chunk) <= 2 for chunk in chunks)
    # Grouped by location, ids rising inside each.
    located = dict(model.objects.values_list("pk", "location_id"))
    keys = [(located[pk], pk) for pk in ids]
    assert keys == sorted(keys)


def test_a_location_filter_also_walks_by_location(tree, make_household, admin_user, monkeypatch):
    for location in (tree.north_a, tree.south, tree.north_b):
        make_household(location, members=2)
    monkeypatch.setattr(exports, "CHUNK_SIZE", 3)
    filterset = individual_filterset({"location": tree.north_b.pk}, user=admin_user)
    assert filterset.is_valid(), filterset.errors
    assert exports.within_location_subtrees(filterset.qs)
    rows = [
        row for chunk in exports.export_chunks("individual", filterset.qs, filterset.schema) for row in chunk
    ]
    assert sorted(row[0] for row in rows) == sorted(
        Individual.objects.filter(location=tree.north_b).values_list("pk", flat=True)
    )
    everything = individual_filterset({}, user=admin_user)
    assert not exports.within_location_subtrees(everything.qs)
