"""Loading rows made elsewhere (the demo generator) into the registry's tables in bulk: COPY on PostgreSQL.

The caller makes the rows; the registry says their columns, allocates their ids, computes what is derived
(household sizes, paths of locations, timestamps), checks each chunk and writes it in one transaction.

    loader = RegistryCopyLoader()
    def chunks():
        household_ids = loader.household_ids(count)      # ids are taken before the rows that use them
        person_ids = loader.individual_ids(people)
        yield RegistryChunk(households=[(id, code, location_id, ...)], individuals=[...], members=[...],
                            documents=[...])
    loader.load(chunks(), written=lambda counts: ...)      # or loader.write(chunk) for one chunk

Rows are tuples in the order of HOUSEHOLD_COLUMNS, INDIVIDUAL_COLUMNS, MEMBER_COLUMNS and DOCUMENT_COLUMNS
(foreign keys as ids). A value is a Python value of its column's type (None for NULL, a dict for `data`) or
its text: ISO dates, "t"/"f", JSON text for `data`. Columns not listed take their model default.
"""

from __future__ import annotations

import io
import json
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import DatabaseError, connection, connections, models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from registry import rules
from registry.models import (
    DocumentType,
    Household,
    HouseholdMember,
    HouseholdRole,
    IdentityDocument,
    Individual,
    IndividualStatus,
    Location,
    LocationLevel,
    RegistrationSource,
    Sex,
    location_path_segment,
)
from registry.services import HOUSEHOLD_FIELDS, INDIVIDUAL_FIELDS

# The columns of the single-row services, with the id first and the custom fields last.
HOUSEHOLD_COLUMNS = ("id", *HOUSEHOLD_FIELDS, "data")
INDIVIDUAL_COLUMNS = ("id", *INDIVIDUAL_FIELDS, "data")
_SEX, _SOURCE, _STATUS = (INDIVIDUAL_COLUMNS.index(name) for name in ("sex", "registration_source", "status"))
MEMBER_COLUMNS = ("household", "individual", "role", "is_primary_recipient", "start_date", "end_date")
DOCUMENT_COLUMNS = ("individual", "doc_type", "value")
# Written by the loader after the caller's columns: the size from the chunk's current members, the timestamps.
_HOUSEHOLD_DERIVED = ("size", "created_at", "updated_at")
_INDIVIDUAL_DERIVED = ("created_at", "updated_at")

WRITER_THREADS = (
    2  # PostgreSQL spends a chunk's time in index and foreign-key work: two connections, two cores
)
MAX_ERRORS = 10  # a refused chunk names its first problems, not thousands
NULL = "\\N"
_ROLES = frozenset(HouseholdRole.values)
_SEXES = frozenset(Sex.values)
_STATUSES = frozenset(IndividualStatus.values)
_SOURCES = frozenset(RegistrationSource.values)
_DOCUMENT_TYPES = frozenset(DocumentType.values)


@dataclass
class RegistryChunk:
    """One chunk of new households with their people, memberships and documents: written whole or not at all.

    Every membership names a household and a person of the chunk, every document a person of the chunk.
    """

    households: list[tuple[Any, ...]] = field(default_factory=list)
    individuals: list[tuple[Any, ...]] = field(default_factory=list)
    members: list[tuple[Any, ...]] = field(default_factory=list)
    documents: list[tuple[Any, ...]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "households": len(self.households),
            "individuals": len(self.individuals),
            "memberships": len(self.members),
            "identity_documents": len(self.documents),
        }


