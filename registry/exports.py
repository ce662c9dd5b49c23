"""CSV and XLSX exports of individuals and households: chunked, custom fields as columns, written by the one
spreadsheet writer (`files.spreadsheets`: formula-like text neutralised, XLSX cells typed).

An export limited to part of the location tree (an officer's scope, a location filter) walks location by
location, in (location, id) order: each chunk is read through the location index from the locations under
those paths, so it costs the share exported, not the whole registry; an export of everything walks the ids.
"""

from __future__ import annotations

import operator
import tempfile
from collections.abc import Callable, Iterator
from datetime import date
from functools import reduce
from itertools import chain
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.db.models.lookups import StartsWith
from django.db.models.sql.datastructures import Join
from django.db.models.sql.where import AND, WhereNode
from django.http import FileResponse, StreamingHttpResponse

from files.spreadsheets import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, Sheet, csv_stream, csv_write, xlsx_write
from registry.filters import custom_fields
from registry.models import DocumentType, HouseholdMember, HouseholdRole, IdentityDocument, Location

CHUNK_SIZE = 2000
LOCATION_BATCH = 100  # locations read together by a scoped export (≈ 27,000 people at 1M, 3,670 locations)
FORMATS = {
    "csv": (CSV_CONTENT_TYPE, "csv"),
    "xlsx": (XLSX_CONTENT_TYPE, "xlsx"),
}

INDIVIDUAL_FIELDS = (
    ("id", "pk"),
    ("given_name", "given_name"),
    ("family_name", "family_name"),
    ("other_names", "other_names"),
    ("sex", "sex"),
    ("birth_date", "birth_date"),
    ("birth_date_estimated", "birth_date_estimated"),
    ("phone", "phone"),
    ("location_code", "location__code"),
    ("location_name", "location__name"),
    ("registration_date", "registration_date"),
    ("registration_source", "registration_source"),
    ("status", "status"),
)
HOUSEHOLD_FIELDS = (
    ("id", "pk"),
    ("code", "code"),
    ("location_code", "location__code"),
    ("location_name", "location__name"),
    ("address", "address"),
    ("latitude", "latitude"),
    ("longitude", "longitude"),
    ("size", "size"),
    ("registration_date", "registration_date"),
)
RowsCallback = Callable[[int], None]


def sync_export_limit(file_format: str = "csv") -> int:
    """Above this many rows an export runs as a background job (a fifth of it for XLSX, slower to write)."""
    limit = int(getattr(settings, "REGISTRY_EXPORT_SYNC_LIMIT", 50_000))
    return limit if file_format == "csv" else limit // 5


def export_size(queryset: QuerySet, limit: int) -> int:
    """How many rows, counting no further than `limit` + 1 (a bounded COUNT, never the whole table)."""
    return queryset.order_by()[: limit + 1].count()


def export_headers(dataset: str, schema: dict[str, Any]) -> list[str]:
    core = INDIVIDUAL_FIELDS if dataset == "individual" else HOUSEHOLD_FIELDS
    extra = ["national_id", "household_code", "household_role"] if dataset == "individual" else ["head"]
    return [name for name, _ in core] + extra + [key for key, _ in custom_fields(schema)]


def export_chunks(
    dataset: str, queryset: QuerySet, schema: dict[str, Any], on_chunk: RowsCallback | None = None
) -> Iterator[list[list[Any]]]:
    """Lists of rows, CHUNK_SIZE at a time by keyset (no OFFSET), 3 queries each: in id order, or in
    (location, id) order when the queryset keeps only some location subtrees (module docstring)."""
    keys = [key for key, _ in custom_fields(schema)]
    core = INDIVIDUAL_FIELDS if dataset == "individual" else HOUSEHOLD_FIELDS
    lookups = [lookup for _, lookup in core] + ["data", "location_id"]
    extras_for = _individual_extras if dataset == "individual" else _household_extras
    done = 0
    for page in export_pages(queryset, lookups):
        ids = [row[0] for row in page]
        extras = extras_for(ids)
        blank = extras[None]
        rows = []
        for row in page:
            data = row[-2] or {}
            rows.append([*row[:-2], *extras.get(row[0], blank), *[data.get(key) for key in keys]])
        yield rows
        done += len(page)
        if on_chunk:
            on_chunk(done)


def export_pages(queryset: QuerySet, lookups: list[str]) -> Iterator[list[tuple[Any, ...]]]:
    """The rows (`lookups`, the last one location_id) by keyset: over the ids, or, under some location
    subtrees, over (location, id) for LOCATION_BATCH of those locations at a time, each page read through
    the location index (`location_id = ANY(...)`), never by walking every id and filtering."""
    subtrees = location_subtrees_q(queryset)
    if subtrees is None:
        ordered, last_id = queryset.order_by("pk"), 0
        while page := list(ordered.filter(pk__gt=last_id).values_list(*lookups)[:CHUNK_SIZE]):
            yield page
            last_id = page[-1][0]
        return
    locations = list(Location.objects.filter(subtrees).order_by("pk").values_list("pk", flat=True))
    ordered = queryset.order_by("location_id", "pk")
    for start in range(0, len(locations), LOCATION_BATCH):
        batch, last_location, last_id = locations[start : start + LOCATION_BATCH], 0, 0
        while True:
            after = Q(location_id__gt=last_location) | Q(location_id=last_location, pk__gt=last_id)
            page = ordered.filter(after, location_id__in=batch, location_id__gte=last_location)
            rows = list(page.values_list(*lookups)[:CHUNK_SIZE])
            if rows:
                yield rows
            if len(rows) < CHUNK_SIZE:
                break
            last_location, last_id = rows[-1][-1], rows[-1][0]


