"""Reads from the registry, scoped to what the user may see."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import EmptyResultSet
from django.db import connection, connections
from django.db.models import Exists, Func, OuterRef, Q, QuerySet
from django.db.models.functions import Collate, Upper

from access.hooks import provided_if_any
from access.records import records_in_scope
from access.scope import paths_q, user_location_paths, user_sees_everywhere
from registry.models import Household, IdentityDocument, Individual, Location

PREFIX_MARK = "*"
PREFIX_MIN_LENGTH = 3  # "1*" would match a tenth of the registry: too short a prefix is taken as typed


@dataclass(frozen=True)
class MatchCount:
    """How many records a search matches: exact, the planner's estimate, or "more than" a cap."""

    count: int
    is_estimate: bool = False
    is_capped: bool = False  # counted up to the cap only: at least `count`


def match_count(queryset: QuerySet, *, exact_below: int = 1_000, cap: int = 10_000) -> MatchCount:
    """Never a full COUNT(*) of a big table: on PostgreSQL the planner's estimate of the filtered query
    (EXPLAIN, no rows read) once it is above `exact_below`; below it, and on other databases, an exact count
    that stops at `cap` + 1 rows (`SELECT count(*) FROM (... LIMIT cap + 1)`)."""
    queryset = queryset.order_by().values("pk")
    database = connections[queryset.db]
    if database.vendor == "postgresql":
        estimate = _planner_rows(queryset, database)
        if estimate > exact_below:
            return MatchCount(estimate, is_estimate=True)
    counted = queryset[: cap + 1].count()
    return MatchCount(min(counted, cap), is_capped=counted > cap) if counted > cap else MatchCount(counted)


def _planner_rows(queryset: QuerySet, database: Any) -> int:
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # e.g. queryset.none(): nothing to count
        return 0
    with database.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def documents_matching(term: str) -> QuerySet[IdentityDocument] | None:
    """Identity documents numbered `term` (exact) or starting with it (`term*`); None for an empty term.

    Both are served by the (value, doc_type) unique index, whose varchar_pattern_ops class answers
    LIKE 'prefix%' as well as equality whatever the database's collation.
    """
    term = term.strip()
    value = term.rstrip(PREFIX_MARK).strip()
    if not value:
        return None
    if term.endswith(PREFIX_MARK) and len(value) >= PREFIX_MIN_LENGTH:
        return IdentityDocument.objects.filter(value__startswith=value)
    return IdentityDocument.objects.filter(value=value)


def document_number_condition(term: str, *, individual: str = "pk") -> Q | None:
    """People holding a document `documents_matching(term)`: an EXISTS, so no duplicate rows."""
    documents = documents_matching(term)
    if documents is None:
        return None
    return Q(Exists(documents.filter(individual=OuterRef(individual))))


def location_paths_of(user: AbstractBaseUser | AnonymousUser) -> list[str]:
    """Paths of the locations on the user's profile in force today (a scope grant's dates); handed to
    `access` by the registry's ready()."""
    locations = Location.objects.filter(user_profiles__user=user)
    out_of_force = provided_if_any("locations_out_of_force")
    if out_of_force is not None:
        locations = locations.exclude(pk__in=out_of_force(user))
    return list(locations.values_list("path", flat=True))


def location_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Location]:
    """Locations the user may see: the subtrees of their profile's locations (all for administrators)."""
    qs = Location.objects.all()
    if user_sees_everywhere(user):
        return qs
    paths = user_location_paths(user)
    if not paths:
        return qs.none()
    return qs.filter(paths_q(paths))


def location_subtree(*, location: Location) -> QuerySet[Location]:
    return Location.objects.filter(path__startswith=location.path)


def individual_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Individual]:
    return records_in_scope(Individual.objects.select_related("location"), user=user)


def household_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Household]:
    return records_in_scope(Household.objects.select_related("location"), user=user)


def name_order_key(field: str) -> Func:
    """UPPER(name) as the name indexes hold it: in the "C" collation on PostgreSQL (migration 0007), so a
    list ordered by name reads its page off the index instead of sorting every row."""
    key = Upper(field)
    return Collate(key, "C") if connection.vendor == "postgresql" else key
