"""ODK Central and KoboToolbox exports of a field form, converted into the upload pipeline's input file.

Accepted: ODK Central's zip of CSVs (the submissions and one CSV per repeat, joined on KEY / PARENT_KEY),
KoboToolbox's XLSX (a sheet per repeat, joined on _index / _parent_index), the same tables as two CSV
files, and the submissions JSON (ODK Central's OData `{"value": [...]}`, KoboToolbox's API
`{"results": [...]}` or a bare list) with the repeat as a nested array. Group paths (`members/name`,
`meta-instanceID`) are reduced to the question's name.

The households are held in memory (one dict entry each), the members stream: one output row per member,
in the upload's columns, with the household's fields copied onto it and two more columns the upload keeps
but does not check: `source` (the file and row it came from) and `source_error` (a problem found here,
which rejects the row). Problems with the export as a whole (unknown, missing or renamed columns) stop
the conversion with every column named; nothing is stored then.
"""

from __future__ import annotations

import json
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from files.limits import RowLimits, file_size_check
from files.readers import XlsxSheet, cell_text
from files.spreadsheets import csv_write
from intake.models import IGNORE, FieldForm
from intake.xlsform import REPEAT
from uploads.columns import columns_for
from uploads.parsing import SOURCE_COLUMN, SOURCE_ERROR_COLUMN
from uploads.readers import table_open

# Columns ODK Central, KoboToolbox and ODK Collect add on their own: read, never mapped.
METADATA = frozenset(
    {
        "KEY",
        "PARENT_KEY",
        "SubmissionDate",
        "SubmitterID",
        "SubmitterName",
        "AttachmentsPresent",
        "AttachmentsExpected",
        "Status",
        "ReviewState",
        "DeviceID",
        "Edits",
        "FormVersion",
        "instanceID",
        "instanceName",
        "start",
        "end",
        "today",
        "deviceid",
        "username",
        "phonenumber",
        "simserial",
        "subscriberid",
        "audit",
        "uuid",
    }
)
METADATA_GROUPS = ("meta", "formhub", "__system")
HOUSEHOLD_KEYS = ("KEY", "meta-instanceID", "meta/instanceID", "instanceID", "_uuid", "__id", "_id", "_index")
MEMBER_KEYS = ("KEY", "__id", "_index")
PARENT_KEYS = ("PARENT_KEY", "_parent_index", "_submission__uuid")
# Which household key each parent column refers to.
PARENT_OF = {
    "PARENT_KEY": ("KEY", "meta-instanceID", "instanceID"),
    "_parent_index": ("_index",),
    "_submission__uuid": ("_uuid",),
}
MAX_ZIP_MEMBERS = 50
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def is_metadata(name: str) -> bool:
    """True for the columns the collection tools add (keys, dates, devices, meta/ groups)."""
    if name in METADATA or name.startswith(("_", "SET-OF-")) or "@odata" in name:
        return True
    first = re.split(r"[/\-]", name, maxsplit=1)[0]
    return first in METADATA_GROUPS


def question_name(name: str, known: set[str]) -> str:
    """A column's question name: `members/given_name` → `given_name`; `grp-age` → `age` unless known whole."""
    name = name.strip()
    if "/" in name:
        name = name.rsplit("/", 1)[1]
    if name not in known and "-" in name:
        tail = name.rsplit("-", 1)[1]
        if tail:
            return tail
    return name


@dataclass
class Records:
    """One level of an export (the submissions, or the repeat's rows): its columns and its rows as dicts."""

    label: str  # how the user knows it: "households.csv", "sheet members", "the JSON submissions"
    columns: list[str]
    rows: Callable[[], Iterator[tuple[str, dict[str, str]]]]  # (where, {column: text})
    close: Callable[[], None] = lambda: None


@dataclass
class Export:
    households: Records
    members: Records
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for step in (self.households.close, self.members.close, *self.cleanup):
            step()


