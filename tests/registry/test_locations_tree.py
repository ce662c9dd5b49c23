"""The location tree: materialised paths, subtree queries, moves, and scoping users to their locations."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access.scope import location_scope_q
from registry.models import Individual, Location
from registry.selectors import individual_list, location_list, location_subtree
from tests.conftest import make_user


def codes(queryset) -> set[str]:  # type: ignore[no-untyped-def]
    return {location.code for location in queryset}


def test_paths_and_depths(tree):
    assert tree.north.path == f"{tree.north.pk:08d}."
    assert tree.north_a.path == f"{tree.north.pk:08d}.{tree.north_a.pk:08d}."
    assert (tree.north.depth, tree.north_a.depth) == (0, 1)


def test_subtree_is_the_location_and_everything_under_it(tree):
    village = Location.objects.create(code="N-A-1", name="Village", parent=tree.north_a)
    assert codes(location_subtree(location=tree.north)) == {"N", "N-A", "N-B", "N-A-1"}
    assert codes(location_subtree(location=tree.north_a)) == {"N-A", "N-A-1"}
    assert codes(location_subtree(location=village)) == {"N-A-1"}
    assert codes(location_subtree(location=tree.south)) == {"S"}


def test_subtree_does_not_catch_siblings_with_a_common_prefix(db):
    # ids 1 and 10 share the digit "1": the zero-padded, dot-ended path keeps them apart.
    first = Location.objects.create(code="A", name="A")
    for number in range(12):
        Location.objects.create(code=f"X{number}", name="filler")
    later = Location.objects.create(code="B", name="B")
    assert codes(location_subtree(location=first)) == {"A"}
    assert codes(location_subtree(location=later)) == {"B"}


def test_moving_a_location_rewrites_its_subtree(tree):
    village = Location.objects.create(code="N-A-1", name="Village", parent=tree.north_a)
    tree.north_a.parent = tree.south
    with CaptureQueriesContext(connection) as queries:
        tree.north_a.save()
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 2  # the row itself, then its whole subtree at once
    village.refresh_from_db()
    assert village.path == f"{tree.south.pk:08d}.{tree.north_a.pk:08d}.{village.pk:08d}."
    assert village.depth == 2
    assert codes(location_subtree(location=tree.south)) == {"S", "N-A", "N-A-1"}
    assert codes(location_subtree(location=tree.north)) == {"N", "N-B"}


def test_moving_a_location_under_its_own_subtree_is_refused(tree):
    tree.north.parent = tree.north_a
    with pytest.raises(ValidationError):
        tree.north.full_clean()
    with pytest.raises(ValidationError):
        tree.north.save()
    tree.north.refresh_from_db()
    assert tree.north.parent is None


def test_north_user_sees_north_subtree_only(tree):
    village = Location.objects.create(code="N-A-1", name="Village", parent=tree.north_a)
    north_user = make_user("northern", locations=(tree.north,))
    assert codes(location_list(user=north_user)) == {"N", "N-A", "N-B", "N-A-1"}
    ward_user = make_user("ward", locations=(tree.north_a,))
    assert codes(location_list(user=ward_user)) == {"N-A", "N-A-1"}
    for location in (tree.north, tree.north_a, village, tree.south):
        Individual.objects.create(given_name="P", family_name=location.code, sex="F", location=location)
    assert {p.family_name for p in individual_list(user=north_user)} == {"N", "N-A", "N-A-1"}
    assert {p.family_name for p in Individual.objects.filter(location_scope_q(ward_user))} == {"N-A", "N-A-1"}


def test_administrators_see_everything_and_users_without_locations_nothing(tree, administrator, admin_user):
    everything = {"N", "N-A", "N-B", "S"}
    assert codes(location_list(user=administrator)) == everything
    assert codes(location_list(user=admin_user)) == everything
    assert location_scope_q(administrator) == location_scope_q(admin_user)
    nobody = make_user("nobody")
    assert not location_list(user=nobody).exists()
    Individual.objects.create(given_name="P", family_name="Q", sex="F", location=tree.south)
    assert not individual_list(user=nobody).exists()
    assert individual_list(user=administrator).count() == 1


def test_user_with_two_regions_sees_both(tree):
    both = make_user("both", locations=(tree.north_b, tree.south))
    assert codes(location_list(user=both)) == {"N-B", "S"}


def test_admin_changelists_are_scoped(client, tree, maker, south_officer):
    Individual.objects.create(given_name="Nora", family_name="North", sex="F", location=tree.north_a)
    Individual.objects.create(given_name="Sam", family_name="South", sex="M", location=tree.south)
    client.force_login(maker)
    page = client.get("/admin/registry/individual/").content.decode()
    assert "North" in page and "Sam" not in page
    client.force_login(south_officer)
    page = client.get("/admin/registry/individual/").content.decode()
    assert "Sam" in page and "Nora" not in page
    response = client.get("/admin/registry/location/")
    assert [loc.code for loc in response.context["cl"].result_list] == ["S"]
