"""The access matrix, generated from the URL configuration: every route × every actor → the expected answer.

A route without an entry in tests/access/matrix.py fails, naming it; so does an entry whose route is gone.
GET for every cell (writes are forged in test_forged_posts.py).
"""

from __future__ import annotations

from functools import cache

import pytest

from tests.access.answers import GRANTED, OK_WITH, OK_WITHOUT, REFUSED, answer, close
from tests.access.matrix import CONDITIONAL_ROUTES, KNOWN_LEAK, MATRIX
from tests.access.routes import (
    DISTRICT_A_OBJECTS,
    MARKED_ROUTES,
    Route,
    route_marker,
    route_objects,
    route_url,
    routes,
)
from tests.access.world import API_ACTORS, OFFICER_B


@cache
def _routes_by_key() -> dict[str, Route]:
    found: dict[str, Route] = {}
    duplicates = []
    for route in routes():
        if route.key in found:
            duplicates.append(route.key)
        found[route.key] = route
    assert not duplicates, f"Two routes share these names; the matrix cannot tell them apart: {duplicates}"
    return found


def test_every_route_has_a_matrix_entry() -> None:
    missing = sorted(set(_routes_by_key()) - set(MATRIX))
    assert not missing, (
        "Routes with no entry in the access matrix (tests/access/matrix.py); add each with the answer every "
        "actor must get: " + ", ".join(missing)
    )


def test_every_matrix_entry_is_a_route() -> None:
    stale = sorted(set(MATRIX) - set(_routes_by_key()) - CONDITIONAL_ROUTES)
    assert not stale, "Access-matrix entries for routes that no longer exist: " + ", ".join(stale)


def test_the_south_officer_is_refused_every_north_a_object() -> None:
    """The matrix itself cannot grant a North A object to the South officer (lists: read for the record)."""
    granted = []
    for key, route in _routes_by_key().items():
        if key not in MATRIX or route.key == route.pattern:  # unnamed: redirects to the named route
            continue
        if route_objects(route) & DISTRICT_A_OBJECTS and MATRIX[key][OFFICER_B] not in REFUSED:
            granted.append(key)
    assert not granted, f"The matrix lets the South officer reach North A objects: {granted}"


def test_marked_routes_say_whether_the_record_is_listed() -> None:
    for key in MARKED_ROUTES:
        answers = {value for actor, value in MATRIX[key].items() if value in GRANTED}
        assert answers <= {OK_WITH, OK_WITHOUT}, (key, answers)
        assert MATRIX[key][OFFICER_B] in REFUSED | {OK_WITHOUT}, key


def test_known_leaks_are_matrix_cells() -> None:
    assert {key for key, _ in KNOWN_LEAK} <= set(MATRIX)
    assert all(actor in MATRIX[key] for key, actor in KNOWN_LEAK)


def _cells() -> list[object]:
    cells = []
    for key, answers in MATRIX.items():
        for actor in answers:
            marks = []
            if (key, actor) in KNOWN_LEAK:
                marks.append(pytest.mark.xfail(reason=KNOWN_LEAK[key, actor], strict=True))
            cells.append(pytest.param(key, actor, id=f"{key}|{actor}", marks=marks))
    return cells


@pytest.mark.parametrize(("key", "actor"), _cells())
def test_matrix(actors, db, key: str, actor: str) -> None:
    route = _routes_by_key().get(key)
    if route is None:
        assert key in CONDITIONAL_ROUTES, f"{key} is in the matrix but not in the URL configuration"
        pytest.skip(f"{key} is not in the URL configuration with these settings")
    world = actors.world
    url = route_url(world, route)
    if url.startswith("/api/") is False and actor in API_ACTORS:
        pytest.fail(f"{key}: API keys are only asked of /api/ routes")
    response = actors.client(actor).get(url)
    expected = MATRIX[key][actor]
    got = answer(response, marker=route_marker(world, key) if expected in (OK_WITH, OK_WITHOUT) else None)
    close(response)
    if (key, actor) in KNOWN_LEAK and expected in REFUSED:
        assert got in REFUSED, f"GET {url} as {actor}: expected a refusal ({expected}), got {got}"
    else:
        assert got == expected, f"GET {url} as {actor}: expected {expected}, got {got}"