# ---- reading the export -----------------------------------------------------------------------


def _table_records(path: Path, label: str) -> Records:
    table = table_open(path, name=path.name)
    header = list(table.header)

    def rows() -> Iterator[tuple[str, dict[str, str]]]:
        where = _("%(file)s row %(row)s")  # translated once, not per row
        try:
            for number, cells in table.rows:
                if not any(cell.strip() for cell in cells):
                    continue
                yield (
                    where % {"file": label, "row": number},
                    dict(zip(header, cells, strict=False)),
                )
        finally:
            table.close()

    return Records(label, header, rows, table.close)


def _is_repeat(columns: list[str]) -> bool:
    return any(name in columns for name in PARENT_KEYS[:2])


def _two_tables(first: Records, second: Records) -> Export:
    tables = [first, second]
    repeats = [table for table in tables if _is_repeat(table.columns)]
    mains = [table for table in tables if not _is_repeat(table.columns)]
    if len(repeats) != 1 or len(mains) != 1:
        raise ValidationError(
            _(
                "Give the submissions and the %(repeat)s repeat: one table without PARENT_KEY or "
                "_parent_index "
                "(the households) and one with it (the members). Received: %(names)s."
            )
            % {"repeat": REPEAT, "names": ", ".join(table.label for table in tables)}
        )
    return Export(mains[0], repeats[0])


def _zip_export(path: Path, name: str) -> Export:
    directory = tempfile.TemporaryDirectory(prefix="intake-")
    try:
        with zipfile.ZipFile(path) as archive:
            entries = [entry for entry in archive.infolist() if entry.filename.lower().endswith(".csv")]
            if len(archive.infolist()) > MAX_ZIP_MEMBERS * 10 or len(entries) > MAX_ZIP_MEMBERS:
                raise ValidationError(
                    _("%(name)s holds too many files for a form's export.") % {"name": name}
                )
            tables = []
            for entry in entries:
                file_size_check(entry.file_size, name=entry.filename)
                target = Path(directory.name) / f"{len(tables)}.csv"
                with archive.open(entry) as source, target.open("wb") as copy:
                    while chunk := source.read(1024 * 1024):
                        copy.write(chunk)
                tables.append(_table_records(target, Path(entry.filename).name))
    except zipfile.BadZipFile:
        directory.cleanup()
        raise ValidationError(_("%(name)s is not a readable zip file.") % {"name": name}) from None
    except Exception:
        directory.cleanup()
        raise
    repeats = [table for table in tables if _is_repeat(table.columns)]
    if len(tables) - len(repeats) != 1 or len(repeats) != 1:
        directory.cleanup()
        raise ValidationError(
            _(
                "%(name)s should hold the submissions CSV and one CSV of the %(repeat)s repeat (with "
                "PARENT_KEY); it holds: %(files)s."
            )
            % {"name": name, "repeat": REPEAT, "files": ", ".join(table.label for table in tables) or "-"}
        )
    export = _two_tables(*tables)
    export.cleanup.append(directory.cleanup)
    return export


def _xlsx_export(path: Path, name: str) -> Export:
    limits = RowLimits.from_settings()
    titles = XlsxSheet(path, limits=limits)
    try:
        sheet_titles = titles.sheet_titles
    finally:
        titles.close()
    if len(sheet_titles) < 2:
        raise ValidationError(
            _(
                "%(name)s has one sheet: the %(repeat)s repeat should be a second sheet (KoboToolbox's "
                "XLSX export)."
            )
            % {"name": name, "repeat": REPEAT}
        )

    def sheet_records(title: str) -> Records:
        sheet = XlsxSheet(path, limits=limits)
        sheet.sheet_select(title)
        iterator = sheet.rows()
        header: list[str] = []
        for _number, values in iterator:
            if any(value not in (None, "") for value in values):
                header = [cell_text(value).strip() for value in values]
                break
        label = _("sheet %(title)s") % {"title": title}

        def rows() -> Iterator[tuple[str, dict[str, str]]]:
            try:
                for number, values in iterator:
                    cells = [cell_text(value) for value in values]
                    if any(cell.strip() for cell in cells):
                        yield (
                            _("%(file)s row %(row)s") % {"file": label, "row": number},
                            dict(zip(header, cells, strict=False)),
                        )
            finally:
                sheet.close()

        return Records(label, header, rows, sheet.close)

    main = sheet_records(sheet_titles[0])
    repeat_title = REPEAT if REPEAT in sheet_titles else sheet_titles[1]
    return _two_tables(main, sheet_records(repeat_title))


