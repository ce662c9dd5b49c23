"""Benchmark: where one PostgreSQL primary stands at national scale (10,000,000 people), issue 24.

    .venv/bin/python bench/scale.py [--upload-rows 1000000] [--skip enrol,upload] [--compare 1m.json]
    .venv/bin/python bench/scale.py --partitioning [--lines 16000000] [--cycles 16]

Runs on a registry that is already there (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/h_scale_10m,
filled by `manage.py generate_demo_data --households 2220000`); it is migrated, never dropped. The first
time, every individual is enrolled in one plan and two payment cycles are paid to the active ones (the
set-based fill of bench/dashboard.py: 16.1M lines at 10M people); that stays. Then, in this order:

  sizes            pg_database_size, and the table and index sizes of the largest tables, per million people
                   and per million payment lines;
  refresh_full_s   `portal.summaries.summaries_refresh()` + `summaries_vacuum()`, as the refresh job does (so
                   the summaries are current before the upload);
  upload           a generated file of --upload-rows rows (bench/upload.py's households of 1 to 7, 16 columns,
                   spread over the registry's own villages) validated (staging, checks) and committed through
                   maker-checker (`upload_1m_into_registry_s` = validate + commit); then
  refresh_after_upload_s  the dashboard reflecting it: `portal.summaries.summaries_refresh_incremental()` when
                   that exists, else the full refresh (the output says which), in the upload's transaction,
                   after the callbacks the commit left for after it (e.g. the summaries' change marks);
  enrol_individuals_s  a new individual plan (programs' `plan_create`, `plan_activate`) and every individual
                   enrolled into it by `plan_enrol` (the executor's body: one INSERT ... SELECT).

The upload's commit, the refresh after it and the enrolment run inside one outer transaction each that is
rolled back once timed, after `SET CONSTRAINTS ALL IMMEDIATE` (the deferred foreign-key checks a COMMIT would
run are in the time): the database is left as it was, and the next run measures the same thing. What remains:
the upload's ImportBatch and its approval task (failed by `task_fail_after_job`, staged rows cleared), the
bench's two users and its upload plan; dead rows that autovacuum reclaims.

--skip leaves steps out: sizes, refresh, upload, after-upload (the refresh after the upload), enrol.
--no-fill leaves a registry without beneficiaries as it is (the figures then have no payment lines).
--compare FILE prints each figure beside the same figure of an earlier run (its last JSON line, e.g. the
1M run), to show growth. Baselines printed beside: the issue's recorded figures at 10M and the goals.

--partitioning measures, in a database of its own (default h_scale_part, dropped and created again),
whether partitioning the payment lines by cycle pays: two copies of `payments_benefit`'s columns and indexes,
one plain and one `PARTITION BY LIST (cycle_id)`, each with --lines lines over --cycles cycles, and on each:
writing the last cycle's payroll, reconciling 100,000 lines of a middle cycle by reference (10 requests of
10,000), VACUUM after, the cycle's status counts, its export (COPY to nowhere), a look-up by reference alone,
and deleting the cycle.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import tempfile
import time
from contextlib import contextmanager
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
from typing import Any

from benchdb import bench_environment, database_recreate, peak_rss_mb, server_context

ROOT = Path(__file__).resolve().parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/h_scale_10m"
PARTITION_URL = "postgres://postgres@127.0.0.1:5432/h_scale_part"
# Recorded before issue 24's work (the issue's text, bench/README.md) and the issue's goals.
BASELINES = {
    "refresh_full_s": ("110 s at 10M (issue 24); goal < 60 s", 60.0),
    "refresh_after_upload_s": ("a full refresh, 110 s at 10M; goal < 10 s", 10.0),
    "enrol_individuals_s": ("> 660 s at 1M (issue 24); goal < 60 s at 1M", 60.0),
    "upload_1m_into_registry_s": (
        "82.3 s into an empty registry (bench/README.md); goal < 90 s into 10M",
        90.0,
    ),
}
STEPS = ("sizes", "refresh", "upload", "after-upload", "enrol")


class Rollback(Exception):
    """Raised to roll a timed step's outer transaction back."""


def bench_module(name: str) -> Any:
    spec = spec_from_file_location(f"bench_{name}", ROOT / f"{name}.py")
    module = module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@contextmanager
