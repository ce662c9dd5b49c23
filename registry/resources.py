"""Import and export of the location tree (admin import-export screens and `import_locations`)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import tablib
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from import_export import fields, resources
from import_export.instance_loaders import CachedInstanceLoader
from import_export.results import Result
from import_export.widgets import ForeignKeyWidget

from registry.models import PATH_STEP, Location, LocationLevel

COLUMNS = ("code", "name", "parent_code", "level", "latitude", "longitude")
REQUIRED_COLUMNS = ("code", "name")
MAX_DEPTH = Location._meta.get_field("path").max_length // (PATH_STEP + 1)
CODE_MAX = Location._meta.get_field("code").max_length
NAME_MAX = Location._meta.get_field("name").max_length
LEVEL_MAX = LocationLevel._meta.get_field("name").max_length
COORDINATE_LIMITS = {"latitude": Decimal(90), "longitude": Decimal(180)}
COORDINATE_PLACES = Location._meta.get_field("latitude").decimal_places


@dataclass
class LocationRow:
    """One data row of a locations file; `number` is its row in the file (the header is row 1)."""

    number: int
    code: str
    name: str
    parent_code: str | None  # None: the file has no parent_code column, existing parents stay
    level: str
    latitude: str
    longitude: str


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # spreadsheets turn codes like 101 into 101.0
    return str(value).strip()


def _header(name: Any) -> str:
    return _cell(name).lower().replace(" ", "_")


def location_rows_read(*, dataset: tablib.Dataset) -> tuple[list[LocationRow], list[str]]:
    """The file's rows, normalised (stripped, header names lower-cased), and the known columns it has."""
    headers = [_header(h) for h in (dataset.headers or [])]
    missing = [column for column in REQUIRED_COLUMNS if column not in headers]
    if missing:
        raise ValidationError(
            f"The file has no {' or '.join(repr(c) for c in missing)} column "
            f"(columns found: {', '.join(headers) or 'none'}; expected: {', '.join(COLUMNS)})."
        )
    rows = []
    for index, values in enumerate(dataset, start=2):
        cells = dict(zip(headers, (_cell(v) for v in values), strict=False))
        if not any(cells.values()):
            continue  # blank lines at the end of spreadsheets
        row = LocationRow(index, *(cells.get(column, "") for column in COLUMNS))
        if "parent_code" not in headers:
            row.parent_code = None
        rows.append(row)
    return rows, [column for column in COLUMNS if column in headers]


def _check_cells(row: LocationRow, errors: list[str]) -> None:
    where = f"Row {row.number}"
    if not row.code:
        errors.append(f"{where}, column code: the code is empty.")
    elif len(row.code) > CODE_MAX:
        errors.append(f"{where}, column code: {row.code!r} is longer than {CODE_MAX} characters.")
    if not row.name:
        errors.append(f"{where}, column name: the name of {row.code or 'the location'} is empty.")
    elif len(row.name) > NAME_MAX:
        errors.append(f"{where}, column name: the name is longer than {NAME_MAX} characters.")
    if len(row.level) > LEVEL_MAX:
        errors.append(f"{where}, column level: {row.level!r} is longer than {LEVEL_MAX} characters.")
    for column, limit in COORDINATE_LIMITS.items():
        raw = getattr(row, column)
        if not raw:
            continue
        try:
            value = Decimal(raw)
        except InvalidOperation:
            errors.append(f"{where}, column {column}: {raw!r} is not a number.")
            continue
        if not value.is_finite() or abs(value) > limit:
            errors.append(f"{where}, column {column}: {raw} is outside -{limit}..{limit}.")
        elif -int(value.as_tuple().exponent) > COORDINATE_PLACES:
            errors.append(
                f"{where}, column {column}: {raw} has more than {COORDINATE_PLACES} decimal places."
            )


