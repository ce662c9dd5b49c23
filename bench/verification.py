"""Benchmark: drawing a stratified verification sample from a payroll of 1,000,000 paid lines, set-based in
PostgreSQL, beside the Python way (read every id, random.sample per stratum, bulk_create the records).

    .venv/bin/python bench/verification.py [--lines 1000000] [--strata-depth 1]

Uses its own database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/h_verify_bench), dropped
and created again at each run. The lines come from one `INSERT ... SELECT generate_series` over 50
villages under 5 districts; the sample is 95 % / ±5 points (Cochran with the finite population
correction), stratified by district with proportional allocation, split among 3 verifiers.
ours = `payments.services.verification.verification_sample_draw` (one INSERT ... SELECT with window
functions ordering each stratum by md5(seed || id));
baseline = every paid line's id and district read into Python, `random.sample` per stratum, then
`bulk_create` of the records. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import defaultdict
from datetime import date
from urllib.parse import urlparse

from benchdb import bench_environment, database_recreate, peak_rss_mb, server_context

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/h_verify_bench"


def lines_by_sql(payroll, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    """`count` paid lines over 50 villages under 5 districts, in one statement; returns the districts."""
    from django.db import connection

    from registry.models import Location

    region = Location.objects.create(code="R", name="Region")
    villages, districts = [], []
    for d in range(5):
        district = Location.objects.create(code=f"D{d}", name=f"District {d}", parent=region)
        districts.append(district.pk)
        for v in range(10):
            villages.append(
                Location.objects.create(code=f"D{d}V{v}", name=f"Village {d}.{v}", parent=district).pk
            )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO payments_benefit
                (payroll_id, beneficiary_id, cycle_id, location_id, reference, amount, status, hold_reason,
                 amount_paid, transaction_id, failure_reason, evidence_agent, evidence_photo)
            SELECT %s, n, %s, (%s::bigint[])[1 + (n::bigint * 7919) %% %s],
                   'B-' || lpad(n::text, 9, '0'), 150, 'paid', '', 150, '', '', '', ''
            FROM generate_series(1, %s) AS n
            """,
            [payroll.pk, payroll.cycle_id, villages, len(villages), count],
        )
        cursor.execute("ANALYZE payments_benefit")
        cursor.execute("ANALYZE registry_location")
    return districts


def baseline_python(plan, size: int, verifier_ids: list[int]) -> int:  # type: ignore[no-untyped-def]
    """What most teams write: every id into Python, random.sample per stratum, bulk_create."""
    from payments.models import Benefit, BenefitStatus, VerificationRecord
    from registry.models import PATH_STEP

    depth = plan.strata_depth
    rows = Benefit.objects.filter(payroll=plan.payroll, status=BenefitStatus.PAID).values_list(
        "pk", "location_id", "location__path", "amount_paid"
    )
    strata: dict[str, list[tuple[int, int, str, object]]] = defaultdict(list)
    for row in rows.iterator(chunk_size=20_000):
        key = row[2][depth * (PATH_STEP + 1) : (depth + 1) * (PATH_STEP + 1)] if depth is not None else ""
        strata[key].append(row)
    total = sum(len(lines) for lines in strata.values())
    generator = random.Random(plan.seed)
    chosen = []
    for _key, lines in sorted(strata.items()):
        share = -(-size * len(lines) // total)
        chosen.extend(generator.sample(lines, min(share, len(lines))))
    records = [
        VerificationRecord(
            plan=plan,
            benefit_id=pk,
            location_id=location_id,
            stratum_id=int(path[depth * (PATH_STEP + 1) : depth * (PATH_STEP + 1) + PATH_STEP]),
            verifier_id=verifier_ids[index * len(verifier_ids) // len(chosen)],
            amount_paid=paid,
        )
        for index, (pk, location_id, path, paid) in enumerate(chosen)
    ]
    VerificationRecord.objects.bulk_create(records, batch_size=5_000)
    return len(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--strata-depth", type=int, default=1)
    options = parser.parse_args()

    url = bench_environment(DEFAULT_URL)
    database_recreate(url)

    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import transaction

    from payments.models import (
        PaymentCycle,
        PaymentPlan,
        Payroll,
        PayrollStatus,
        VerificationPlan,
        VerificationRecord,
    )
    from payments.services.verification import verification_planned_size, verification_sample_draw
    from programs.models import BenefitPlan, PlanType

    call_command("migrate", verbosity=0)
    print(f"Database {urlparse(url).path.lstrip('/')} created and migrated.", flush=True)
    admin = User.objects.create_superuser("bench", "bench@example.org", "bench-password-1")
    verifiers = [User.objects.create_user(f"verifier{i}", f"v{i}@example.org", "x").pk for i in range(3)]
    benefit_plan = BenefitPlan.objects.create(
        code="BENCH", name="Benchmark", plan_type=PlanType.HOUSEHOLD, start_date=date(2026, 1, 1)
    )
    payment_plan = PaymentPlan.objects.create(benefit_plan=benefit_plan, name="Monthly", amount_formula="150")
    cycle = PaymentCycle.objects.create(
        code="2026-01", start_date=date(2026, 1, 1), end_date=date(2026, 1, 31)
    )
    payroll = Payroll.objects.create(
        payment_plan=payment_plan,
        cycle=cycle,
        status=PayrollStatus.RECONCILED,
        payment_date=date(2026, 1, 15),
        created_by=admin,
    )
    started = time.monotonic()
    lines_by_sql(payroll, options.lines)
    print(f"{options.lines:,} paid lines written in {time.monotonic() - started:.1f} s.", flush=True)

    plan = VerificationPlan.objects.create(
        payroll=payroll, strata_depth=options.strata_depth, created_by=admin
    )
    size = verification_planned_size(plan, options.lines)

    started = time.monotonic()
    with transaction.atomic():
        drawn = verification_sample_draw(plan=plan, size=size, verifier_ids=verifiers)
    ours_s = time.monotonic() - started
    print(f"ours: {drawn:,} lines drawn (target {size}) in {ours_s:.2f} s, set-based", flush=True)

    # The same seed gives the same sample: drawn again, compared.
    again = VerificationPlan.objects.create(
        payroll=payroll, strata_depth=options.strata_depth, created_by=admin, seed=plan.seed
    )
    with transaction.atomic():
        verification_sample_draw(plan=again, size=size, verifier_ids=verifiers)
    same = set(VerificationRecord.objects.filter(plan=plan).values_list("benefit_id", flat=True)) == set(
        VerificationRecord.objects.filter(plan=again).values_list("benefit_id", flat=True)
    )
    print(
        f"drawn again with the same seed: {'the same sample' if same else 'A DIFFERENT SAMPLE'}", flush=True
    )

    baseline_plan = VerificationPlan.objects.create(
        payroll=payroll, strata_depth=options.strata_depth, created_by=admin
    )
    started = time.monotonic()
    with transaction.atomic():
        baseline_drawn = baseline_python(baseline_plan, size, verifiers)
    baseline_s = time.monotonic() - started
    print(f"baseline: {baseline_drawn:,} lines drawn in {baseline_s:.2f} s (ids into Python, random.sample)")
    print(
        json.dumps(
            {
                "lines": options.lines,
                "strata_depth": options.strata_depth,
                "sample_target": size,
                "sample_drawn": drawn,
                "sample_draw_s": round(ours_s, 2),
                "baseline_s": round(baseline_s, 2),
                "same_seed_same_sample": same,
                "peak_rss_mb": peak_rss_mb(),
                **server_context(),
            }
        )
    )


if __name__ == "__main__":
    main()
