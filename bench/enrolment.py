"""Benchmark: enrolling 500,000 households into a benefit plan on PostgreSQL, beside the per-row ORM way.

    .venv/bin/python bench/enrolment.py [--households 500000] [--baseline-rows 10000] [--generator]
    .venv/bin/python bench/enrolment.py --individuals 1000000 [--baseline-rows 10000] [--fresh]

Uses its own database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/h_bench_enrol),
dropped and created again at each run. Households come from one `INSERT ... SELECT generate_series`
(or, with --generator, from the demo data generator, with their members). Then:
ours = the approved enrolment's executor (one INSERT ... SELECT of the beneficiaries, no history row each: the
task is the audit), and closing the plan (every active beneficiary graduates: one INSERT ... SELECT of
status-change records and one UPDATE);
baseline = what most teams write, a loop of `exists()` + `Beneficiary.objects.create` per household
(with its simple-history row), timed on a sample and extrapolated. The last line is one JSON object.

With --individuals N: an individual plan at national scale (issue 24). The database (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/h_bench_enrol_individuals) is kept between runs (--fresh drops it) and
filled by `manage.py generate_demo_data` up to N people; the programmes' tables are emptied at each run.
A plan with a data schema is given one region's people first (the approved enrolment with a location
filter), then everyone the eligibility expression `age >= 0 and household_size >= 1` picks (compiled to
SQL: the household size through the person's current membership) is enrolled by the approved enrolment's
executor, the region's people skipped as already enrolled. `enrol_individuals_s` is that executor, its
commit and the deferred foreign-key checks included; the baseline is the per-row loop on a sample.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from urllib.parse import urlparse

from benchdb import bench_environment, database_prepare, database_recreate, peak_rss_mb, server_context

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/h_bench_enrol"
INDIVIDUALS_URL = "postgres://postgres@127.0.0.1:5432/h_bench_enrol_individuals"
ELIGIBILITY = "age >= 0 and household_size >= 1"
PLAN_SCHEMA = {
    "type": "object",
    "properties": {
        "school_attendance": {"type": "number", "minimum": 0, "maximum": 1, "default": 1},
        "children": {"type": "integer", "minimum": 0, "default": 0},
    },
}


def households_by_sql(count: int) -> None:
    """Households spread over 50 villages under 5 districts, in one statement."""
    from django.db import connection

    from registry.models import Location

    region = Location.objects.create(code="R", name="Region")
    villages = []
    for d in range(5):
        district = Location.objects.create(code=f"D{d}", name=f"District {d}", parent=region)
        for v in range(10):
            villages.append(
                Location.objects.create(code=f"D{d}V{v}", name=f"Village {d}.{v}", parent=district).pk
            )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO registry_household
                (code, location_id, address, data, size, registration_date, created_at, updated_at)
            SELECT 'HH-' || lpad(n::text, 8, '0'), (%s::bigint[])[1 + n %% %s], '', '{}'::jsonb, 1 + n %% 7,
                   CURRENT_DATE, now(), now()
            FROM generate_series(1, %s) AS n
            """,
            [villages, len(villages), count],
        )
        cursor.execute("ANALYZE registry_household")


def baseline_per_row(*, plan, rows: int) -> float:  # type: ignore[no-untyped-def]
    """The plain way: per household, check it is not enrolled, then `objects.create` (and its history row)."""
    from django.utils import timezone

    from programs.models import Beneficiary, BeneficiaryStatus
    from registry.models import Household

    started = time.monotonic()
    for household in Household.objects.order_by("pk")[:rows].iterator(chunk_size=2000):
        if Beneficiary.objects.filter(benefit_plan=plan, household=household).exists():
            continue
        now = timezone.now()
        Beneficiary.objects.create(
            benefit_plan=plan,
            household=household,
            location_id=household.location_id,
            status=BeneficiaryStatus.ACTIVE,
            status_changed_at=now,
            enrolled_at=now,
        )
    return time.monotonic() - started


def baseline_individuals(*, plan, rows: int) -> float:  # type: ignore[no-untyped-def]
    """The plain way for people: per person, check it is not enrolled, then `objects.create` (and its
    history row)."""
    from django.utils import timezone

    from programs.models import Beneficiary, BeneficiaryStatus
    from registry.models import Individual

    started = time.monotonic()
    for individual in Individual.objects.order_by("pk")[:rows].iterator(chunk_size=2000):
        if Beneficiary.objects.filter(benefit_plan=plan, individual=individual).exists():
            continue
        now = timezone.now()
        Beneficiary.objects.create(
            benefit_plan=plan,
            individual=individual,
            location_id=individual.location_id,
            status=BeneficiaryStatus.ACTIVE,
            status_changed_at=now,
            enrolled_at=now,
            data={"school_attendance": 1, "children": 0},
        )
    return time.monotonic() - started


