"""What a source of rows matches in the registry, set-based: people by identity document or by name,
birth date and location; existing households by code; records outside an area. Each function takes a
`registry.bulk.Source` and returns another (a SELECT and its params) that the caller joins to its own
rows, e.g. to mark its staging table: the registry reads its tables, the caller writes its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

from registry.bulk import DOCUMENT, DOCUMENT_TYPES, HOUSEHOLD, INDIVIDUAL, LOCATION, MEMBER, Source


def name_key(column: str) -> str:
    """UPPER(name) as individual_name_idx holds it (the "C" collation on PostgreSQL, migration registry 0007):
    a few rows matched against millions of people probe the index instead of reading the table. A source's
    `family_key` and `given_key` hold its names upper-cased."""
    return f'UPPER({column}) COLLATE "C"' if connection.vendor == "postgresql" else f"UPPER({column})"


def _inside(scope_paths: Sequence[str]) -> str:
    """SQL true when location `l` lies in the area of `scope_paths` (the paths follow as prefix params)."""
    return " OR ".join("l.path LIKE %s" for _path in scope_paths) or "1 = 0"


def _prefixes(scope_paths: Sequence[str]) -> list[str]:
    return [f"{path}%" for path in scope_paths]


def document_matches(source: Source, *, documents: Sequence[str]) -> Source | None:
    """(key, individual_id, matches) for each source row holding an identity document registered to someone:
    the lowest such person's id and how many distinct people match. Source columns: `key` and one column per
    document type in `documents` (the number or ''). None when no document type is given."""
    documents = [column for column in documents if column in DOCUMENT_TYPES]
    if not documents:
        return None
    union = " UNION ALL ".join(
        f"SELECT x.key AS sid, d.individual_id AS iid FROM {source.relation('x')} JOIN {DOCUMENT} d "
        f"ON d.doc_type = '{column}' AND d.value = x.{column} WHERE x.{column} <> ''"
        for column in documents
    )
    return Source(
        f"SELECT sid AS key, MIN(iid) AS individual_id, COUNT(DISTINCT iid) AS matches FROM ({union}) u "
        "GROUP BY sid",
        [param for _column in documents for param in source.params],
    )


def name_matches(source: Source) -> Source:
    """(key, individual_id, matches) for each source row whose upper-cased names (`family_key`, `given_key`),
    `birth_date` and `location_id` are a registered person's (rows without a birth date match nobody)."""
    return Source(
        f"SELECT x.key, MIN(i.id) AS individual_id, COUNT(*) AS matches FROM {source.relation('x')} "
        f"JOIN {INDIVIDUAL} i ON {name_key('i.family_name')} = x.family_key "
        f"AND {name_key('i.given_name')} = x.given_key "
        f"AND i.birth_date = x.birth_date AND i.location_id = x.location_id "
        f"WHERE x.birth_date IS NOT NULL GROUP BY x.key",
        source.params,
    )


def documents_outside(
    source: Source, *, documents: Sequence[str], scope_paths: Sequence[str]
) -> Source | None:
    """(key, doc_type) for each source row whose `individual_id` (matched by document) lies outside the area
    of `scope_paths` (or nowhere): the type of the document that matched. Source columns: `key`,
    `individual_id` and the document columns. None when no document type is given."""
    documents = [column for column in documents if column in DOCUMENT_TYPES]
    if not documents:
        return None
    which = " OR ".join(f"(d.doc_type = '{column}' AND d.value = x.{column})" for column in documents)
    return Source(
        f"SELECT x.key, (SELECT MIN(d.doc_type) FROM {DOCUMENT} d WHERE d.individual_id = x.individual_id "
        f"AND ({which})) AS doc_type FROM {source.relation('x')} WHERE NOT EXISTS ("
        f"SELECT 1 FROM {INDIVIDUAL} i JOIN {LOCATION} l ON l.id = i.location_id "
        f"WHERE i.id = x.individual_id AND ({_inside(scope_paths)}))",
        [*source.params, *_prefixes(scope_paths)],
    )


def households_existing(source: Source) -> Source:
    """(household_key, household_id) of the registered households whose codes the source's `household_key`
    names."""
    return Source(
        f"SELECT h.code AS household_key, h.id AS household_id FROM {HOUSEHOLD} h "
        f"WHERE h.code IN (SELECT x.household_key FROM {source.relation('x')} WHERE x.household_key <> '')",
        source.params,
    )


def households_outside(source: Source, *, scope_paths: Sequence[str]) -> Source:
    """The source rows (all their columns) whose existing `household_id` lies outside the area of
    `scope_paths`: nobody may add people to (and resize) a household they may not see."""
    return Source(
        f"SELECT x.* FROM {source.relation('x')} WHERE x.household_id IS NOT NULL AND NOT EXISTS ("
        f"SELECT 1 FROM {HOUSEHOLD} h JOIN {LOCATION} l ON l.id = h.location_id "
        f"WHERE h.id = x.household_id AND ({_inside(scope_paths)}))",
        [*source.params, *_prefixes(scope_paths)],
    )


def households_of(source: Source) -> Source:
    """(household_id, location_id, data) of the households the source's rows name: by `household_key` (a
    code), or as the current household of `individual_id`; each household once, in id order, with the lowest
    non-NULL `data` of its rows (JSON text; '{}' when none)."""
    return Source(
        f"SELECT h.id AS household_id, h.location_id, COALESCE(MIN(u.data), '{{}}') AS data FROM ("
        f"SELECT g.id AS hid, x.data FROM {source.relation('x')} "
        f"JOIN {HOUSEHOLD} g ON g.code = x.household_key "
        f"WHERE x.household_key <> '' "
        f"UNION ALL SELECT m.household_id, y.data FROM {source.relation('y')} JOIN {MEMBER} m "
        f"ON m.individual_id = y.individual_id AND m.end_date IS NULL WHERE y.individual_id IS NOT NULL) u "
        f"JOIN {HOUSEHOLD} h ON h.id = u.hid GROUP BY h.id, h.location_id ORDER BY h.id",
        [*source.params, *source.params],
    )
