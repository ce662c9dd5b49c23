"""Benchmark: a beneficiary file validated and committed through the upload pipeline, on PostgreSQL, into a
registry that already holds people.

    .venv/bin/python bench/upload.py --rows 1000000 --registry-individuals 1000000 [--seed 7]
        [--statements] [--index-usage] [--baseline-ref REF] [--row-baseline-rows 20000] [--keep-file]

DATABASE_URL (default postgres://postgres@127.0.0.1:5432/h_bench_uploads) names the prepared registry,
kept between runs: created and migrated when missing, and filled with the demo generator
(`generate_demo_data --households N/4.5`) until it holds --registry-individuals people (one that holds
fewer is topped up, so a 10M registry can start as a copy of a 1M one). Each side runs on a copy of it
(`CREATE DATABASE <name>_run TEMPLATE <name>`, dropped afterwards), so ours and the baseline start from the
same data. One generated CSV file (households of 1 to 7 people, 16 columns, new household codes and national
ids, in the registry's villages) goes through:
  1. the baseline: the same pipeline (validate: stream, COPY into staging, set-based checks; approval;
     commit) with the code of --baseline-ref (default: the commit before issue 24's upload work), its
     schema and its indexes;
  2. ours: the code of this checkout, after its migrations (timed apart: `migrate_s`);
  3. with --row-baseline-rows N: django-import-export's ModelResource of individuals on the first N rows
     (row by row, as most Django teams would write it), and a raw COPY of the file into a bare table.
Each side runs in a process of its own. `checks_s` is the validation's set-based checks (statistics,
duplicates, households, counts), `households_s` the household checks alone; `upload_s` = `validate_s` +
`commit_s`. With --statements, the commit's SQL statements that took 0.2 s or more are printed with their
time, and the COMMIT's own time (the end of the transaction: WAL flush and any check still deferred).
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from benchdb import bench_environment, database_prepare, peak_rss_children_mb, peak_rss_mb, server_context

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/h_bench_uploads"
HEADER = [
    "given_name",
    "family_name",
    "other_names",
    "sex",
    "birth_date",
    "birth_date_estimated",
    "phone",
    "location_code",
    "national_id",
    "household_code",
    "household_role",
    "primary_recipient",
    "ind.education",
    "ind.disability",
    "hh.monthly_income",
    "plan.vulnerability",
]
GIVEN = [
    "Amina",
    "Moussa",
    "Fatou",
    "Ibrahim",
    "Aissata",
    "Oumar",
    "Mariam",
    "Sekou",
    "Kadiatou",
    "Mamadou",
    "Awa",
    "Abdoulaye",
    "Hawa",
    "Boubacar",
    "Aminata",
    "Ousmane",
    "Ramatou",
    "Issa",
    "Salif",
    "Nafissatou",
]
FAMILY = [
    "Diallo",
    "Traore",
    "Keita",
    "Coulibaly",
    "Sow",
    "Toure",
    "Kone",
    "Camara",
    "Sidibe",
    "Cisse",
    "Barry",
    "Bah",
    "Sangare",
    "Diarra",
    "Konate",
    "Ouedraogo",
    "Kabore",
    "Sawadogo",
    "Zongo",
    "Ilboudo",
]
ROLES = ["spouse", "child", "child", "child", "grandchild", "parent", "other_relative"]


def file_generate(path: Path, *, rows: int, seed: int, locations: list[str]) -> None:
    """Households of 1 to 7 people, streamed to disk; every person has a national id."""
    rng = random.Random(seed)
    base = date(1940, 1, 1)
    written = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for household in itertools.count(1):
            size = min(rng.randint(1, 7), rows - written)
            location = rng.choice(locations)
            family = rng.choice(FAMILY)
            code = f"HH{seed}-{household:08d}"
            for member in range(size):
                written += 1
                role = "head" if member == 0 else rng.choice(ROLES)
                birth = base + timedelta(days=rng.randint(0, 30000))
                writer.writerow(
                    [
                        rng.choice(GIVEN),
                        family,
                        "",
                        rng.choice("FM"),
                        birth.strftime("%Y-%m-%d"),
                        "yes" if rng.random() < 0.1 else "no",
                        f"+2237{written:08d}",
                        location,
                        f"NID{seed}{written:09d}",
                        code,
                        role,
                        "",
                        rng.choice(["none", "primary", "secondary", "tertiary"]),
                        "yes" if rng.random() < 0.05 else "no",
                        str(rng.randint(0, 90000)) if member == 0 else "",
                        rng.choice(["low", "high"]) if member == 0 else "",
                    ]
                )
            if written >= rows:
                return


def registry_empty() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE programs_beneficiary, registry_householdmember, registry_identitydocument, "
            "registry_individual, registry_household, uploads_stagedrow, uploads_stagederror "
            "RESTART IDENTITY CASCADE"
        )


def actors_and_plan():  # type: ignore[no-untyped-def]
    from datetime import date as day

    from django.contrib.auth.models import Group, User

    from programs.models import BenefitPlan, PlanStatus, PlanType
    from registry.models import Location

    for region in range(10):
        parent, _ = Location.objects.get_or_create(code=f"R{region}", defaults={"name": f"Region {region}"})
        for district in range(10):
            Location.objects.get_or_create(
                code=f"R{region}-D{district}",
                defaults={"name": f"District {region}.{district}", "parent": parent},
            )
    maker, _ = User.objects.get_or_create(
        username="bench-maker", defaults={"is_staff": True, "is_superuser": True}
    )
    checker, _ = User.objects.get_or_create(
        username="bench-checker", defaults={"is_staff": True, "is_superuser": True}
    )
    Group.objects.get_or_create(name="Approver")
    plan, _ = BenefitPlan.objects.get_or_create(
        code="BENCH",
        defaults={
            "name": "Bench cash transfer",
            "plan_type": PlanType.HOUSEHOLD,
            "start_date": day(2025, 1, 1),
            "status": PlanStatus.ACTIVE,
            "beneficiary_schema": {
                "type": "object",
                "properties": {"vulnerability": {"type": "string", "enum": ["low", "high"]}},
            },
        },
    )
    return maker, checker, plan


class StatementTimer:
    """Times each SQL statement of the commit (Django's execute wrapper) and the transaction's COMMIT."""

    def __init__(self) -> None:
        self.timings: list[tuple[float, str]] = []

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.timings.append((time.perf_counter() - started, " ".join(sql.split())))

    def commit_timed(self, connection) -> None:  # type: ignore[no-untyped-def]
        commit = connection._commit

        def timed() -> None:
            started = time.perf_counter()
            try:
                commit()
            finally:
                self.timings.append((time.perf_counter() - started, "COMMIT"))

        connection._commit = timed

    def print(self, *, at_least: float = 0.2) -> None:
        total = sum(seconds for seconds, _ in self.timings)
        print(f"commit statements ≥ {at_least} s (of {len(self.timings)}, {total:.2f} s in all):")
        for seconds, sql in self.timings:
            if seconds >= at_least:
                print(f"  {seconds:7.2f} s  {sql[:150]}")


def ours(path: Path, *, maker, checker, plan, timer: StatementTimer | None = None):  # type: ignore[no-untyped-def]
    """The upload pipeline of the code on the import path, its checks timed (whatever their internals)."""
    from contextlib import nullcontext

    from django.db import connection

    from approvals.services import task_approve, task_execute_in_job
    from uploads import checks
    from uploads.models import BatchState, ImportBatch
    from uploads.services import batch_commit_request, batch_validate

    spent = {"checks": 0.0, "households": 0.0}

    def timed(name: str, *, households: bool = False):  # type: ignore[no-untyped-def]
        function = getattr(checks, name)

        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                spent["checks"] += elapsed
                if households:
                    spent["households"] += elapsed

        setattr(checks, name, wrapper)

    for name in ("staging_analyze", "work_memory_raise", "duplicates_check", "batch_counts"):
        timed(name)
    timed("households_check", households=True)

    def progress(**kwargs: object) -> None:
        return None

    batch = ImportBatch(benefit_plan=plan, original_name=path.name, uploaded_by=maker)
    batch.file.name = str(path)
    batch.save()
    started = time.perf_counter()
    batch = batch_validate(batch=batch, progress=progress, path=path)
    validated = time.perf_counter()
    checks_s, households_s = spent["checks"], spent["households"]
    if batch.state != BatchState.VALIDATED:
        raise SystemExit(f"Validation failed: {batch.error}")
    task = batch_commit_request(batch=batch, user=maker)
    task = task_approve(task=task, user=checker)
    if timer:
        timer.commit_timed(connection)
    committing = time.perf_counter()
    with connection.execute_wrapper(timer) if timer else nullcontext():
        task_execute_in_job(task_id=task.pk, progress=progress)
    committed = time.perf_counter()
    batch.refresh_from_db()
    if batch.state != BatchState.COMMITTED:
        task.refresh_from_db()
        raise SystemExit(f"Commit failed: {task.error}")
    return {
        "rows": batch.total_rows,
        "new": batch.new_rows,
        "errors": batch.error_rows,
        "households": batch.new_households,
        "validate_s": round(validated - started, 2),
        "checks_s": round(checks_s, 2),
        "households_s": round(households_s, 2),
        "commit_s": round(committed - committing, 2),
        "upload_s": round(validated - started + committed - committing, 2),
    }


def baseline(path: Path, *, rows: int) -> dict[str, float]:
    """django-import-export, row by row: a ModelResource of individuals, the location looked up by code."""
    import tablib
    from import_export import fields, resources, widgets

    from registry.models import Individual, Location

    class IndividualResource(resources.ModelResource):
        location = fields.Field(
            attribute="location",
            column_name="location_code",
            widget=widgets.ForeignKeyWidget(Location, field="code"),
        )

        class Meta:
            model = Individual
            fields = ("given_name", "family_name", "other_names", "sex", "birth_date", "phone", "location")
            import_id_fields = ()
            skip_unchanged = False

    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        dataset = tablib.Dataset(headers=header)
        for cells in itertools.islice(reader, rows):
            dataset.append(cells)
    started = time.perf_counter()
    result = IndividualResource().import_data(dataset, dry_run=False, raise_errors=True)
    elapsed = time.perf_counter() - started
    return {"rows": len(dataset), "seconds": round(elapsed, 3), "errors": int(result.has_errors())}


def raw_copy(path: Path) -> dict[str, float]:
    from django.db import connection

    columns = ", ".join(f'"{name}" text' for name in HEADER)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_copy")
        cursor.execute(f"CREATE TABLE bench_raw_copy ({columns})")
        started = time.perf_counter()
        with path.open(encoding="utf-8") as handle:
            cursor.copy_expert("COPY bench_raw_copy FROM STDIN WITH (FORMAT csv, HEADER true)", handle)
        elapsed = time.perf_counter() - started
        cursor.execute("SELECT COUNT(*) FROM bench_raw_copy")
        copied = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_raw_copy")
    return {"rows": copied, "seconds": round(elapsed, 3)}


# The code before issue 24's upload work (item 3): the baseline's code path and schema.
BASELINE_REF = "2fd8130"
HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
REGISTRY_TABLES = (
    "registry_individual",
    "registry_household",
    "registry_householdmember",
    "registry_identitydocument",
    "registry_historicalindividual",
    "programs_beneficiary",
)


def _django_setup(src: Path) -> None:
    """Django from the checkout `src` (ours or the baseline's), on DATABASE_URL."""
    import sys

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(src))
    import django

    django.setup()


def _registry_individuals() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM registry_individual")
        return cursor.fetchone()[0]


def _leaf_codes(limit: int = 100) -> list[str]:
    """Up to `limit` locations without children, spread over the tree (the generator's villages, or R*-D*)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT code FROM registry_location l WHERE NOT EXISTS "
            "(SELECT 1 FROM registry_location c WHERE c.parent_id = l.id) ORDER BY id"
        )
        codes = [row[0] for row in cursor.fetchall()]
    step = max(1, len(codes) // limit)
    return codes[::step][:limit]


def worker_prepare(options: dict) -> dict:
    """In the prepared registry: migrate, top the registry up to the individuals asked, actors, a plan."""
    _django_setup(Path(options["src"]))
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    target = options["registry_individuals"]
    present = _registry_individuals()
    if present < target * 0.98:
        from fixtures.generator import demo_data_generate

        households = max(1, round((target - present) / 4.5))
        print(
            f"prepare: {present:,} individuals in the registry; generating {households:,} households",
            flush=True,
        )
        started = time.perf_counter()
        demo_data_generate(households=households, seed=1)
        print(f"prepare: generated in {time.perf_counter() - started:,.1f} s", flush=True)
    actors_and_plan()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE registry_individual")
        cursor.execute("VACUUM ANALYZE registry_household")
        cursor.execute("VACUUM ANALYZE registry_householdmember")
        cursor.execute("VACUUM ANALYZE registry_identitydocument")
    return {"individuals": _registry_individuals(), "locations": _leaf_codes()}


def _index_usage() -> list[tuple[str, str, int, int]]:
    """(table, index, scans, size in bytes) of the registry's tables, as pg_stat_user_indexes has them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, indexrelname, idx_scan, pg_relation_size(indexrelid) FROM pg_stat_user_indexes "
            "WHERE relname IN %s ORDER BY relname, indexrelname",
            [REGISTRY_TABLES],
        )
        return cursor.fetchall()