def _cycles(parent_of: dict[str, str], start_codes: list[str]) -> list[list[str]]:
    """Every cycle reachable from the given codes, each listed once, in parent order."""
    state: dict[str, int] = {}  # 1 = on the current walk, 2 = known to end at a root
    found: list[list[str]] = []
    for start in start_codes:
        walk: list[str] = []
        code: str | None = start
        while code and state.get(code) is None:
            state[code] = 1
            walk.append(code)
            code = parent_of.get(code) or None
        if code and state.get(code) == 1 and walk[-1] != code:  # a self-parent is reported on its own
            found.append(walk[walk.index(code) :] + [code])
        for visited in walk:
            state[visited] = 2
    return found


def location_rows_validate(*, rows: list[LocationRow]) -> tuple[list[LocationRow], dict[int, str]]:
    """Check the whole file against itself and the existing tree.

    Returns the rows parents-first and the level names by depth that the file
    sets; raises one ValidationError listing every problem, each naming its row
    and column.
    """
    # Long on purpose: the file's checks in the order their messages are reported, each a few lines.
    errors: list[str] = []
    first_row: dict[str, int] = {}
    for row in rows:
        _check_cells(row, errors)
        if not row.code:
            continue
        if row.code in first_row:
            errors.append(
                f"Rows {first_row[row.code]} and {row.number}, column code: "
                f"code {row.code!r} appears twice in the file."
            )
        else:
            first_row[row.code] = row.number
        if row.parent_code is not None and row.parent_code == row.code:
            errors.append(
                f"Row {row.number}, column parent_code: location {row.code!r} cannot be its own parent."
            )

    # The tree as it will be: the existing parents, overridden by the file.
    parent_of: dict[str, str] = {
        code: parent or "" for code, parent in Location.objects.values_list("code", "parent__code")
    }
    existing = set(parent_of)
    for row in rows:
        if row.code and first_row.get(row.code) == row.number:
            if row.parent_code is not None:
                parent_of[row.code] = row.parent_code
            else:
                parent_of.setdefault(row.code, "")
    for row in rows:
        if row.parent_code and row.parent_code not in first_row and row.parent_code not in existing:
            errors.append(
                f"Row {row.number}, column parent_code: parent {row.parent_code!r} of {row.code!r} "
                "is neither in this file nor an existing location."
            )
    codes_in_file = [row.code for row in rows if row.code and row.parent_code != row.code]
    for cycle in _cycles(parent_of, codes_in_file):
        in_file = sorted({first_row[c] for c in cycle if c in first_row})
        errors.append(
            f"The parents make a cycle: {' → '.join(cycle)} "
            f"(rows {', '.join(map(str, in_file))}; each location would lie under itself)."
        )
    if errors:
        raise ValidationError(errors)

    depth_of: dict[str, int] = {}

    def depth(code: str) -> int:
        chain, current = [], code
        while current not in depth_of:
            parent = parent_of.get(current, "")
            if not parent:
                depth_of[current] = 0
                break
            chain.append(current)
            current = parent
        for child in reversed(chain):
            depth_of[child] = depth_of[parent_of[child]] + 1
        return depth_of[code]

    level_names: dict[int, tuple[str, int]] = {}
    for row in rows:
        row_depth = depth(row.code)
        if row_depth >= MAX_DEPTH:
            errors.append(
                f"Row {row.number}: {row.code!r} would be {row_depth + 1} levels deep; at most {MAX_DEPTH}."
            )
        if row.level:
            named = level_names.setdefault(row_depth, (row.level, row.number))
            if named[0] != row.level:
                errors.append(
                    f"Rows {named[1]} and {row.number}, column level: level {row_depth} "
                    f"is called both {named[0]!r} and {row.level!r}."
                )
    if errors:
        raise ValidationError(errors)
    ordered = sorted(rows, key=lambda row: depth_of[row.code])  # stable: file order within a level
    return ordered, {level: name for level, (name, _) in level_names.items()}