def _flatten(record: dict[str, Any], prefix: str = "") -> tuple[dict[str, str], dict[str, list[Any]]]:
    """A submission's scalar answers by path, and its repeats (lists of objects) by name."""
    values: dict[str, str] = {}
    repeats: dict[str, list[Any]] = {}
    for key, value in record.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            if key.startswith("_") or key in METADATA_GROUPS:
                continue
            inner, inner_repeats = _flatten(value, f"{path}/")
            values.update(inner)
            repeats.update(inner_repeats)
        elif isinstance(value, list):
            if all(isinstance(item, dict) for item in value) and (value or key.rsplit("/", 1)[-1] == REPEAT):
                repeats[key.rsplit("/", 1)[-1]] = value
            elif not key.startswith("_"):
                values[path] = " ".join(cell_text(item) for item in value)
        else:
            values[path] = cell_text(value)
    return values, repeats


def _json_export(path: Path, name: str) -> Export:
    try:
        with path.open(encoding="utf-8-sig") as handle:
            document = json.load(handle)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(
            _("%(name)s is not valid JSON: %(error)s") % {"name": name, "error": exc}
        ) from None
    if isinstance(document, dict):
        found = next((document[key] for key in ("value", "results", "data") if key in document), None)
    else:
        found = document
    if not isinstance(found, list) or not all(isinstance(item, dict) for item in found):
        raise ValidationError(
            _(
                '%(name)s: expected the submissions as a list of objects (ODK Central\'s {"value": [...]}, '
                'KoboToolbox\'s {"results": [...]}, or a bare list).'
            )
            % {"name": name}
        )
    households: list[tuple[str, dict[str, str]]] = []
    members: list[tuple[str, dict[str, str]]] = []
    household_columns: dict[str, None] = {}
    member_columns: dict[str, None] = {}
    label = _("the JSON submissions")
    for index, submission in enumerate(found, start=1):
        values, repeats = _flatten(submission)
        key = next((values[name] for name in HOUSEHOLD_KEYS if values.get(name)), str(index))
        where = _("submission %(number)s (%(key)s)") % {"number": index, "key": key}
        values["_intake_key"] = key
        households.append((where, values))
        household_columns.update(dict.fromkeys(values))
        other = [repeat for repeat in repeats if repeat != REPEAT]
        if other:
            raise ValidationError(
                _("%(where)s has the repeat(s) %(names)s; the form's only repeat is %(repeat)s.")
                % {"where": where, "names": ", ".join(other), "repeat": REPEAT}
            )
        for position, member in enumerate(repeats.get(REPEAT, []), start=1):
            member_values, inner = _flatten(member)
            if inner:
                raise ValidationError(
                    _("%(where)s: a member holds a nested repeat (%(names)s), which the registry has not.")
                    % {"where": where, "names": ", ".join(inner)}
                )
            member_values["_intake_parent"] = key
            members.append((f"{where} {REPEAT}[{position}]", member_values))
            member_columns.update(dict.fromkeys(member_values))
    return Export(
        Records(label, list(household_columns), lambda: iter(households)),
        Records(label, list(member_columns), lambda: iter(members)),
    )


