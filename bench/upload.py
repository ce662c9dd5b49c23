"""Benchmark: a beneficiary file validated and committed through the upload pipeline, on PostgreSQL.

    .venv/bin/python bench/upload.py --rows 1000000 [--baseline-rows 20000] [--seed 7] [--keep-file]
        [--statements]

Uses its own database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/h_bench_uploads), created and
migrated when missing; the registry tables are emptied before each run. One generated CSV file (households of
1 to 7 people, 16 columns) goes through, in the same run:
  1. ours: validate (stream, COPY into staging, set-based checks) + approval + commit (INSERT ... SELECT);
  2. the baseline: a plain django-import-export ModelResource of individuals on the first --baseline-rows rows
     (row by row, as most Django teams would write it), compared per row;
  3. the physical limit: a raw COPY of the same file into a bare table.
Peak memory is the process's maximum resident size after our run (before the baseline loads its slice),
and the largest parsing worker's (the file is parsed in forked processes on PostgreSQL).
With --statements, the commit's SQL statements that took 0.2 s or more are printed with their time, and the
COMMIT's own time (the end of the transaction: WAL flush and any check still deferred).
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
            "registry_individual, registry_household, uploads_stagedrow, uploads_stagederror RESTART IDENTITY CASCADE"
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
    from contextlib import nullcontext

    from django.db import connection

    from approvals.services import task_approve, task_execute_in_job
    from uploads.models import BatchState, ImportBatch
    from uploads.services import batch_commit_request, batch_validate

    def progress(**kwargs: object) -> None:
        return None

    batch = ImportBatch(benefit_plan=plan, original_name=path.name, uploaded_by=maker)
    batch.file.name = str(path)
    batch.save()
    started = time.perf_counter()
    batch = batch_validate(batch=batch, progress=progress, path=path)
    validated = time.perf_counter()
    if batch.state != BatchState.VALIDATED:
        raise SystemExit(f"Validation failed: {batch.error}")
    task = batch_commit_request(batch=batch, user=maker)
    task = task_approve(task=task, user=checker)
    if timer:
        timer.commit_timed(connection)
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
        "commit_s": round(committed - validated, 2),
        "total_s": round(committed - started, 2),
    }


def baseline(path: Path, *, rows: int) -> dict[str, float]:
    """django-import-export, row by row: a ModelResource of individuals with the location looked up by code."""
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep-file", action="store_true")
    parser.add_argument("--statements", action="store_true", help="time the commit's statements")
    args = parser.parse_args()

    url = bench_environment(DEFAULT_URL)
    database_prepare(url, fresh=False)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    maker, checker, plan = actors_and_plan()
    registry_empty()
    locations = [f"R{region}-D{district}" for region in range(10) for district in range(10)]
    workdir = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    path = workdir / f"beneficiaries-{args.rows}.csv"
    started = time.perf_counter()
    file_generate(path, rows=args.rows, seed=args.seed, locations=locations)
    size_mb = path.stat().st_size / 1024 / 1024
    print(
        f"file: {args.rows:,} rows × {len(HEADER)} columns, {size_mb:,.1f} MB, generated in {time.perf_counter() - started:,.1f} s"
    )

    from django.conf import settings

    settings.UPLOADS_MAX_FILE_BYTES = max(path.stat().st_size + 1, 150 * 1024 * 1024)
    context = server_context()
    print("server and machine:", ", ".join(f"{key} {value}" for key, value in context.items()))
    timer = StatementTimer() if args.statements else None
    mine = ours(path, maker=maker, checker=checker, plan=plan, timer=timer)
    if timer:
        timer.print()
    peak = peak_rss_mb()
    peak_workers = peak_rss_children_mb()
    our_rate = mine["rows"] / mine["total_s"]
    print(
        f"ours:     {mine['rows']:,} rows validated in {mine['validate_s']} s + committed in {mine['commit_s']} s "
        f"= {mine['total_s']} s, {our_rate:,.0f} rows/s ({mine['new']:,} new people, {mine['households']:,} households, "
        f"{mine['errors']:,} errors); peak memory {peak} MB (largest parsing worker {peak_workers} MB)"
    )
    registry_empty()
    base = baseline(path, rows=min(args.baseline_rows, args.rows))
    base_rate = base["rows"] / max(base["seconds"], 0.001)
    print(
        f"baseline: django-import-export ModelResource, {base['rows']:,} rows in {base['seconds']} s, "
        f"{base_rate:,.0f} rows/s (individuals only) -> ours is {our_rate / base_rate:,.1f}× faster per row"
    )
    registry_empty()
    copy = raw_copy(path)
    copy_rate = copy["rows"] / max(copy["seconds"], 0.001)  # a tiny file copies in under a millisecond
    print(
        f"raw COPY: {copy['rows']:,} rows into a bare table in {copy['seconds']} s, {copy_rate:,.0f} rows/s "
        f"(physical limit; ours is {copy_rate / our_rate:,.1f}× slower)"
    )
    if not args.keep_file:
        path.unlink()
        workdir.rmdir()
    print(
        json.dumps(
            {
                "rows": mine["rows"],
                "file_mb": round(size_mb, 1),
                "ours_validate_s": mine["validate_s"],
                "ours_commit_s": mine["commit_s"],
                "ours_total_s": mine["total_s"],
                "ours_rows_per_s": round(our_rate),
                "ours_peak_mb": peak,
                "ours_worker_peak_mb": peak_workers,
                "baseline_rows": base["rows"],
                "baseline_s": base["seconds"],
                "baseline_rows_per_s": round(base_rate),
                "speedup_vs_baseline": round(our_rate / base_rate, 1),
                "copy_s": copy["seconds"],
                "copy_rows_per_s": round(copy_rate),
                "load_average_1m": context["load_average_1m"],
                "shared_buffers": context["shared_buffers"],
            }
        )
    )


if __name__ == "__main__":
    main()
