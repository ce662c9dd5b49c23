"""Row by row, while the file streams: header checks, then each cell trimmed, typed and checked against its column.

Everything that depends on one row only is decided here (required cells,
types, dates, booleans, choices, the custom-field schemas); what depends on
other rows or on the registry is left to the set-based checks in `checks.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from operator import itemgetter
from typing import Any

from django.core.exceptions import ValidationError

from uploads.columns import CUSTOM_PREFIXES, DOCUMENT_COLUMNS, Column
from uploads.models import RowStatus

TRUE_WORDS = frozenset({"yes", "y", "true", "t", "1", "oui", "o", "vrai"})
FALSE_WORDS = frozenset({"no", "n", "false", "f", "0", "non", "faux"})
SEX_WORDS = {
    "f": "F",
    "female": "F",
    "femme": "F",
    "féminin": "F",
    "feminin": "F",
    "m": "M",
    "male": "M",
    "homme": "M",
    "h": "M",
    "masculin": "M",
    "x": "X",
    "other": "X",
    "autre": "X",
}
ROLE_WORDS = {
    "chef": "head",
    "chef de ménage": "head",
    "chef de menage": "head",
    "head of household": "head",
    "conjoint": "spouse",
    "conjointe": "spouse",
    "époux": "spouse",
    "épouse": "spouse",
    "partner": "spouse",
    "enfant": "child",
    "fils": "child",
    "fille": "child",
    "petit-enfant": "grandchild",
    "petit enfant": "grandchild",
    "père": "parent",
    "mère": "parent",
    "autre parent": "other_relative",
    "other relative": "other_relative",
    "non-parent": "non_relative",
    "non parent": "non_relative",
    "non-relative": "non_relative",
}
OLDEST_BIRTH_YEAR = 1880
REJECTED_ERRORS_COLUMN = "errors"
REJECTED_OUTCOME_COLUMN = "outcome"  # "rejected" or "skipped", in the rejected-and-skipped rows file
# Added by a converter that fed the file (field-collection intake): where the row came from, kept for the
# rejected-rows file, and a problem it found ("column: message"), which rejects the row with that error.
SOURCE_COLUMN = "source"
SOURCE_ERROR_COLUMN = "source_error"
IGNORED_COLUMNS = frozenset(
    {REJECTED_ERRORS_COLUMN, REJECTED_OUTCOME_COLUMN, SOURCE_COLUMN, SOURCE_ERROR_COLUMN}
)
FIXED_CELLS = (
    "given_name",
    "family_name",
    "other_names",
    "sex",
    "birth_date",
    "birth_date_estimated",
    "phone",
    "location_code",
    *DOCUMENT_COLUMNS,
    "household_code",
    "household_role",
    "primary_recipient",
)
# The order of the values a parsed row gives the staging table (after batch_id, row_number, status, raw).
STAGED_FIELDS = (
    "given_name",
    "family_name",
    "other_names",
    "given_key",
    "family_key",
    "sex",
    "birth_date",
    "birth_date_estimated",
    "phone",
    "location_code",
    "location_id",
    *DOCUMENT_COLUMNS,
    "household_code",
    "household_role",
    "primary_recipient",
    "ind_data",
    "hh_data",
    "plan_data",
)
STAGING_COLUMNS = ("batch_id", "row_number", "status", "raw", *STAGED_FIELDS)

Converter = Callable[[str], Any]
RAW_SEPARATOR = "\x1f"  # the ASCII unit separator: no spreadsheet cell holds it
_encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
_documents = itemgetter(*DOCUMENT_COLUMNS)


class CellError(ValueError):
    """A cell's value is not acceptable; the message says why, for the person fixing the file."""


class JsonMember:
    """One custom field's `"key": value` in the row's JSON text, exactly as json would write the whole object.

    Custom fields mostly repeat a few values (choices, yes/no, amounts), so each distinct cell's text is
    converted and encoded once; a refused value's message is remembered the same way.
    """

    def __init__(self, key: str, convert: Converter, *, remembered: int = 50_000) -> None:
        self.prefix = _encode(key) + ": "
        self.convert = convert
        self.remembered = remembered
        self.members: dict[str, str] = {}
        self.refusals: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        member = self.members.get(text)
        if member is not None:
            return member
        refusal = self.refusals.get(text)
        if refusal is not None:
            raise CellError(refusal)
        try:
            member = self.prefix + _encode(self.convert(text))
        except CellError as exc:
            self._remember(self.refusals, text, str(exc))
            raise
        self._remember(self.members, text, member)
        return member

    def _remember(self, cache: dict[str, str], text: str, answer: str) -> None:
        if len(cache) >= self.remembered:
            cache.clear()
        cache[text] = answer