def export_open(paths: list[tuple[Path, str]]) -> Export:
    """Open an export from one or two stored files (path, name as uploaded)."""
    if not paths or len(paths) > 2:
        raise ValidationError(_("Give one file (a zip, an XLSX or a JSON export) or two CSV files."))
    if len(paths) == 2:
        return _two_tables(*(_table_records(path, name) for path, name in paths))
    path, name = paths[0]
    file_size_check(path.stat().st_size, name=name)
    with path.open("rb") as handle:
        head = handle.read(4096)
    if head.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(path) as archive:
            is_xlsx = "[Content_Types].xml" in archive.namelist()
        if not is_xlsx:
            return _zip_export(path, name)
        if path.suffix.lower() not in (".xlsx", ".xlsm"):
            path = path.rename(path.with_suffix(".xlsx"))  # openpyxl goes by the name
        return _xlsx_export(path, name)
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return _json_export(path, name)
    raise ValidationError(
        _(
            "%(name)s: the members are missing. Give ODK Central's zip of CSVs, KoboToolbox's XLSX, the "
            "submissions "
            "JSON, or the submissions CSV with the %(repeat)s CSV beside it."
        )
        % {"name": name, "repeat": REPEAT}
    )


# ---- checking the columns against the mapping -------------------------------------------------


@dataclass
class Plan:
    """How each column of each level is read: (source column, upload column) pairs, and the join keys."""

    household: list[tuple[str, str]]
    member: list[tuple[str, str]]
    household_key: str
    member_key: str
    parent_key: str
    targets: list[str]


def _first(columns: list[str], candidates: tuple[str, ...]) -> str:
    return next((name for name in candidates if name in columns), "")


def columns_plan(export: Export, form: FieldForm) -> Plan:
    """Check the export's columns against the form's mapping; refuse what it cannot read, naming every
    column."""
    plan = form.benefit_plan
    mapping: dict[str, str] = form.mapping or {}
    upload_columns = {column.name: column for column in columns_for(plan)}
    known = set(mapping)
    problems: list[str] = []
    unknown: list[str] = []
    pairs: dict[str, list[tuple[str, str]]] = {"household": [], "member": []}
    provided: dict[str, str] = {}
    for level, records in (("household", export.households), ("member", export.members)):
        for source in records.columns:
            if not source or is_metadata(source):
                continue
            name = question_name(source, known)
            if name not in mapping:
                unknown.append(f"{name} ({records.label})")
                continue
            target = mapping[name]
            if target == IGNORE:
                continue
            if target not in upload_columns:
                problems.append(
                    _("The mapping sends %(source)s to %(target)s, which is not a column of the upload.")
                    % {"source": name, "target": target}
                )
                continue
            if target in provided:
                problems.append(
                    _("%(target)s is given by two columns: %(first)s and %(second)s.")
                    % {"target": target, "first": provided[target], "second": name}
                )
                continue
            provided[target] = name
            pairs[level].append((source, target))
    household_key = _first(export.households.columns, ("_intake_key", *HOUSEHOLD_KEYS))
    parent_key = _first(export.members.columns, ("_intake_parent", *PARENT_KEYS))
    member_key = _first(export.members.columns, MEMBER_KEYS)
    if parent_key in PARENT_OF:
        household_key = _first(export.households.columns, PARENT_OF[parent_key]) or household_key
    if not parent_key:
        problems.append(
            _(
                "%(label)s has no PARENT_KEY or _parent_index column: its rows cannot be joined to their "
                "household."
            )
            % {"label": export.members.label}
        )
    if not household_key:
        problems.append(
            _("%(label)s has no KEY, _index or _uuid column: its members cannot be joined to it.")
            % {"label": export.households.label}
        )
    if unknown:
        problems.append(
            _(
                "Column(s) not in the mapping of %(form)s: %(columns)s. The form was edited in the field? "
                "Map "
                "each one to an upload column, or to nothing to ignore it, on the form's page."
            )
            % {"form": form, "columns": ", ".join(unknown)}
        )
    expected = {target: source for source, target in mapping.items() if target}
    missing = [
        column.name
        for column in upload_columns.values()
        if column.required and column.name not in provided and column.name not in ("household_code",)
    ]
    if missing:
        problems.append(
            _("Column(s) the upload needs are missing: %(columns)s.")
            % {
                "columns": ", ".join(
                    _("%(target)s (expected as %(source)s)")
                    % {"target": name, "source": expected.get(name, "-")}
                    for name in missing
                )
            }
        )
    if problems:
        raise ValidationError(" ".join(problems))
    targets = [name for name in upload_columns if name in provided]
    if "household_code" not in targets:
        targets.insert(0, "household_code")
    return Plan(pairs["household"], pairs["member"], household_key, member_key, parent_key, targets)