def rolled_back():  # type: ignore[no-untyped-def]
    """One outer transaction, its deferred checks run at the end (as a COMMIT would), then rolled back."""
    from django.db import connection, transaction

    try:
        with transaction.atomic():
            yield
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            raise Rollback
    except Rollback:
        pass


def scalar(sql: str, params: list[Any] | None = None) -> Any:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


def sizes(*, individuals: int, lines: int, top: int = 14) -> dict[str, Any]:
    """The database's size, the largest tables (heap + TOAST, indexes), per million people and lines."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, pg_table_size(c.oid), pg_indexes_size(c.oid), c.reltuples::bigint
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND n.nspname = 'public'
            ORDER BY pg_total_relation_size(c.oid) DESC LIMIT %s
            """,
            [top],
        )
        tables = [
            {"table": name, "table_mb": round(heap / 2**20), "indexes_mb": round(index / 2**20), "rows": rows}
            for name, heap, index, rows in cursor.fetchall()
        ]
    database = scalar("SELECT pg_database_size(current_database())")
    benefit = next((t for t in tables if t["table"] == "payments_benefit"), None)
    figures: dict[str, Any] = {
        "db_size_gb": round(database / 2**30, 2),
        "db_gb_per_million_people": round(database / 2**30 / (individuals / 1e6), 2),
        "tables": tables,
    }
    if benefit and lines:
        per_million = (benefit["table_mb"] + benefit["indexes_mb"]) / (lines / 1e6)
        figures["benefit_mb_per_million_lines"] = round(per_million)
        figures["benefit_index_mb_per_million_lines"] = round(benefit["indexes_mb"] / (lines / 1e6))
    return figures


def sizes_print(figures: dict[str, Any], *, individuals: int) -> None:
    print(
        f"database: {figures['db_size_gb']} GB, {figures['db_gb_per_million_people']} GB per million people"
    )
    print(f"  {'table':<36} {'table MB':>10} {'indexes MB':>11} {'rows':>13} {'MB / M people':>14}")
    for row in figures["tables"]:
        per_million = (row["table_mb"] + row["indexes_mb"]) / (individuals / 1e6)
        print(
            f"  {row['table']:<36} {row['table_mb']:>10,} {row['indexes_mb']:>11,} {row['rows']:>13,} "
            f"{per_million:>14,.0f}"
        )
    if "benefit_mb_per_million_lines" in figures:
        print(
            f"payment lines: {figures['benefit_mb_per_million_lines']} MB per million lines "
            f"({figures['benefit_index_mb_per_million_lines']} MB of it indexes)"
        )