class LocationResolver:
    """Location codes to ids, refusing unknown codes and locations outside the uploader's area.

    The location tree is small beside the file (thousands of nodes), so it is
    read once into a dict instead of joined row by row.
    """

    def __init__(self, *, scope_paths: list[str] | None) -> None:
        from registry.models import Location

        self.scope = tuple(scope_paths) if scope_paths is not None else None
        self.known = {
            code: (pk, path) for code, pk, path in Location.objects.values_list("code", "pk", "path")
        }
        self.cache: dict[str, int | str] = {}

    def __call__(self, code: str) -> int:
        answer = self.cache.get(code)
        if answer is None:
            answer = self._resolve(code)
            self.cache[code] = answer
        if isinstance(answer, str):
            raise CellError(answer)
        return answer

    def _resolve(self, code: str) -> int | str:
        found = self.known.get(code)
        if found is None:
            return f"No location has the code {code!r}."
        pk, path = found
        if self.scope is not None and not path.startswith(self.scope):
            return f"Location {code} is outside the area you work in."
        return pk


def boolean_parse(text: str) -> bool:
    word = text.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError(f"{text!r} is not yes/no (accepted: yes, no, true, false, 1, 0, oui, non, vrai, faux).")


class DateParser:
    """Dates in ISO form always, and day-first forms (31/12/1990, 31-12-1990, 31.12.1990) when chosen."""

    def __init__(self, date_format: str) -> None:
        self.day_first = date_format == "dmy"
        self.today = date.today()
        self.cache: dict[str, date] = {}

    def __call__(self, text: str) -> date:
        cached = self.cache.get(text)
        if cached is not None:
            return cached
        value = self._parse(text)
        if len(self.cache) > 200_000:
            self.cache.clear()
        self.cache[text] = value
        return value

    def _parse(self, text: str) -> date:
        candidate = text[:10] if len(text) > 10 and text[10] in "T " else text
        parts: list[str] | None = None
        year_first = False
        for separator in ("-", "/", "."):
            if separator in candidate:
                parts = candidate.split(separator)
                break
        if parts and len(parts) == 3 and len(parts[0]) == 4:
            year_first = True
        elif parts and len(parts) == 3 and self.day_first and len(parts[2]) == 4:
            year_first = False
        else:
            expected = "YYYY-MM-DD or DD/MM/YYYY" if self.day_first else "YYYY-MM-DD"
            raise CellError(f"{text!r} is not a date in the chosen format ({expected}).")
        try:
            if year_first:
                value = date(int(parts[0]), int(parts[1]), int(parts[2]))
            else:
                value = date(int(parts[2]), int(parts[1]), int(parts[0]))
        except ValueError:
            raise CellError(f"{text!r} is not a real date.") from None
        if value > self.today:
            raise CellError(f"{text!r} is in the future.")
        if value.year < OLDEST_BIRTH_YEAR:
            raise CellError(f"{text!r} is before {OLDEST_BIRTH_YEAR}.")
        return value


def _choice_converter(column: Column, words: dict[str, str] | None = None) -> Converter:
    lookup = {choice.lower(): choice for choice in column.choices}
    if words:
        lookup.update(words)

    def convert(text: str) -> str:
        value = lookup.get(text.lower())
        if value is None:
            raise CellError(f"{text!r} is not one of: {', '.join(column.choices)}.")
        return value

    return convert


def _choices_converter(column: Column) -> Converter:
    """Several choices in one cell, separated by ";" (or ","): distinct choices, in the file's order."""
    one = _choice_converter(column)

    def convert(text: str) -> list[str]:
        separator = ";" if ";" in text else ","
        values: list[str] = []
        for part in text.split(separator):
            part = part.strip()
            if part and (value := one(part)) not in values:
                values.append(value)
        return values

    return convert


def _text_converter(column: Column) -> Converter:
    max_length, min_length = column.max_length, column.min_length

    def convert(text: str) -> str:
        if max_length is not None and len(text) > max_length:
            raise CellError(f"At most {max_length} characters ({len(text)} given).")
        if min_length is not None and len(text) < min_length:
            raise CellError(f"At least {min_length} characters ({len(text)} given).")
        return text

    return convert