def copy_text(value: Any) -> str:
    """One value as PostgreSQL COPY text (escaped; None is NULL)."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (dict, list)):
        value = json.dumps(value)
    elif isinstance(value, date):
        value = value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class _CopyTable:
    """A model's columns in COPY order: the caller's, the loader's derived ones, then defaults."""

    def __init__(self, model: type[models.Model], columns: tuple[str, ...], derived: tuple[str, ...]) -> None:
        self.model = model
        self.label = model._meta.verbose_name_plural
        self.width = len(columns)
        self.fields = [model._meta.get_field(name) for name in columns]
        self.derived = [model._meta.get_field(name) for name in derived]
        self.template = "\t".join(["{}"] * self.width)
        self.json_positions = [i for i, f in enumerate(self.fields) if isinstance(f, models.JSONField)]
        extra_fields, extra_values = [], []
        for model_field in model._meta.concrete_fields:
            if model_field.name in columns or model_field.name in derived or model_field.primary_key:
                continue
            if model_field.db_default is not models.NOT_PROVIDED:
                continue
            if model_field.has_default():
                extra_fields.append(model_field)
                extra_values.append(copy_text(model_field.get_default()))
            elif model_field.null:
                extra_fields.append(model_field)
                extra_values.append(NULL)
            else:
                raise ImproperlyConfigured(
                    f"{model._meta.label}.{model_field.name} has no default: registry/bulk_copy.py must "
                    "take it from the caller."
                )
        self.defaults = "".join("\t" + value for value in extra_values)
        quote = connection.ops.quote_name
        self.copy_sql = "COPY {} ({}) FROM STDIN".format(
            quote(model._meta.db_table),
            ", ".join(quote(f.column) for f in self.fields + self.derived + extra_fields),
        )

    def line(self, row: Sequence[Any]) -> str:
        """One row's COPY text (the caller's columns), each value escaped."""
        return "\t".join(map(copy_text, row))

    def data(self, rows: Sequence[Sequence[Any]], tails: str | list[str]) -> str:
        """The rows' COPY text, each row followed by its tail (derived columns, defaults, line end)."""
        if not rows:
            return ""
        block = self._plain_block(rows)
        if block is not None and isinstance(tails, str):
            return block.replace("\n", tails) + tails
        lines = block.split("\n") if block is not None else [self.line(row) for row in rows]
        if isinstance(tails, str):
            return tails.join(lines) + tails
        return "".join([line + tail for line, tail in zip(lines, tails, strict=True)])

    def _plain_block(self, rows: Sequence[Sequence[Any]]) -> str | None:
        """The rows joined in C (values by tabs, rows by line ends) when no value needs escaping, else None.

        Rows of text only (what a generator can give cheaply) are joined as they are; others are formatted.

        A million rows: the whole table's text is checked at once (as many tabs and line ends as columns and
        rows, no backslash or carriage return, text for JSON). NULLs go in after the check, when every "None"
        of the text is a None value, so theirs are the only backslashes.
        """
        try:
            block = "\n".join(["\t".join(row) for row in rows])  # every value given as text
        except TypeError:
            block = "\n".join([self.template.format(*row) for row in rows])
        if (
            block.count("\t") != len(rows) * (self.width - 1)
            or block.count("\n") != len(rows) - 1
            or "\\" in block
            or "\r" in block
            or any(row[position].__class__ is not str for position in self.json_positions for row in rows)
        ):
            return None
        nulls = sum([row.count(None) for row in rows])
        if nulls:
            if block.count("None") != nulls:
                return None
            block = block.replace("None", NULL)
        return block

    def copy(self, text: str) -> None:
        if not text:
            return
        data = text.encode()
        # The driver's own COPY: its errors become Django's (IntegrityError, DataError) as a cursor's would.
        with connection.cursor() as cursor, connection.wrap_database_errors:
            raw = cursor.cursor
            if hasattr(raw, "copy_expert"):  # psycopg2
                raw.copy_expert(self.copy_sql, io.BytesIO(data), size=1 << 20)
            else:  # psycopg 3
                with raw.copy(self.copy_sql) as copy:
                    copy.write(data)

    def instance(self, row: Sequence[Any], derived: Sequence[Any]) -> models.Model:
        values = {}
        for position, (model_field, value) in enumerate(zip(self.fields, row, strict=True)):
            if value == NULL:
                value = None
            elif position in self.json_positions and isinstance(value, str):
                value = json.loads(value)
            values[model_field.attname] = value
        for model_field, value in zip(self.derived, derived, strict=True):
            values[model_field.attname] = value
        return self.model(**values)