def refresh_incremental_function() -> Any:
    """`summaries_refresh_incremental` when the portal has it (callable without arguments), else None."""
    import portal.summaries as summaries

    function = getattr(summaries, "summaries_refresh_incremental", None)
    if function is None:
        return None
    required = [
        p
        for p in inspect.signature(function).parameters.values()
        if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if required:
        print(f"summaries_refresh_incremental needs {[p.name for p in required]}: using the full refresh")
        return None
    return function


def refresh_full() -> dict[str, float]:
    from portal.summaries import summaries_refresh, summaries_vacuum

    started = time.perf_counter()
    summaries_refresh()
    refreshed = time.perf_counter()
    summaries_vacuum()
    ended = time.perf_counter()
    return {
        "refresh_full_s": round(ended - started, 1),
        "refresh_full_count_s": round(refreshed - started, 1),
        "refresh_full_vacuum_s": round(ended - refreshed, 1),
    }


def upload_actors() -> tuple[Any, Any, Any]:
    """The bench's maker and checker (superusers), an active household plan with the file's custom field."""
    from datetime import date

    from django.contrib.auth.models import User

    from programs.models import BenefitPlan, PlanStatus, PlanType
    from programs.services import plan_activate, plan_create

    maker, _ = User.objects.get_or_create(
        username="bench-scale-maker", defaults={"is_staff": True, "is_superuser": True}
    )
    checker, _ = User.objects.get_or_create(
        username="bench-scale-checker", defaults={"is_staff": True, "is_superuser": True}
    )
    plan = BenefitPlan.objects.filter(code="SCALE-UPLOAD").first()
    if plan is None:
        plan = plan_create(
            user=maker,
            plan=BenefitPlan(
                code="SCALE-UPLOAD",
                name="Scale bench uploads",
                plan_type=PlanType.HOUSEHOLD,
                start_date=date(2025, 1, 1),
                beneficiary_schema={
                    "type": "object",
                    "properties": {"vulnerability": {"type": "string", "enum": ["low", "high"]}},
                },
            ),
        )
    if plan.status != PlanStatus.ACTIVE:
        plan = plan_activate(user=maker, plan=plan)
    return maker, checker, plan


def upload_and_refresh(*, rows: int, seed: int, refresh: bool = True) -> dict[str, Any]:
    """An upload validated and committed (rolled back after), and the dashboard's refresh that follows it."""
    from django.conf import settings
    from django.db import connection
    from django.test import TestCase

    from approvals.services import task_approve, task_execute_in_job, task_fail_after_job
    from registry.models import Location
    from uploads.models import BatchState, ImportBatch
    from uploads.services import batch_commit_request, batch_validate, staging_clear

    upload = bench_module("upload")
    maker, checker, plan = upload_actors()
    deepest = scalar("SELECT MAX(depth) FROM registry_location")
    villages = list(
        Location.objects.filter(depth=deepest).order_by("pk").values_list("code", flat=True)[:2000]
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    path = workdir / f"scale-{rows}.csv"
    upload.file_generate(path, rows=rows, seed=seed, locations=villages)
    settings.UPLOADS_MAX_FILE_BYTES = max(path.stat().st_size + 1, settings.UPLOADS_MAX_FILE_BYTES)
    print(
        f"upload file: {rows:,} rows, {path.stat().st_size / 2**20:,.0f} MB over {len(villages):,} villages"
    )

    def progress(**kwargs: object) -> None:
        return None

    batch = ImportBatch(benefit_plan=plan, original_name=path.name, uploaded_by=maker)
    batch.file.name = str(path)
    batch.save()
    incremental = refresh_incremental_function()
    figures: dict[str, Any] = {
        "upload_rows": rows,  # `upload_1m_into_registry_s` is this many rows' time (1M unless --upload-rows)
        "refresh_after_upload_kind": "incremental" if incremental else "full",
    }
    task = None
    try:
        started = time.perf_counter()
        batch = batch_validate(batch=batch, progress=progress, path=path)
        figures["upload_validate_s"] = round(time.perf_counter() - started, 1)
        if batch.state != BatchState.VALIDATED:
            raise SystemExit(f"Validation failed: {batch.error}")
        task = task_approve(task=batch_commit_request(batch=batch, user=maker), user=checker)
        with rolled_back():
            started = time.perf_counter()
            # What runs once the commit is done (the summaries' change marks, the refresh job queued) is held
            # back here and run below, inside the transaction, as part of the refresh after the upload.
            with TestCase.captureOnCommitCallbacks(execute=False) as after_commit:
                task_execute_in_job(task_id=task.pk, progress=progress)
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            figures["upload_commit_s"] = round(time.perf_counter() - started, 1)
            batch.refresh_from_db()
            figures["upload_new_people"] = batch.new_rows
            figures["upload_errors"] = batch.error_rows
            started = time.perf_counter()
            for callback in after_commit:
                callback()
            if not refresh:
                figures["refresh_after_upload_kind"] = "skipped"
            elif incremental is not None:
                if incremental() is None:
                    print("The incremental refresh found nothing marked: its time is not a measurement.")
                    figures["refresh_after_upload_kind"] = "incremental, nothing marked"
            else:
                from portal.summaries import summaries_refresh

                summaries_refresh()
            if refresh:
                figures["refresh_after_upload_s"] = round(time.perf_counter() - started, 1)
    finally:
        staging_clear(batch_id=batch.pk)
        if task is not None:
            task_fail_after_job(task_id=task.pk, error="Bench run: the commit was rolled back on purpose.")
        path.unlink(missing_ok=True)
        workdir.rmdir()
    figures["upload_1m_into_registry_s"] = round(figures["upload_validate_s"] + figures["upload_commit_s"], 1)
    figures["upload_rows_per_s"] = round(rows / figures["upload_1m_into_registry_s"])
    return figures


def enrol_everyone() -> dict[str, Any]:
    """A new individual plan and every active individual enrolled in it (rolled back after)."""
    from datetime import date

    from programs.models import Beneficiary, BeneficiaryStatus, BenefitPlan, PlanType
    from programs.services import EnrolmentSelection, plan_activate, plan_create, plan_enrol

    maker, _, _ = upload_actors()
    figures: dict[str, Any] = {}
    with rolled_back():
        plan = plan_create(
            user=maker,
            plan=BenefitPlan(
                code="SCALE-ENROL",
                name="Scale bench: everyone",
                plan_type=PlanType.INDIVIDUAL,
                start_date=date(2026, 1, 1),
            ),
        )
        plan = plan_activate(user=maker, plan=plan)
        started = time.perf_counter()
        result = plan_enrol(
            plan=plan, user=maker, selection=EnrolmentSelection(), status=BeneficiaryStatus.ACTIVE
        )
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        figures["enrol_individuals_s"] = round(time.perf_counter() - started, 1)
        figures["enrolled"] = result["enrolled"]
        assert Beneficiary.objects.filter(benefit_plan=plan).count() == result["enrolled"]
    figures["enrol_per_s"] = round(figures["enrolled"] / max(figures["enrol_individuals_s"], 0.001))
    return figures


def compare_load(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    lines = [line for line in Path(path).read_text().splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def figure_print(key: str, value: Any, earlier: dict[str, Any]) -> None:
    parts = [f"{key:>28}: {value}"]
    if key in earlier and earlier.get("individuals"):
        parts.append(f"(at {earlier['individuals']:,} people: {earlier[key]})")
    if key in BASELINES:
        text, goal = BASELINES[key]
        met = isinstance(value, int | float) and value < goal
        parts.append(f"[before: {text}; {'meets' if met else 'misses'} the goal]")
    print("  ".join(parts), flush=True)


def main_scale(options: argparse.Namespace) -> None:
    url = bench_environment(DEFAULT_URL)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from payments.models import Benefit
    from registry.models import Household, Individual

    individuals = Individual.objects.count()
    if individuals < 10_000:
        raise SystemExit(f"{url} holds {individuals:,} individuals: generate the registry first")
    print(f"{individuals:,} individuals, {Household.objects.count():,} households", flush=True)
    started = time.perf_counter()
    if not options.no_fill:
        bench_module("dashboard").payments_prepare()
    lines = Benefit.objects.count()
    print(f"{lines:,} payment lines (fill checked in {time.perf_counter() - started:.0f} s)", flush=True)
    context = server_context()
    print("server and machine:", ", ".join(f"{key} {value}" for key, value in context.items()), flush=True)
    earlier = compare_load(options.compare)
    skip = {step.strip() for step in options.skip.split(",") if step.strip()}
    figures: dict[str, Any] = {"individuals": individuals, "payment_lines": lines}

    def record(new: dict[str, Any]) -> None:
        figures.update(new)
        for key, value in new.items():
            if key != "tables":
                figure_print(key, value, earlier)

    if "sizes" not in skip:
        found = sizes(individuals=individuals, lines=lines)
        sizes_print(found, individuals=individuals)
        record(found)
    if "refresh" not in skip:  # first: the summaries are current when the upload comes
        record(refresh_full())
    if "upload" not in skip:
        record(
            upload_and_refresh(
                rows=options.upload_rows, seed=options.seed, refresh="after-upload" not in skip
            )
        )
    if "enrol" not in skip:
        record(enrol_everyone())
    figures["peak_rss_mb"] = peak_rss_mb()
    figures["load_average_1m_end"] = round(os.getloadavg()[0], 2)
    figures["load_average_1m_start"] = context["load_average_1m"]
    for key in (
        "refresh_full_s",
        "refresh_after_upload_s",
        "enrol_individuals_s",
        "upload_1m_into_registry_s",
    ):
        figures.setdefault(key, None)
    figures.setdefault("db_size_gb", None)
    print(json.dumps(figures))


# --- partitioning the payment lines by cycle -------------------------------------------------------------

COLUMNS = """
    id bigint NOT NULL, reference varchar(40) NOT NULL, amount numeric(14,2), status varchar(16) NOT NULL,
    hold_reason text NOT NULL DEFAULT '', amount_paid numeric(14,2), paid_at timestamptz,
    transaction_id varchar(100) NOT NULL DEFAULT '', failure_reason text NOT NULL DEFAULT '',
    reconciled_at timestamptz, evidence_latitude numeric(9,6), evidence_longitude numeric(9,6),
    evidence_at timestamptz, evidence_agent varchar(200) NOT NULL DEFAULT '',
    evidence_photo varchar(100) NOT NULL DEFAULT '', beneficiary_id bigint NOT NULL,
    location_id bigint NOT NULL, recipient_id bigint, cycle_id bigint NOT NULL, payroll_id bigint NOT NULL
"""


def lines_insert_sql(table: str) -> str:
    """Lines first..last of the generated series: cycle = payroll, `per_cycle` beneficiaries a cycle."""
    return f"""
        INSERT INTO {table} (id, reference, amount, status, amount_paid, beneficiary_id, location_id,
                             recipient_id, cycle_id, payroll_id)
        SELECT n, 'C' || c || '-' || b, a, s, CASE WHEN s = 'paid' THEN a END, b, 1 + b %% 3670, b, c, c
        FROM (SELECT n, 1 + (n - 1) / %(per_cycle)s AS c, 1 + (n - 1) %% %(per_cycle)s AS b,
                     100 + (n %% 5) * 25 AS a,
                     CASE WHEN 1 + (n - 1) / %(per_cycle)s < %(cycles)s - 1 THEN 'paid' ELSE 'pending' END
                     AS s
              FROM generate_series(%(first)s, %(last)s) AS n) AS line
    """


def indexes_sql(table: str, partitioned: bool) -> list[str]:
    """payments_benefit's indexes; on the partitioned copy the unique ones must include the cycle."""
    key = "(id, cycle_id)" if partitioned else "(id)"
    reference = "(reference, cycle_id)" if partitioned else "(reference)"
    return [
        f"ALTER TABLE {table} ADD PRIMARY KEY {key}",
        f"ALTER TABLE {table} ADD CONSTRAINT {table}_reference_unique UNIQUE {reference}",
        f"CREATE UNIQUE INDEX {table}_one_per_cycle ON {table} (beneficiary_id, cycle_id) "
        "WHERE NOT status IN ('carried', 'cancelled')",
        f"CREATE INDEX {table}_payroll_status ON {table} (payroll_id, status)",
        f"CREATE INDEX {table}_transaction ON {table} (transaction_id) WHERE transaction_id <> ''",
    ]


def timed(cursor, sql: str, params: Any = None) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    cursor.execute(sql, params)
    return time.perf_counter() - started


class NullSink:
    def write(self, data: Any) -> int:
        return len(data)


def partition_operations(cursor, table: str, *, cycle: int, last: int, per_cycle: int, pruned: bool) -> dict:  # type: ignore[no-untyped-def]
    """One cycle's operations on `table`; `pruned`: the queries name the cycle (a partition is chosen)."""
    extra = f" AND cycle_id = {cycle}" if pruned else ""
    out: dict[str, float] = {}
    params = {
        "per_cycle": per_cycle,
        "cycles": last,
        "first": (last - 1) * per_cycle + 1,
        "last": last * per_cycle,
    }
    if pruned:
        cursor.execute(f"CREATE TABLE {table}_c{last} PARTITION OF {table} FOR VALUES IN ({last})")
    out["payroll_write_s"] = timed(cursor, lines_insert_sql(table), params)
    references = [f"C{cycle}-{b}" for b in range(1, min(per_cycle, 100_000) + 1)]
    started = time.perf_counter()
    for start in range(0, len(references), 10_000):
        cursor.execute(
            f"UPDATE {table} AS t SET status = 'paid', amount_paid = t.amount, transaction_id = 'T' || t.id, "
            f"reconciled_at = now() FROM unnest(%s::text[]) AS v(reference) WHERE t.reference = v.reference"
            + extra.replace("cycle_id", "t.cycle_id"),
            [references[start : start + 10_000]],
        )
    out["reconcile_s"] = time.perf_counter() - started
    vacuum_target = f"{table}_c{cycle}" if pruned else table
    out["vacuum_after_s"] = timed(cursor, f"VACUUM {vacuum_target}")
    out["cycle_counts_s"] = timed(
        cursor,
        f"SELECT status, count(*), sum(amount) FROM {table} "
        f"WHERE payroll_id = {cycle}{extra} GROUP BY status",
    )
    cursor.fetchall()
    started = time.perf_counter()
    cursor.copy_expert(
        f"COPY (SELECT * FROM {table} WHERE payroll_id = {cycle}{extra} ORDER BY id) TO STDOUT", NullSink()
    )
    out["cycle_export_s"] = time.perf_counter() - started
    lookups = []
    for b in range(1, 51):
        lookups.append(timed(cursor, f"SELECT id FROM {table} WHERE reference = %s", [f"C{cycle}-{b * 997}"]))
        cursor.fetchall()
    out["reference_lookup_ms"] = statistics.median(lookups) * 1000
    if pruned:
        out["cycle_delete_s"] = timed(cursor, f"DROP TABLE {table}_c{cycle}")
    else:
        out["cycle_delete_s"] = timed(cursor, f"DELETE FROM {table} WHERE payroll_id = {cycle}")
    return {key: round(value, 3) for key, value in out.items()}


def partition_fill(cursor, table: str, *, partitioned: bool, cycles: int, per_cycle: int) -> float:  # type: ignore[no-untyped-def]
    """Cycles 1..cycles-1, indexes built after; the last cycle is written by `partition_operations`."""
    started = time.perf_counter()
    tail = " PARTITION BY LIST (cycle_id)" if partitioned else ""
    cursor.execute(f"CREATE TABLE {table} ({COLUMNS}){tail}")
    for cycle in range(1, cycles) if partitioned else ():
        cursor.execute(f"CREATE TABLE {table}_c{cycle} PARTITION OF {table} FOR VALUES IN ({cycle})")
    params = {"per_cycle": per_cycle, "cycles": cycles, "first": 1, "last": (cycles - 1) * per_cycle}
    cursor.execute(lines_insert_sql(table), params)
    for sql in indexes_sql(table, partitioned):
        cursor.execute(sql)
    cursor.execute(f"VACUUM ANALYZE {table}")
    return round(time.perf_counter() - started, 1)


def main_partitioning(options: argparse.Namespace) -> None:
    if not options.part_url.rstrip("/").endswith("_part"):
        raise SystemExit("--part-url must name a database ending in _part: it is dropped and created again.")
    os.environ["DATABASE_URL"] = options.part_url  # never DATABASE_URL's own (that may be the 10M registry)
    url = bench_environment(PARTITION_URL)
    database_recreate(url)
    import django

    django.setup()
    from django.db import connection

    connection.ensure_connection()
    connection.connection.autocommit = True  # each statement on its own, VACUUM included
    per_cycle = options.lines // options.cycles
    middle = options.cycles // 2
    figures: dict[str, Any] = {"lines": per_cycle * options.cycles, "cycles": options.cycles}
    with connection.cursor() as cursor:
        for table, partitioned in (("lines_plain", False), ("lines_by_cycle", True)):
            fill_s = partition_fill(
                cursor, table, partitioned=partitioned, cycles=options.cycles, per_cycle=per_cycle
            )
            print(
                f"{table}: {(options.cycles - 1) * per_cycle:,} lines written and indexed in {fill_s} s",
                flush=True,
            )
            ops = partition_operations(
                cursor, table, cycle=middle, last=options.cycles, per_cycle=per_cycle, pruned=partitioned
            )
            cursor.execute(
                "SELECT pg_total_relation_size(%s::regclass) "
                "+ COALESCE(SUM(pg_total_relation_size(inhrelid)), 0) "
                "FROM pg_inherits WHERE inhparent = %s::regclass",
                [table, table],
            )
            ops["size_mb"] = round(int(cursor.fetchone()[0]) / 2**20)
            figures[table] = ops
            print(f"  {ops}", flush=True)
            cursor.execute(f"DROP TABLE {table}")
    plain, split = figures["lines_plain"], figures["lines_by_cycle"]
    title = f"operation on one cycle of {per_cycle:,} lines"
    print(f"{title:<48} {'plain':>10} {'by cycle':>10}")
    for key in plain:
        print(f"  {key:<46} {plain[key]:>10} {split[key]:>10}")
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--upload-rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=24)
    parser.add_argument("--skip", default="", help=f"steps to leave out, comma-separated: {', '.join(STEPS)}")
    parser.add_argument("--compare", help="an earlier run's output (its last line is read)")
    parser.add_argument(
        "--no-fill", action="store_true", help="no plan and payment lines written when there are none"
    )
    parser.add_argument("--partitioning", action="store_true", help="the payment lines' partitioning test")
    parser.add_argument("--lines", type=int, default=16_000_000)
    parser.add_argument("--cycles", type=int, default=16)
    parser.add_argument("--part-url", default=PARTITION_URL, help="the partitioning test's own database")
    options = parser.parse_args()
    if options.partitioning:
        main_partitioning(options)
    else:
        main_scale(options)


if __name__ == "__main__":
    main()
