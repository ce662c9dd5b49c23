"""CSV and XLSX exports of individuals and households: chunked, custom fields as columns, written by the one
spreadsheet writer (`files.spreadsheets`: formula-like text neutralised, XLSX cells typed)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from datetime import date
from itertools import chain
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse

from files.spreadsheets import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, Sheet, csv_stream, csv_write, xlsx_write
from registry.filters import custom_fields
from registry.models import DocumentType, HouseholdMember, HouseholdRole, IdentityDocument

CHUNK_SIZE = 2000
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
    """Lists of rows in id order, CHUNK_SIZE at a time by keyset (no OFFSET), 3 queries each."""
    keys = [key for key, _ in custom_fields(schema)]
    core = INDIVIDUAL_FIELDS if dataset == "individual" else HOUSEHOLD_FIELDS
    lookups = [lookup for _, lookup in core] + ["data"]
    extras_for = _individual_extras if dataset == "individual" else _household_extras
    ordered = queryset.order_by("pk")
    last_id, done = 0, 0
    while True:
        chunk = list(ordered.filter(pk__gt=last_id).values_list(*lookups)[:CHUNK_SIZE])
        if not chunk:
            return
        ids = [row[0] for row in chunk]
        extras = extras_for(ids)
        blank = extras[None]
        rows = []
        for row in chunk:
            data = row[-1] or {}
            rows.append([*row[:-1], *extras.get(row[0], blank), *[data.get(key) for key in keys]])
        yield rows
        last_id, done = ids[-1], done + len(chunk)
        if on_chunk:
            on_chunk(done)


def export_rows(
    dataset: str, queryset: QuerySet, schema: dict[str, Any], on_chunk: RowsCallback | None = None
) -> Iterator[list[Any]]:
    for rows in export_chunks(dataset, queryset, schema, on_chunk):
        yield from rows


def _ids_condition(field: str, ids: list[int]) -> dict[str, Any]:
    """A range when the chunk's ids are dense (one index range scan), else the id list."""
    if ids[-1] - ids[0] < 4 * len(ids):
        return {f"{field}__gte": ids[0], f"{field}__lte": ids[-1]}
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