def location_subtrees_q(queryset: QuerySet) -> Q | None:
    """The location subtrees the queryset keeps its rows in, as a filter on Location: from a prefix match on
    the path of the row's own `location` (alone or OR-ed with others, AND-ed with any other condition, as
    `access` scopes and the location filter write it); None when it keeps rows anywhere."""
    query = queryset.query
    base = query.get_initial_alias()
    location_field = query.model._meta.get_field("location")
    aliases = {
        alias
        for alias, join in query.alias_map.items()
        if isinstance(join, Join) and join.parent_alias == base and join.join_field == location_field
    }
    path_field = Location._meta.get_field("path")

    def subtrees(node: Any) -> Q | None:
        if isinstance(node, WhereNode):
            if node.negated or not node.children:
                return None
            found = [subtrees(child) for child in node.children]
            if node.connector == AND:
                kept = [q for q in found if q is not None]
                return reduce(operator.and_, kept) if kept else None
            if any(q is None for q in found):
                return None
            return reduce(operator.or_, found)  # type: ignore[arg-type]
        lhs = getattr(node, "lhs", None)
        if (
            isinstance(node, StartsWith)
            and getattr(lhs, "target", None) == path_field
            and getattr(lhs, "alias", None) in aliases
        ):
            return Q(path__startswith=node.rhs)
        return None

    return subtrees(query.where)


def within_location_subtrees(queryset: QuerySet) -> bool:
    """Does the queryset keep only rows under some location subtrees (`location_subtrees_q`)?"""
    return location_subtrees_q(queryset) is not None


def export_rows(
    dataset: str, queryset: QuerySet, schema: dict[str, Any], on_chunk: RowsCallback | None = None
) -> Iterator[list[Any]]:
    for rows in export_chunks(dataset, queryset, schema, on_chunk):
        yield from rows


def _ids_condition(field: str, ids: list[int]) -> dict[str, Any]:
    """A range when the chunk's ids are dense (one index range scan), else the id list."""
    low, high = min(ids), max(ids)
    if high - low < 4 * len(ids):
        return {f"{field}__gte": low, f"{field}__lte": high}
    return {f"{field}__in": ids}


def _individual_extras(ids: list[int]) -> dict[Any, tuple[Any, ...]]:
    national_ids = dict(
        IdentityDocument.objects.filter(
            **_ids_condition("individual_id", ids), doc_type=DocumentType.NATIONAL_ID
        )
        .order_by("-pk")
        .values_list("individual_id", "value")
    )
    memberships = {
        individual_id: (code, role)
        for individual_id, code, role in HouseholdMember.objects.filter(
            **_ids_condition("individual_id", ids), end_date__isnull=True
        ).values_list("individual_id", "household__code", "role")
    }
    extras: dict[Any, tuple[Any, ...]] = {None: ("", "", "")}
    for pk in ids:
        code, role = memberships.get(pk, ("", ""))
        extras[pk] = (national_ids.get(pk, ""), code, role)
    return extras


def _household_extras(ids: list[int]) -> dict[Any, tuple[Any, ...]]:
    heads = {
        household_id: f"{given} {family}"
        for household_id, given, family in HouseholdMember.objects.filter(
            **_ids_condition("household_id", ids), end_date__isnull=True, role=HouseholdRole.HEAD
        ).values_list("household_id", "individual__given_name", "individual__family_name")
    }
    extras: dict[Any, tuple[Any, ...]] = {None: ("",)}
    extras.update({pk: (heads.get(pk, ""),) for pk in ids})
    return extras


def csv_lines(headers: list[str], chunks: Iterator[list[list[Any]]]) -> Iterator[str]:
    """The CSV text in pieces, through the one writer (with a BOM: Excel then reads UTF-8)."""
    return csv_stream(headers, chain.from_iterable(chunks))


def write_csv(target: IO[str], headers: list[str], chunks: Iterator[list[list[Any]]]) -> int:
    """Write the CSV to an open text file; returns the number of rows."""
    return csv_write(target, headers, chain.from_iterable(chunks))


def write_xlsx(target: str | Path | IO[bytes], headers: list[str], chunks: Iterator[list[list[Any]]]) -> int:
    """A write-only workbook: rows go to a temporary XML file, not to memory."""
    return xlsx_write(target, [Sheet("Export", headers, chain.from_iterable(chunks))])


def export_filename(dataset: str, file_format: str) -> str:
    return f"{dataset}s-{date.today().isoformat()}.{FORMATS[file_format][1]}"


def export_response(
    dataset: str, file_format: str, queryset: QuerySet, schema: dict[str, Any]
) -> StreamingHttpResponse | FileResponse:
    """The export as a download: CSV streams as it is read; XLSX goes to a temporary file, then streams."""
    headers = export_headers(dataset, schema)
    chunks = export_chunks(dataset, queryset, schema)
    filename = export_filename(dataset, file_format)
    if file_format == "csv":
        response = StreamingHttpResponse(csv_lines(headers, chunks), content_type=FORMATS["csv"][0])
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    spool = tempfile.TemporaryFile(suffix=".xlsx")
    write_xlsx(spool, headers, chunks)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=filename, content_type=FORMATS["xlsx"][0])


def export_to_file(
    dataset: str,
    file_format: str,
    queryset: QuerySet,
    schema: dict[str, Any],
    path: Path,
    on_chunk: RowsCallback | None = None,
) -> int:
    """Write the export to `path` (background jobs); returns the number of rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    headers = export_headers(dataset, schema)
    chunks = export_chunks(dataset, queryset, schema, on_chunk=on_chunk)
    if file_format == "csv":
        with path.open("w", newline="", encoding="utf-8") as target:
            return write_csv(target, headers, chunks)
    return write_xlsx(path, headers, chunks)


def exports_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "exports"