class ParentWidget(ForeignKeyWidget):
    """Parents by code, each looked up once per import (rows come parents-first, so it exists by then)."""

    def __init__(self) -> None:
        super().__init__(Location, field="code")
        self.found: dict[str, Location] = {}

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Location | None:
        code = _cell(value)
        if not code:
            return None
        if code not in self.found:
            self.found[code] = super().clean(code, row, **kwargs)
        return self.found[code]


# What an import may change on an existing location; path and depth follow from the parent.
UPDATABLE_FIELDS = ["name", "parent", "latitude", "longitude"]


class LocationResource(resources.ModelResource):
    """Locations matched on `code`: importing a file again updates what it names, moves included."""

    parent_code = fields.Field(attribute="parent", column_name="parent_code", widget=ParentWidget())
    level = fields.Field(column_name="level", readonly=True)

    class Meta:
        model = Location
        fields = COLUMNS
        import_id_fields = ("code",)
        export_order = COLUMNS
        skip_unchanged = True
        report_skipped = True
        # location_rows_validate has checked every cell and the tree already.
        clean_model_instances = False
        instance_loader_class = CachedInstanceLoader
        use_transactions = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._level_names: dict[int, str] | None = None

    def before_import(self, dataset: tablib.Dataset, **kwargs: Any) -> None:
        """Validate the whole file, then reorder it parents-first; on error leave no row to import."""
        user = kwargs.get("user")
        self.fields["parent_code"].widget.found.clear()  # a dry run's parents were rolled back
        try:
            if user is not None and not (
                user.has_perm("registry.add_location") and user.has_perm("registry.change_location")
            ):
                raise ValidationError(
                    "You may not import locations: it needs the add and change location permissions."
                )
            rows, columns = location_rows_read(dataset=dataset)
            rows, level_names = location_rows_validate(rows=rows)
        except ValidationError:
            del dataset[0 : len(dataset)]
            raise
        # Only the columns the file has: a file without coordinates leaves them as they are.
        dataset.wipe()
        dataset.headers = columns
        for row in rows:
            dataset.append([getattr(row, column) for column in columns])
        for depth, name in level_names.items():
            LocationLevel.objects.update_or_create(depth=depth, defaults={"name": name})

    def do_instance_save(self, instance: Location, is_create: bool) -> None:
        if is_create:
            instance.save(force_insert=True)
        else:
            # Never write the path and depth loaded before earlier rows moved an ancestor.
            instance.save(update_fields=UPDATABLE_FIELDS)

    def before_export(self, queryset: Any, **kwargs: Any) -> None:
        self._level_names = dict(LocationLevel.objects.values_list("depth", "name"))

    def dehydrate_level(self, location: Location) -> str:
        if self._level_names is None:
            self._level_names = dict(LocationLevel.objects.values_list("depth", "name"))
        return self._level_names.get(location.depth, "")


def location_import(
    *, dataset: tablib.Dataset, user: AbstractBaseUser | AnonymousUser | None = None, dry_run: bool = False
) -> Result:
    """Import a locations file in one transaction; on any problem raise ValidationError, write nothing."""
    with transaction.atomic():
        result = LocationResource().import_data(dataset, dry_run=dry_run, use_transactions=True, user=user)
        problems = location_import_problems(result)
        if problems:
            raise ValidationError(problems)
        if dry_run:
            transaction.set_rollback(True)
    return result


def location_import_problems(result: Result) -> list[str]:
    """The problems an import result holds, as plain sentences."""
    problems: list[str] = []
    for error in result.base_errors:
        problems.extend(getattr(error.error, "messages", None) or [str(error.error) or repr(error.error)])
    for line, row_errors in result.row_errors():
        problems.extend(f"Data row {line}: {error.error}" for error in row_errors)
    for invalid in result.invalid_rows:
        for field, messages in invalid.error_dict.items():
            problems.extend(f"Data row {invalid.number}, {field}: {message}" for message in messages)
    return problems