def _current_memberships(members: Sequence[tuple]) -> list[tuple[Any, str, bool]]:
    """The chunk's current memberships as the household rules (`registry.rules`) take them: (household,
    role, primary recipient), from rows whose values may be Python values or their text ("t", NULL)."""
    return [
        (row[0], row[2], row[3] is True or row[3] == "t")
        for row in members
        if row[5] is None or row[5] == NULL
    ]


class RegistryCopyLoader:
    """Writes chunks of new households, people, memberships and documents: checked, one transaction each.

    PostgreSQL: COPY text. Other databases: `bulk_create`. No simple-history rows are written (the rows are
    generated, not edited). Each thread that writes uses its own connection.
    """

    def __init__(self) -> None:
        self.households = _CopyTable(Household, HOUSEHOLD_COLUMNS, _HOUSEHOLD_DERIVED)
        self.individuals = _CopyTable(Individual, INDIVIDUAL_COLUMNS, _INDIVIDUAL_DERIVED)
        self.members = _CopyTable(HouseholdMember, MEMBER_COLUMNS, ())
        self.documents = _CopyTable(IdentityDocument, DOCUMENT_COLUMNS, ())
        self.now = timezone.now()

    # --- ids --------------------------------------------------------------

    def household_ids(self, count: int) -> list[int]:
        return ids_allocate(Household, count)

    def individual_ids(self, count: int) -> list[int]:
        return ids_allocate(Individual, count)

    # --- one chunk --------------------------------------------------------

    def write(self, chunk: RegistryChunk) -> dict[str, int]:
        """Check the chunk, then write it in one transaction; a refused chunk writes nothing."""
        sizes = self.check(chunk)
        try:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    self._copy(chunk, sizes)
                else:
                    self._bulk_create(chunk, sizes)
        except DatabaseError as exc:
            raise ValidationError(
                _(
                    "The database refused a chunk of %(count)s households; nothing of it was written: "
                    "%(error)s"
                )
                % {"count": f"{len(chunk.households):,}", "error": str(exc).strip().splitlines()[0]}
            ) from exc
        return chunk.counts()

    def check(self, chunk: RegistryChunk) -> dict[Any, int]:
        """Each household's size (its current members); a chunk with problems is one ValidationError.

        Set operations first (a chunk of 100,000 rows in a few milliseconds); the row by row search for what
        and where only runs when they find something wrong.
        """
        if not self._plausible(chunk):
            errors = self._problems(chunk)
            if errors:
                raise ValidationError(errors)
        return Counter([m[0] for m in chunk.members if m[5] is None or m[5] == NULL])

    def _plausible(self, chunk: RegistryChunk) -> bool:
        tables = (
            (self.households, chunk.households),
            (self.individuals, chunk.individuals),
            (self.members, chunk.members),
            (self.documents, chunk.documents),
        )
        if any(len(row) != table.width for table, rows in tables for row in rows):
            return False
        individuals, members, documents = chunk.individuals, chunk.members, chunk.documents
        codes = {row[0] for row in chunk.households}
        people = {row[0] for row in individuals}
        if len(codes) != len(chunk.households) or len(people) != len(individuals):
            return False
        if not (
            {row[_SEX] for row in individuals} <= _SEXES
            and {row[_SOURCE] for row in individuals} <= _SOURCES
            and {row[_STATUS] for row in individuals} <= _STATUSES
            and {row[0] for row in members} <= codes
            and {row[1] for row in members} <= people
            and {row[2] for row in members} <= _ROLES
            and {row[0] for row in documents} <= people
            and {row[1] for row in documents} <= _DOCUMENT_TYPES
        ):
            return False
        return rules.memberships_follow_rules(codes, _current_memberships(members))

    def _problems(self, chunk: RegistryChunk) -> list[str]:
        """What is wrong with the chunk, row by row (the first MAX_ERRORS problems)."""
        errors: list[str] = []

        def problem(table: _CopyTable, number: int, message: str) -> None:
            if len(errors) < MAX_ERRORS:
                errors.append(f"{table.label}, row {number}: {message}")

        for table, rows in (
            (self.households, chunk.households),
            (self.individuals, chunk.individuals),
            (self.members, chunk.members),
            (self.documents, chunk.documents),
        ):
            for number, row in enumerate(rows, start=1):
                if len(row) != table.width:
                    problem(table, number, f"{len(row)} values where {table.width} columns are expected.")
        if errors:
            return errors
        codes = {row[0]: row[1] for row in chunk.households}
        if len(codes) != len(chunk.households):
            errors.append("households: the same id is given twice.")
        people = set()
        for number, row in enumerate(chunk.individuals, start=1):
            if row[0] in people:
                problem(self.individuals, number, f"the id {row[0]} is given twice.")
            people.add(row[0])
            if row[_SEX] not in _SEXES or row[_SOURCE] not in _SOURCES or row[_STATUS] not in _STATUSES:
                problem(
                    self.individuals,
                    number,
                    f"sex {row[_SEX]!r}, source {row[_SOURCE]!r} or status {row[_STATUS]!r} "
                    "is not one the registry knows.",
                )
        for number, (household, individual, role, *_rest) in enumerate(chunk.members, start=1):
            if household not in codes:
                problem(self.members, number, f"household {household} is not in this chunk.")
            if individual not in people:
                problem(self.members, number, f"individual {individual} is not in this chunk.")
            if role not in _ROLES:
                problem(
                    self.members,
                    number,
                    f"{role!r} is not a household role ({', '.join(HouseholdRole.values)}).",
                )
        for number, (individual, doc_type, _value) in enumerate(chunk.documents, start=1):
            if individual not in people:
                problem(self.documents, number, f"individual {individual} is not in this chunk.")
            if doc_type not in _DOCUMENT_TYPES:
                problem(self.documents, number, f"{doc_type!r} is not a document type.")
        problems = rules.memberships_rule_problems(codes.items(), _current_memberships(chunk.members))
        errors.extend(message for _household, _field, message in problems[:MAX_ERRORS])
        return errors[:MAX_ERRORS]

    def _copy(self, chunk: RegistryChunk, sizes: dict[Any, int]) -> None:
        now = self.now.isoformat()
        table = self.households
        tail = f"\t{now}\t{now}{table.defaults}\n"
        table.copy(table.data(chunk.households, [f"\t{sizes[row[0]]}{tail}" for row in chunk.households]))
        table = self.individuals
        table.copy(table.data(chunk.individuals, f"\t{now}\t{now}{table.defaults}\n"))
        for table, rows in ((self.members, chunk.members), (self.documents, chunk.documents)):
            table.copy(table.data(rows, table.defaults + "\n"))

    def _bulk_create(self, chunk: RegistryChunk, sizes: dict[Any, int]) -> None:
        now = self.now
        for table, rows, derived in (
            (self.households, chunk.households, lambda row: (sizes[row[0]], now, now)),
            (self.individuals, chunk.individuals, lambda row: (now, now)),
            (self.members, chunk.members, lambda row: ()),
            (self.documents, chunk.documents, lambda row: ()),
        ):
            objects = [table.instance(row, derived(row)) for row in rows]
            table.model._default_manager.bulk_create(objects, batch_size=2_000)

    # --- a stream of chunks -----------------------------------------------

    def load(
        self,
        chunks: Iterable[RegistryChunk],
        *,
        written: Callable[[dict[str, int]], None] | None = None,
        threads: int | None = None,
    ) -> None:
        """Write every chunk, calling `written(counts)` after each commits; the first failure stops the run.

        On PostgreSQL outside a transaction, `threads` writer threads (WRITER_THREADS) write while the next
        chunk is made. Otherwise each chunk is made and written inside its own transaction, so ids taken
        while making it (SQLite: the highest id plus one) stay ours until it commits. Chunks committed before
        a failure stay.
        """
        threads = WRITER_THREADS if threads is None else threads
        if connection.vendor == "postgresql" and not connection.in_atomic_block and threads > 0:
            with _ChunkWriters(loader=self, threads=threads) as writers:
                for chunk in chunks:
                    writers.submit(chunk)
                    for counts in writers.collect():
                        if written is not None:
                            written(counts)
                for counts in writers.collect(wait=True):
                    if written is not None:
                        written(counts)
            return
        iterator = iter(chunks)
        while True:
            with transaction.atomic():
                chunk = next(iterator, None)
                if chunk is None:
                    return
                counts = self.write(chunk)
            if written is not None:
                written(counts)


