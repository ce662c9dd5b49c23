"""Benchmark: the demo data generator writing 1,000,000 individuals on PostgreSQL, beside the per-row ORM way.

    .venv/bin/python bench/generate.py [--households 221000] [--baseline-individuals 10000]

Uses its own database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/h_bench_generate),
dropped and created again at each run. The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from urllib.parse import urlparse

from benchdb import bench_environment, database_recreate, peak_rss_mb

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/h_bench_generate"


def baseline_per_row(*, individuals: int, seed: int) -> tuple[float, int]:
    """The plain way: one `objects.create` (and its history row) per household, person, membership, ID."""
    from django.utils import timezone

    from fixtures import generator
    from registry.bulk_copy import RegistryChunk
    from registry.models import Household, HouseholdMember, IdentityDocument, Individual

    rng = random.Random(seed)
    draw = generator.HouseholdDraw(rng=rng, villages=generator.load_villages(rng), as_of=timezone.localdate())
    first_serial = generator.next_household_serial()
    chunk = RegistryChunk()
    placeholder = 0
    while len(chunk.individuals) < individuals:
        size = rng.choices(range(1, 13), weights=generator.SIZE_WEIGHTS)[0]
        household_number = len(chunk.households)
        draw.household(
            chunk,
            serial=first_serial + household_number,
            household_id=-(household_number + 1),
            person_ids=[-(placeholder + i + 1) for i in range(size)],
            size=size,
        )
        placeholder += size
    sizes: dict[int, int] = {}
    for member in chunk.members:
        if member[5] is None:
            sizes[member[0]] = sizes.get(member[0], 0) + 1

    started = time.monotonic()
    households, people = {}, {}
    for key, code, village, address, lat, lon, registered, data in chunk.households:
        households[key] = Household.objects.create(
            code=code,
            location_id=int(village),
            address=address,
            latitude=lat,
            longitude=lon,
            data=json.loads(data),
            size=sizes[key],
            registration_date=registered,
        )
    for values in chunk.individuals:
        people[values[0]] = Individual.objects.create(
            given_name=values[1],
            family_name=values[2],
            other_names=values[3],
            sex=values[4],
            birth_date=values[5],
            birth_date_estimated=values[6],
            phone=values[7],
            location_id=int(values[8]),
            registration_date=values[9],
            registration_source=values[10],
            status=values[11],
            data=json.loads(values[12]),
        )
    for household, person, role, primary, start, end in chunk.members:
        HouseholdMember.objects.create(
            household=households[household],
            individual=people[person],
            role=role,
            is_primary_recipient=primary,
            start_date=start,
            end_date=end,
        )
    for person, doc_type, value in chunk.documents:
        IdentityDocument.objects.create(individual=people[person], doc_type=doc_type, value=value)
    return time.monotonic() - started, len(chunk.individuals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=221_000, help="about 4.5 individuals each")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--baseline-individuals", type=int, default=10_000)
    options = parser.parse_args()

    url = bench_environment(DEFAULT_URL)
    database_recreate(url)

    import django

    django.setup()
    from django.core.management import call_command

    from fixtures.generator import demo_data_generate

    call_command("migrate", verbosity=0)
    print(f"Database {urlparse(url).path.lstrip('/')} created and migrated.", flush=True)

    result = demo_data_generate(households=options.households, seed=options.seed, stdout=sys.stdout)
    rss = peak_rss_mb()
    individuals = result.counts["individuals"]
    rows = sum(value for name, value in result.counts.items() if name != "locations")
    print(
        f"ours: {individuals:,} individuals ({rows:,} rows in 4 tables) in {result.seconds:.1f} s, "
        f"{individuals / result.seconds:,.0f} individuals/s, peak RSS {rss} MB",
        flush=True,
    )

    baseline_s, baseline_rows = baseline_per_row(
        individuals=options.baseline_individuals, seed=options.seed + 1
    )
    extrapolated = baseline_s / baseline_rows * individuals
    print(
        f"baseline (objects.create per row, with history): "
        f"{baseline_rows:,} individuals in {baseline_s:.1f} s, "
        f"{baseline_rows / baseline_s:,.0f} individuals/s; {individuals:,} individuals would take "
        f"{extrapolated:,.0f} s ({extrapolated / result.seconds:.0f}x ours)",
        flush=True,
    )
    print(
        json.dumps(
            {
                "individuals": individuals,
                "households": result.counts["households"],
                "ours_s": result.seconds,
                "baseline_s_extrapolated": round(extrapolated, 1),
                "baseline_rows": baseline_rows,
                "baseline_s": round(baseline_s, 1),
                "peak_rss_mb": rss,
            }
        )
    )


if __name__ == "__main__":
    main()