def _number_converter(column: Column) -> Converter:
    integer = column.kind == "integer"
    minimum, maximum = column.minimum, column.maximum
    cache: dict[str, int | float] = {}

    def convert(text: str) -> int | float:
        value = cache.get(text)
        if value is None:
            cleaned = text.replace(" ", "").replace("\u00a0", "")
            try:
                value = (
                    float(cleaned.replace(",", "."))
                    if "," in cleaned and "." not in cleaned
                    else float(cleaned)
                )
            except ValueError:
                raise CellError(f"{text!r} is not {'a whole number' if integer else 'a number'}.") from None
            if value != value or value in (float("inf"), float("-inf")):
                raise CellError(f"{text!r} is not a number.")
            if integer:
                if not value.is_integer():
                    raise CellError(f"{text!r} is not a whole number.")
                value = int(value)
            if minimum is not None and value < minimum:
                raise CellError(f"Must be at least {minimum} ({text} given).")
            if maximum is not None and value > maximum:
                raise CellError(f"Must be at most {maximum} ({text} given).")
            if len(cache) < 100_000:
                cache[text] = value
        return value

    return convert


def converter_for(column: Column, dates: DateParser) -> Converter:
    if column.name == "sex":
        return _choice_converter(column, SEX_WORDS)
    if column.name == "household_role":
        return _choice_converter(column, ROLE_WORDS)
    if column.kind == "choice":
        return _choice_converter(column)
    if column.kind == "choices":
        return _choices_converter(column)
    if column.kind == "boolean":
        return boolean_parse
    if column.kind == "date":
        if column.group in ("individual", "household_data", "plan"):
            return lambda text: dates(text).isoformat()
        return dates
    if column.kind in ("integer", "number"):
        return _number_converter(column)
    return _text_converter(column)


def header_resolve(header: list[str], columns: list[Column]) -> list[Column | None]:
    """Map each header cell to its column; refuse unknown, repeated, or missing required columns, listing them."""
    known = {column.name: column for column in columns}
    resolved: list[Column | None] = []
    unknown, repeated, seen = [], [], set()
    for position, cell in enumerate(header, start=1):
        name = cell.strip().lstrip("\ufeff").lower()
        if not name:
            unknown.append(f"(column {position} has no name)")
            resolved.append(None)
            continue
        prefix, dot, key = name.partition(".")
        if dot and prefix in CUSTOM_PREFIXES:
            name = f"{prefix}.{key.strip()}"
        column = known.get(name)
        if column is None and name in IGNORED_COLUMNS:
            resolved.append(None)  # a fixed rejected-rows file comes back with its outcome and errors columns
            continue
        if column is None:
            unknown.append(cell.strip()[:60])
        elif name in seen:
            repeated.append(name)
        seen.add(name)
        resolved.append(column)
    problems = []
    if unknown:
        problems.append(
            f"Unknown column(s): {', '.join(unknown)}. The columns of this plan are: "
            f"{', '.join(column.name for column in columns)}."
        )
    if repeated:
        problems.append(f"Column(s) given twice: {', '.join(sorted(set(repeated)))}.")
    missing = [column.name for column in columns if column.required and column.name not in seen]
    if missing:
        problems.append(f"Missing required column(s): {', '.join(missing)}.")
    if problems:
        raise ValidationError(" ".join(problems))
    return resolved