def backend_cpu_s() -> float | None:
    """CPU seconds this connection's PostgreSQL backend has used (a local server), else None: a figure the
    machine's load does not stretch the way it stretches wall time."""
    from pathlib import Path

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def individuals_main(options: argparse.Namespace) -> None:
    """An individual plan at national scale (module docstring)."""
    # Long on purpose: one benchmark run read top to bottom (set-up, ours, baseline, figures).
    url = bench_environment(INDIVIDUALS_URL)
    database_prepare(url, fresh=options.fresh)

    import django

    django.setup()
    from datetime import date
    from urllib.parse import urlencode

    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection

    from programs.models import Beneficiary, BeneficiaryStatus, BenefitPlan, PlanType
    from programs.services import EnrolmentSelection, enrolment_preview, plan_enrol
    from registry.models import Individual, Location

    call_command("migrate", verbosity=0)
    have = Individual.objects.count()
    if have < options.individuals * 0.95:
        households = round(options.individuals / 4.53)
        print(f"Registry holds {have:,} people; generating {households:,} households...", flush=True)
        started = time.monotonic()
        call_command("generate_demo_data", households=households, seed=options.seed)
        print(f"generated in {time.monotonic() - started:.0f} s", flush=True)
    with connection.cursor() as cursor:
        # Each run starts from no beneficiaries, as a first national enrolment does.
        cursor.execute(
            "TRUNCATE programs_beneficiary, programs_beneficiarystatuschange, "
            "programs_historicalbeneficiary CASCADE"
        )
        cursor.execute("VACUUM ANALYZE programs_beneficiary")
        cursor.execute("ANALYZE registry_individual")
    individuals = Individual.objects.count()
    print(f"{individuals:,} individuals in the registry", flush=True)

    admin, _ = User.objects.get_or_create(
        username="bench-enrol", defaults={"is_staff": True, "is_superuser": True}
    )
    stamp = int(time.time())
    plan = BenefitPlan.objects.create(
        code=f"IND-{stamp}",
        name="Benchmark individual plan",
        plan_type=PlanType.INDIVIDUAL,
        start_date=date(2026, 1, 1),
        status="active",
        beneficiary_schema=PLAN_SCHEMA,
    )
    region = Location.objects.filter(depth=0).order_by("pk").first()
    data = {"school_attendance": 1, "children": 0}
    started = time.monotonic()
    first = plan_enrol(
        plan=plan,
        user=admin,
        selection=EnrolmentSelection(filters=urlencode({"location": region.pk})),
        status=BeneficiaryStatus.ACTIVE,
        data=data,
    )
    region_s = time.monotonic() - started
    print(f"{region.name}: {first['enrolled']:,} people enrolled first, in {region_s:.1f} s", flush=True)

    selection = EnrolmentSelection(expression=ELIGIBILITY)
    started = time.monotonic()
    preview = enrolment_preview(user=admin, plan=plan, selection=selection)
    preview_s = time.monotonic() - started
    print(
        f"preview ({ELIGIBILITY}): {preview.to_enrol:,} to enrol, {preview.already_enrolled:,} already, "
        f"in {preview_s:.1f} s",
        flush=True,
    )
    cpu_before = backend_cpu_s()
    started = time.monotonic()
    result = plan_enrol(
        plan=plan, user=admin, selection=selection, status=BeneficiaryStatus.ACTIVE, data=data
    )
    ours_s = time.monotonic() - started
    cpu_after = backend_cpu_s()
    ours_cpu_s = None if cpu_before is None or cpu_after is None else round(cpu_after - cpu_before, 2)
    total = Beneficiary.objects.filter(benefit_plan=plan).count()
    assert result["enrolled"] == preview.to_enrol and total == preview.selected, (result, preview, total)
    print(
        f"ours: {result['enrolled']:,} people enrolled in {ours_s:.1f} s "
        f"({result['enrolled'] / ours_s:,.0f}/s), "
        f"{preview.already_enrolled:,} already enrolled skipped; the plan holds {total:,}; "
        f"CPU of its database backend: {ours_cpu_s} s (load average {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    rss = peak_rss_mb()

    baseline_plan = BenefitPlan.objects.create(
        code=f"BASE-{stamp}",
        name="Baseline",
        plan_type=PlanType.INDIVIDUAL,
        start_date=date(2026, 1, 1),
        status="active",
        beneficiary_schema=PLAN_SCHEMA,
    )
    rows = min(options.baseline_rows, individuals)
    baseline_s = baseline_individuals(plan=baseline_plan, rows=rows)
    extrapolated = baseline_s / rows * result["enrolled"]
    print(
        f"baseline (exists() + objects.create per person, with history): {rows:,} in {baseline_s:.1f} s, "
        f"{rows / baseline_s:,.0f}/s; {result['enrolled']:,} would take {extrapolated:,.0f} s "
        f"({extrapolated / ours_s:.0f}x ours)",
        flush=True,
    )
    context = server_context()
    print(
        json.dumps(
            {
                "individuals": individuals,
                "enrol_individuals": result["enrolled"],
                "enrol_individuals_s": round(ours_s, 2),
                "enrol_individuals_backend_cpu_s": ours_cpu_s,
                "enrol_individuals_already": preview.already_enrolled,
                "enrol_region_first_s": round(region_s, 2),
                "preview_s": round(preview_s, 2),
                "baseline_individuals_s_extrapolated": round(extrapolated, 1),
                "baseline_rows": rows,
                "baseline_s": round(baseline_s, 1),
                "peak_rss_mb": rss,
                "load_average_1m": context["load_average_1m"],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=500_000)
    parser.add_argument("--baseline-rows", type=int, default=10_000)
    parser.add_argument(
        "--generator", action="store_true", help="households from the demo data generator (slower to set up)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--individuals", type=int, default=0, help="enrol this many people into an individual plan instead"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="with --individuals: generate the registry again"
    )
    options = parser.parse_args()
    if options.individuals:
        individuals_main(options)
        return

    url = bench_environment(DEFAULT_URL)
    database_recreate(url)

    import django

    django.setup()
    from datetime import date

    from django.contrib.auth.models import User
    from django.core.management import call_command

    from programs.models import Beneficiary, BeneficiaryStatus, BenefitPlan, PlanType
    from programs.services import EnrolmentSelection, enrolment_preview, plan_close, plan_enrol
    from registry.models import Household

    call_command("migrate", verbosity=0)
    print(f"Database {urlparse(url).path.lstrip('/')} created and migrated.", flush=True)
    started = time.monotonic()
    if options.generator:
        from fixtures.generator import demo_data_generate

        demo_data_generate(households=options.households, seed=options.seed, stdout=sys.stdout)
    else:
        households_by_sql(options.households)
    households = Household.objects.count()
    print(f"{households:,} households registered in {time.monotonic() - started:.1f} s.", flush=True)

    admin = User.objects.create_superuser("bench", "bench@example.org", "bench-password-1")
    plan = BenefitPlan.objects.create(
        code="BENCH",
        name="Benchmark cash transfer",
        plan_type=PlanType.HOUSEHOLD,
        start_date=date(2026, 1, 1),
        status="active",
        max_beneficiaries=households,
    )
    selection = EnrolmentSelection()

    started = time.monotonic()
    preview = enrolment_preview(user=admin, plan=plan, selection=selection)
    preview_s = time.monotonic() - started
    print(
        f"preview: {preview.to_enrol:,} to enrol, {preview.already_enrolled:,} already, in {preview_s:.2f} s",
        flush=True,
    )

    started = time.monotonic()
    result = plan_enrol(plan=plan, user=admin, selection=selection, status=BeneficiaryStatus.ACTIVE)
    ours_s = time.monotonic() - started
    enrolled = Beneficiary.objects.filter(benefit_plan=plan).count()
    assert result["enrolled"] == enrolled == households, (result, enrolled, households)
    print(
        f"ours: {enrolled:,} households enrolled in {ours_s:.1f} s, {enrolled / ours_s:,.0f}/s",
        flush=True,
    )

    started = time.monotonic()
    closed = plan_close(plan=plan, reason="benchmark", user=admin)
    close_s = time.monotonic() - started
    print(f"closing the plan: {closed['graduated']:,} beneficiaries graduated in {close_s:.1f} s", flush=True)
    rss = peak_rss_mb()

    baseline_plan = BenefitPlan.objects.create(
        code="BASE",
        name="Baseline",
        plan_type=PlanType.HOUSEHOLD,
        start_date=date(2026, 1, 1),
        status="active",
    )
    rows = min(options.baseline_rows, households)
    baseline_s = baseline_per_row(plan=baseline_plan, rows=rows)
    extrapolated = baseline_s / rows * households
    print(
        f"baseline (exists() + objects.create per household, with history): {rows:,} in {baseline_s:.1f} s, "
        f"{rows / baseline_s:,.0f}/s; {households:,} would take {extrapolated:,.0f} s "
        f"({extrapolated / ours_s:.0f}x ours)",
        flush=True,
    )
    print(
        json.dumps(
            {
                "households": households,
                "ours_s": round(ours_s, 2),
                "preview_s": round(preview_s, 2),
                "close_graduate_s": round(close_s, 2),
                "baseline_s_extrapolated": round(extrapolated, 1),
                "baseline_rows": rows,
                "baseline_s": round(baseline_s, 1),
                "peak_rss_mb": rss,
            }
        )
    )


if __name__ == "__main__":
    main()