def worker_run(options: dict) -> dict:
    """In a copy of the prepared registry: the code's own migrations (timed apart), then the upload."""
    _django_setup(Path(options["src"]))
    from django.conf import settings
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrate_s = round(time.perf_counter() - started, 2)
    path = Path(options["path"])
    settings.UPLOADS_MAX_FILE_BYTES = max(path.stat().st_size + 1, 150 * 1024 * 1024)
    maker, checker, plan = actors_and_plan()
    before = {(table, index): scans for table, index, scans, _size in _index_usage()}
    timer = StatementTimer() if options["statements"] else None
    figures = ours(path, maker=maker, checker=checker, plan=plan, timer=timer)
    if timer:
        timer.print()
    figures["migrate_s"] = migrate_s
    figures["peak_mb"] = peak_rss_mb()
    figures["worker_peak_mb"] = peak_rss_children_mb()
    figures["indexes"] = [
        [table, index, scans - before.get((table, index), 0), size]
        for table, index, scans, size in _index_usage()
    ]
    figures["context"] = server_context()
    if options.get("row_baseline_rows"):
        registry_empty()
        figures["row_baseline"] = baseline(path, rows=min(options["row_baseline_rows"], figures["rows"]))
        registry_empty()
        figures["raw_copy"] = raw_copy(path)
    return figures