class _ChunkWriters:
    """Threads that write chunks while the next one is made, each on its own connection.

    A failed chunk stops the run: chunks not yet written are dropped, the error is raised, committed
    chunks stay.
    """

    def __init__(self, *, loader: RegistryCopyLoader, threads: int) -> None:
        self.loader = loader
        self.todo: queue.Queue[RegistryChunk | None] = queue.Queue(maxsize=1)  # bounds the memory held
        self.done: queue.Queue[tuple[dict[str, int], BaseException | None]] = queue.Queue()
        self.failed = threading.Event()
        self.pending = 0
        self.threads = [threading.Thread(target=self._work, daemon=True) for _thread in range(threads)]

    def __enter__(self) -> _ChunkWriters:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is not None:
            self.failed.set()
        for _thread in self.threads:
            self.todo.put(None)
        for thread in self.threads:
            thread.join()

    def _work(self) -> None:
        try:
            while (chunk := self.todo.get()) is not None:
                if self.failed.is_set():
                    continue
                try:
                    counts = self.loader.write(chunk)
                except BaseException as exc:
                    self.failed.set()
                    self.done.put((chunk.counts(), exc))
                else:
                    self.done.put((counts, None))
        finally:
            connections.close_all()  # this thread's connections

    def submit(self, chunk: RegistryChunk) -> None:
        self.pending += 1
        self.todo.put(chunk)

    def collect(self, *, wait: bool = False) -> Iterator[dict[str, int]]:
        """Counts of the chunks written since the last call (all with `wait`); raises a writer's error."""
        while self.pending and (wait or not self.done.empty()):
            counts, error = self.done.get()
            self.pending -= 1
            if error is not None:
                raise error
            yield counts