class RowParser:
    """Turns the cells of one row into the staged values and a list of (column, message) errors."""

    def __init__(
        self,
        *,
        header: list[str],
        columns: list[Column],
        date_format: str,
        batch_id: int,
        household_plan: bool,
        locations: LocationResolver,
    ) -> None:
        self.batch_id = batch_id
        self.locations = locations
        self.width = len(header)
        self.household_plan = household_plan
        names = [cell.strip().lstrip("\ufeff").lower() for cell in header]
        self.source_error_at = names.index(SOURCE_ERROR_COLUMN) if SOURCE_ERROR_COLUMN in names else None
        dates = DateParser(date_format)
        resolved = header_resolve(header, columns)
        self.fixed: list[tuple[int, str, Converter, bool]] = []
        self.custom: dict[str, list[tuple[int, str, Converter, bool]]] = {
            "individual": [],
            "household_data": [],
            "plan": [],
        }
        for position, column in enumerate(resolved):
            if column is None:
                continue
            convert = converter_for(column, dates)
            if column.group in self.custom:
                self.custom[column.group].append(
                    (position, column.name, JsonMember(column.key, convert), column.required)
                )
            else:
                self.fixed.append((position, column.name, convert, column.required))
        self.custom_groups = [self.custom[group] for group in ("individual", "household_data", "plan")]
        self.default = {name: "" for name in FIXED_CELLS}
        self.default.update(
            {
                "birth_date": None,
                "birth_date_estimated": False,
                "primary_recipient": False,
                "location_id": None,
            }
        )

    def parse(self, number: int, cells: list[str]) -> tuple[tuple[Any, ...], list[tuple[str, str]]]:
        """The staging tuple (in STAGING_COLUMNS order) and the row's errors."""
        # Long on purpose: the per-row hot loop of a million-row file; each helper call per cell costs time.
        raw = RAW_SEPARATOR.join(cells)
        if not raw.strip():
            return (), []  # a blank line (the separator is whitespace too): nothing to stage
        errors: list[tuple[str, str]] = []
        if "\x00" in raw:
            raw = raw.replace("\x00", "")
            errors.append(("", "The row holds a NUL character (a damaged or binary file?)."))
            return self._error_row(number, raw), errors
        at = self.source_error_at
        if at is not None and at < len(cells) and cells[at].strip():
            # The converter that wrote the row rejected it already (a repeat row without its parent...).
            column, _separator, message = cells[at].strip().partition(": ")
            errors.append((column[:100], message) if message else ("", column))
            return self._error_row(number, raw), errors
        width = self.width
        if len(cells) > width:
            extra = [cell for cell in cells[width:] if cell.strip()]
            if extra:
                errors.append(("", f"The row has {len(cells)} cells but the header has {width} columns."))
                return self._error_row(number, raw), errors
        values = dict(self.default)
        count = len(cells)
        for position, name, convert, required in self.fixed:
            text = cells[position].strip() if position < count else ""
            if not text:
                if required:
                    errors.append((name, f"{name} is required."))
                continue
            if text[0] == "=":
                errors.append((name, f"Formulas are not accepted ({text[:40]}): enter the value itself."))
                continue
            try:
                values[name] = convert(text)
            except CellError as exc:
                errors.append((name, str(exc)))
        data_texts = []
        for specs in self.custom_groups:
            members = []
            for position, name, member, required in specs:
                text = cells[position].strip() if position < count else ""
                if not text:
                    if required:
                        errors.append((name, f"{name} is required."))
                    continue
                if text[0] == "=":
                    errors.append((name, f"Formulas are not accepted ({text[:40]}): enter the value itself."))
                    continue
                try:
                    members.append(member(text))
                except CellError as exc:
                    errors.append((name, str(exc)))
            data_texts.append("{" + ", ".join(members) + "}")
        code = values["location_code"]
        if code:
            try:
                values["location_id"] = self.locations(code)
            except CellError as exc:
                errors.append(("location_code", str(exc)))
        if values["household_code"] and not values["household_role"] and "household_role" not in dict(errors):
            errors.append(("household_role", "household_role is required when household_code is given."))
        if values["household_role"] and not values["household_code"] and "household_code" not in dict(errors):
            errors.append(("household_code", "household_code is required when household_role is given."))
        given = " ".join(values["given_name"].split())
        family = " ".join(values["family_name"].split())
        birth = values["birth_date"]
        staged = (
            self.batch_id,
            number,
            RowStatus.ERROR if errors else RowStatus.NEW,
            raw,
            given,
            family,
            " ".join(values["other_names"].split()),
            given.upper(),
            family.upper(),
            values["sex"],
            birth.isoformat() if birth else None,
            values["birth_date_estimated"],
            values["phone"],
            values["location_code"],
            values["location_id"],
            *_documents(values),
            values["household_code"],
            values["household_role"],
            values["primary_recipient"],
            *data_texts,
        )
        return staged, errors

    def _error_row(self, number: int, raw: str) -> tuple[Any, ...]:
        blanks = [""] * len(STAGED_FIELDS)
        row = dict(zip(STAGED_FIELDS, blanks, strict=True))
        row.update(
            {
                "birth_date": None,
                "location_id": None,
                "birth_date_estimated": False,
                "primary_recipient": False,
                "ind_data": "{}",
                "hh_data": "{}",
                "plan_data": "{}",
            }
        )
        return (self.batch_id, number, RowStatus.ERROR, raw, *(row[name] for name in STAGED_FIELDS))