# ---- writing the upload's input ---------------------------------------------------------------


@dataclass
class Converted:
    households: int
    members: int
    rejected: int


def export_convert(export: Export, form: FieldForm, target: IO[str] | Path) -> Converted:
    """Write the upload's input file (CSV through the one writer) from the export: one row per member."""
    plan = columns_plan(export, form)
    columns = plan.targets
    position = {name: index for index, name in enumerate(columns)}
    width = len(columns)
    households: dict[str, tuple[str, list[tuple[int, str]]]] = {}
    code_at = position["household_code"]
    duplicates: list[tuple[str, str]] = []
    for where, values in export.households.rows():
        key = values.get(plan.household_key, "").strip()
        cells = [(position[target], values.get(source, "").strip()) for source, target in plan.household]
        if not any(index == code_at and text for index, text in cells):
            cells.append((code_at, key[:64]))
        if key in households:
            duplicates.append((where, key))
            continue
        households[key] = (where, cells)
    counted = Converted(households=len(households), members=0, rejected=0)
    seen_members: dict[str, str] = {}
    with_members: set[str] = set()

    def rows() -> Iterator[list[str]]:
        for where, key in duplicates:
            counted.rejected += 1
            yield _error_row(
                width,
                where,
                plan.household_key,
                _("%(where)s repeats the household %(key)s of %(first)s.")
                % {"where": where, "key": key, "first": households[key][0]},
            )
        for where, values in export.members.rows():
            parent = values.get(plan.parent_key, "").strip()
            counted.members += 1
            household = households.get(parent)
            if household is None:
                counted.rejected += 1
                yield _error_row(
                    width,
                    where,
                    plan.parent_key,
                    _("%(where)s: its household %(key)s is not in %(households)s.")
                    % {"where": where, "key": parent or "-", "households": export.households.label},
                )
                continue
            member_key = values.get(plan.member_key, "").strip() if plan.member_key else ""
            if member_key and plan.member_key != "_index":
                first = seen_members.get(member_key)
                if first is not None:
                    counted.rejected += 1
                    yield _error_row(
                        width,
                        where,
                        plan.member_key,
                        _(
                            "%(where)s: member %(key)s is already listed at %(first)s (a member in two "
                            "households?)."
                        )
                        % {"where": where, "key": member_key, "first": first},
                    )
                    continue
                seen_members[member_key] = where
            with_members.add(parent)
            cells = [""] * width
            for index, text in household[1]:
                cells[index] = text
            for source, target in plan.member:
                text = values.get(source, "").strip()
                if text:
                    cells[position[target]] = text
            yield [where, "", *cells]
        for key, (where, _cells) in households.items():
            if key not in with_members:
                counted.rejected += 1
                yield _error_row(
                    width, where, REPEAT, _("%(where)s: the household has no members.") % {"where": where}
                )

    csv_write(target, [SOURCE_COLUMN, SOURCE_ERROR_COLUMN, *columns], rows(), bom=False)
    return counted


def _error_row(width: int, where: str, column: str, message: str) -> list[str]:
    return [where, f"{column}: {message}", *([""] * width)]