def ids_allocate(model: type[models.Model], count: int) -> list[int]:
    """Primary keys for rows written in bulk; on PostgreSQL taken from the table's sequence.

    Elsewhere the highest id (or SQLite's sequence) plus one: ours only inside the transaction that writes.
    """
    table = model._meta.db_table
    pk_column = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk_column])
            sequence = cursor.fetchone()[0]
            cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count])
            return [row[0] for row in cursor.fetchall()]
        highest = model._default_manager.aggregate(highest=Max("pk"))["highest"] or 0
        if connection.vendor == "sqlite":
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            highest = max(highest, row[0] if row else 0)
        return list(range(highest + 1, highest + 1 + count))


# --- locations --------------------------------------------------------------


def location_levels_ensure(names: Sequence[str], *, reason: str = "") -> None:
    """The location levels (depth 0 first) that do not exist yet, created with their history."""
    for depth, name in enumerate(names):
        if not LocationLevel.objects.filter(depth=depth).exists():
            bulk_create_with_history(
                [LocationLevel(depth=depth, name=name)], LocationLevel, default_change_reason=reason
            )


@transaction.atomic
def locations_load(
    rows: Sequence[tuple[str, str, Location | None, Decimal | None, Decimal | None]], *, reason: str = ""
) -> list[Location]:
    """New locations, (code, name, parent, latitude, longitude) each, with their ids, paths, depths, history.

    Parents are saved locations (e.g. returned by an earlier call). A code already used refuses them all.
    """
    codes = [row[0] for row in rows]
    taken = list(Location.objects.filter(code__in=codes).values_list("code", flat=True)[:5])
    if taken:
        raise ValidationError(_("Location code(s) %(codes)s are already used.") % {"codes": ", ".join(taken)})
    if len(set(codes)) != len(codes):
        raise ValidationError(_("The same location code is given twice."))
    objects = []
    for pk, (code, name, parent, latitude, longitude) in zip(
        ids_allocate(Location, len(rows)), rows, strict=True
    ):
        objects.append(
            Location(
                pk=pk,
                code=code,
                name=name,
                parent=parent,
                path=(parent.path if parent else "") + location_path_segment(pk),
                depth=parent.depth + 1 if parent else 0,
                latitude=latitude,
                longitude=longitude,
            )
        )
    bulk_create_with_history(objects, Location, batch_size=500, default_change_reason=reason)
    return objects