def _worker(mode: str, options: dict, *, database: str, url: str) -> dict:
    """Run `mode` in a process of its own on `database` (of the server of `url`); its last line is JSON."""
    import subprocess
    import sys
    from urllib.parse import urlparse

    parts = urlparse(url)
    env = {**os.environ, "DATABASE_URL": parts._replace(path=f"/{database}").geturl()}
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", mode, json.dumps(options)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    for line in lines[:-1]:
        print(f"  {line}")
    if result.returncode or not lines:
        raise SystemExit(f"The {mode} worker failed (exit {result.returncode}).")
    return json.loads(lines[-1])


def _admin_execute(url: str, *statements: str) -> None:
    from urllib.parse import urlparse

    import psycopg2

    parts = urlparse(url)
    admin = psycopg2.connect(
        dbname="postgres",
        user=parts.username or "postgres",
        password=parts.password,
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    admin.close()


def baseline_source(ref: str) -> Path:
    """The project's files at `ref` (git archive), extracted once into a temporary folder."""
    import subprocess

    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    target = Path(tempfile.gettempdir()) / f"bench-upload-baseline-{commit[:12]}"
    if not (target / "manage.py").exists():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", commit], cwd=PROJECT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def _side_line(label: str, figures: dict) -> str:
    rate = figures["rows"] / max(figures["upload_s"], 0.001)
    return (
        f"{label}: {figures['rows']:,} rows validated in {figures['validate_s']} s "
        f"(checks {figures['checks_s']} s, households {figures['households_s']} s) "
        f"+ committed in {figures['commit_s']} s = {figures['upload_s']} s, "
        f"{rate:,.0f} rows/s ({figures['new']:,} new people, {figures['households']:,} households, "
        f"{figures['errors']:,} errors); peak memory {figures['peak_mb']} MB (largest parsing worker "
        f"{figures['worker_peak_mb']} MB); load average {figures['context']['load_average_1m']}"
    )


def main() -> None:
    # Long on purpose: the bench's whole sequence (prepare, file, each side on its copy, figures) reads in
    # order.
    import sys

    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        mode, options = sys.argv[2], json.loads(sys.argv[3])
        figures = {"prepare": worker_prepare, "run": worker_run}[mode](options)
        print(json.dumps(figures))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--registry-individuals", type=int, default=0, help="people in the registry beforehand"
    )
    parser.add_argument(
        "--baseline-ref", default=BASELINE_REF, help="git ref of the baseline's code ('none': skip)"
    )
    parser.add_argument(
        "--row-baseline-rows",
        "--baseline-rows",
        type=int,
        default=None,
        help="django-import-export rows compared per row, and a raw COPY "
        "(default 20,000 on an empty registry, else 0)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep-file", action="store_true")
    parser.add_argument("--statements", action="store_true", help="time the commit's statements")
    parser.add_argument(
        "--index-usage", action="store_true", help="print each registry index's scans during ours"
    )
    args = parser.parse_args()
    if args.row_baseline_rows is None:
        args.row_baseline_rows = 0 if args.registry_individuals else 20_000

    url = bench_environment(DEFAULT_URL)
    database_prepare(url, fresh=False)
    name = url.rsplit("/", 1)[1].split("?")[0]
    run_name = f"{name}_run"
    baseline_src = None if args.baseline_ref == "none" else baseline_source(args.baseline_ref)
    started = time.perf_counter()
    prepared = _worker(
        "prepare",
        {"src": str(baseline_src or PROJECT), "registry_individuals": args.registry_individuals},
        database=name,
        url=url,
    )
    print(
        f"registry: {prepared['individuals']:,} individuals "
        f"(prepared in {time.perf_counter() - started:,.1f} s)"
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    path = workdir / f"beneficiaries-{args.rows}.csv"
    started = time.perf_counter()
    file_generate(path, rows=args.rows, seed=args.seed, locations=prepared["locations"])
    size_mb = path.stat().st_size / 1024 / 1024
    print(
        f"file: {args.rows:,} rows × {len(HEADER)} columns, {size_mb:,.1f} MB, "
        f"generated in {time.perf_counter() - started:,.1f} s"
    )
    sides = [("baseline", baseline_src), ("ours", PROJECT)] if baseline_src else [("ours", PROJECT)]
    results: dict[str, dict] = {}
    for label, src in sides:
        _admin_execute(
            url,
            f'DROP DATABASE IF EXISTS "{run_name}"',
            f'CREATE DATABASE "{run_name}" TEMPLATE "{name}" STRATEGY FILE_COPY',
        )
        options = {
            "src": str(src),
            "path": str(path),
            "statements": args.statements,
            "row_baseline_rows": args.row_baseline_rows if label == "ours" else 0,
        }
        print(f"{label} ({src}):")
        try:
            results[label] = _worker("run", options, database=run_name, url=url)
        finally:
            _admin_execute(url, f'DROP DATABASE IF EXISTS "{run_name}"')
        print(_side_line(label, results[label]))
    mine = results["ours"]
    if args.index_usage:
        print("registry indexes (scans during ours, size):")
        for table, index, scans, size in mine["indexes"]:
            print(f"  {table:32} {index:55} {scans:>8,} {size / 1024 / 1024:>9,.1f} MB")
    base = results.get("baseline")
    if base:
        print(
            f"ours {mine['upload_s']} s against the baseline's {base['upload_s']} s "
            f"({base['upload_s'] / max(mine['upload_s'], 0.001):.2f}×): checks {mine['checks_s']} s against "
            f"{base['checks_s']} s, households {mine['households_s']} s against {base['households_s']} s, "
            "commit "
            f"{mine['commit_s']} s against {base['commit_s']} s"
        )
    row_baseline, copy = mine.get("row_baseline"), mine.get("raw_copy")
    our_rate = mine["rows"] / max(mine["upload_s"], 0.001)
    if row_baseline:
        base_rate = row_baseline["rows"] / max(row_baseline["seconds"], 0.001)
        print(
            f"per row: django-import-export ModelResource, {row_baseline['rows']:,} rows in "
            f"{row_baseline['seconds']} s, {base_rate:,.0f} rows/s (individuals only) -> ours is "
            f"{our_rate / base_rate:,.1f}× faster per row"
        )
    if copy:
        copy_rate = copy["rows"] / max(copy["seconds"], 0.001)
        print(
            f"raw COPY: {copy['rows']:,} rows into a bare table in {copy['seconds']} s, "
            f"{copy_rate:,.0f} rows/s "
            f"(physical limit; ours is {copy_rate / our_rate:,.1f}× slower)"
        )
    if not args.keep_file:
        path.unlink()
        workdir.rmdir()
    figures = {
        "registry_individuals": prepared["individuals"],
        "rows": mine["rows"],
        "file_mb": round(size_mb, 1),
        "upload_s": mine["upload_s"],
        "validate_s": mine["validate_s"],
        "checks_s": mine["checks_s"],
        "households_s": mine["households_s"],
        "commit_s": mine["commit_s"],
        "migrate_s": mine["migrate_s"],
        "rows_per_s": round(our_rate),
        "peak_mb": mine["peak_mb"],
        "worker_peak_mb": mine["worker_peak_mb"],
        "load_average_1m": mine["context"]["load_average_1m"],
        "shared_buffers": mine["context"]["shared_buffers"],
    }
    if base:
        figures.update(
            {
                "baseline_ref": args.baseline_ref,
                "baseline_upload_s": base["upload_s"],
                "baseline_checks_s": base["checks_s"],
                "baseline_households_s": base["households_s"],
                "baseline_commit_s": base["commit_s"],
                "speedup_vs_baseline": round(base["upload_s"] / max(mine["upload_s"], 0.001), 2),
            }
        )
    if row_baseline:
        figures["row_baseline_rows_per_s"] = round(row_baseline["rows"] / max(row_baseline["seconds"], 0.001))
    if copy:
        figures["copy_s"] = copy["seconds"]
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
