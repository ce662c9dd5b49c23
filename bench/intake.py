"""Benchmark: an ODK Central export (zip of the submissions CSV and the members CSV) of N households
converted, validated and committed through the upload pipeline, on PostgreSQL.

    .venv/bin/python bench/intake.py [--households 100000] [--seed 7] [--keep-file]

DATABASE_URL (default postgres://postgres@127.0.0.1:5432/h_bench_intake) names the bench's own database
(created and migrated when missing; its registry and staging tables are emptied before each side). The
same generated households (1 to 7 members, custom fields, national ids) go through:
  1. the baseline: the same people already reshaped into the upload template (one CSV, what a clerk would
     have to produce by hand today), through the upload pipeline: validate, approve, commit;
  2. ours: the field form's export (`intake.services.field_import`: read the zip, join the repeat on
     PARENT_KEY, map the columns, write the upload's input), then the same pipeline.
`convert_s` is the conversion alone; `validate_s` and `commit_s` the pipeline's; `total_s` = all three.
Goal (issue 18): 100,000 households validated and committed in under 60 s. The last line printed is one
JSON object with the figures.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import tempfile
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

from benchdb import bench_environment, database_prepare, peak_rss_mb, server_context

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/h_bench_intake"
GOAL_S = 60.0
GIVEN = ["Amina", "Moussa", "Fatou", "Ibrahim", "Aissata", "Oumar", "Mariam", "Sekou", "Awa", "Issa"]
FAMILY = ["Diallo", "Traore", "Keita", "Coulibaly", "Sow", "Barry", "Camara", "Toure", "Sylla", "Kone"]
ROLES_AFTER_HEAD = ["spouse", "child", "child", "child", "parent", "grandchild"]
EDUCATION = ["none", "primary", "secondary", "tertiary"]
HOUSEHOLD_COLUMNS = [
    "household_code",
    "location_code",
    "hh_monthly_income",
    "hh_water_source",
    "plan_vulnerability",
]
MEMBER_COLUMNS = [
    "given_name",
    "family_name",
    "sex",
    "birth_date",
    "national_id",
    "household_role",
    "ind_education",
    "ind_disability",
]
UPLOAD_HEADER = [
    "household_code",
    "location_code",
    "hh.monthly_income",
    "hh.water_source",
    "plan.vulnerability",
    "given_name",
    "family_name",
    "sex",
    "birth_date",
    "national_id",
    "household_role",
    "ind.education",
    "ind.disability",
]


def households_generate(count: int, *, seed: int, locations: list[str]):  # type: ignore[no-untyped-def]
    """(key, household cells, member rows) of `count` households."""
    rng = random.Random(seed)
    today = date(2026, 1, 1)
    person = 0
    for number in range(count):
        key = f"uuid:{seed:04d}{number:012d}"
        family = rng.choice(FAMILY)
        household = [
            f"IK{number:08d}",
            rng.choice(locations),
            str(rng.randrange(0, 5000)),
            rng.choice(["piped", "well", "surface"]),
            rng.choice(["low", "high"]),
        ]
        members = []
        for position in range(rng.randint(1, 7)):
            person += 1
            role = "head" if position == 0 else ROLES_AFTER_HEAD[position - 1]
            birth = today - timedelta(days=rng.randrange(365, 365 * 80))
            members.append(
                [
                    rng.choice(GIVEN),
                    family,
                    rng.choice("FM"),
                    birth.isoformat(),
                    f"IKN{person:09d}",
                    role,
                    rng.choice(EDUCATION),
                    rng.choice(["yes", "no"]),
                ]
            )
        yield key, household, members


def export_write(path: Path, households: list) -> None:  # type: ignore[type-arg]
    """ODK Central's export: `<form>.csv` (KEY) and `<form>-members.csv` (PARENT_KEY, KEY), zipped."""
    main, repeat = io.StringIO(), io.StringIO()
    main_writer, repeat_writer = csv.writer(main), csv.writer(repeat)
    main_writer.writerow(["SubmissionDate", *HOUSEHOLD_COLUMNS, "meta-instanceID", "KEY"])
    repeat_writer.writerow([*MEMBER_COLUMNS, "PARENT_KEY", "KEY"])
    for key, household, members in households:
        main_writer.writerow(["2026-11-30T10:00:00.000Z", *household, key, key])
        for index, member in enumerate(members, start=1):
            repeat_writer.writerow([*member, key, f"{key}/members[{index}]"])
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bench_survey.csv", main.getvalue())
        archive.writestr("bench_survey-members.csv", repeat.getvalue())


def template_write(path: Path, households: list) -> None:  # type: ignore[type-arg]
    """The same people in the upload template (the baseline's input)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(UPLOAD_HEADER)
        for _key, household, members in households:
            for member in members:
                writer.writerow([*household, *member])


def registry_empty() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE programs_beneficiary, registry_householdmember, registry_identitydocument, "
            "registry_individual, registry_household, uploads_stagedrow, uploads_stagederror "
            "RESTART IDENTITY CASCADE"
        )


def _commit(batch, *, maker, checker) -> float:  # type: ignore[no-untyped-def]
    from approvals.services import task_approve, task_execute_in_job
    from uploads.models import BatchState
    from uploads.services import batch_commit_request

    if batch.state != BatchState.VALIDATED:
        raise SystemExit(f"Validation failed: {batch.error}")
    task = task_approve(task=batch_commit_request(batch=batch, user=maker), user=checker)
    started = time.perf_counter()
    task_execute_in_job(task_id=task.pk, progress=lambda **kwargs: None)
    elapsed = time.perf_counter() - started
    batch.refresh_from_db()
    if batch.state != BatchState.COMMITTED:
        task.refresh_from_db()
        raise SystemExit(f"Commit failed: {task.error}")
    return elapsed


def baseline(path: Path, *, maker, checker, plan) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """The upload template file through the upload pipeline."""
    from django.core.files import File

    from uploads.services import batch_create, batch_validate

    started = time.perf_counter()
    with path.open("rb") as handle:
        batch = batch_create(user=maker, plan=plan, file=File(handle, name=path.name), background=False)
    batch = batch_validate(batch=batch, progress=lambda **kwargs: None)
    validated = time.perf_counter()
    commit_s = _commit(batch, maker=maker, checker=checker)
    return {
        "rows": batch.total_rows,
        "new": batch.new_rows,
        "errors": batch.error_rows,
        "households": batch.new_households,
        "validate_s": round(validated - started, 2),
        "commit_s": round(commit_s, 2),
        "total_s": round(validated - started + commit_s, 2),
    }


def ours(path: Path, *, maker, checker, plan) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """The ODK Central export: converted by the field form's mapping, then the same pipeline."""
    from django.core.files import File

    from intake.models import FieldForm
    from intake.services import field_form_create, field_import
    from uploads.services import batch_validate

    form = FieldForm.objects.filter(form_id="bench_survey", version="1").first() or field_form_create(
        user=maker, plan=plan, form_id="bench_survey", version="1", title="Bench survey"
    )
    started = time.perf_counter()
    with path.open("rb") as handle:
        batch = field_import(user=maker, form=form, files=[File(handle, name=path.name)], background=False)
    converted = time.perf_counter()
    batch = batch_validate(batch=batch, progress=lambda **kwargs: None)
    validated = time.perf_counter()
    commit_s = _commit(batch, maker=maker, checker=checker)
    return {
        "rows": batch.total_rows,
        "new": batch.new_rows,
        "errors": batch.error_rows,
        "households": batch.new_households,
        "convert_s": round(converted - started, 2),
        "validate_s": round(validated - converted, 2),
        "commit_s": round(commit_s, 2),
        "total_s": round(validated - started + commit_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep-file", action="store_true")
    args = parser.parse_args()

    url = bench_environment(DEFAULT_URL)
    database_prepare(url, fresh=False)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from upload import actors_and_plan  # the upload bench's actors, locations and plan

    call_command("migrate", verbosity=0)
    maker, checker, plan = actors_and_plan()
    locations = [f"R{region}-D{district}" for region in range(10) for district in range(10)]
    households = list(households_generate(args.households, seed=args.seed, locations=locations))
    members = sum(len(item[2]) for item in households)
    folder = Path(tempfile.mkdtemp(prefix="bench-intake-"))
    export_path, template_path = folder / "bench_survey.zip", folder / "bench_survey-template.csv"
    export_write(export_path, households)
    template_write(template_path, households)
    del households
    settings.UPLOADS_MAX_FILE_BYTES = max(template_path.stat().st_size * 2, 150 * 1024 * 1024)
    print(
        f"{args.households:,} households, {members:,} members; "
        f"export {export_path.stat().st_size / 1e6:,.1f} MB"
    )

    registry_empty()
    base = baseline(template_path, maker=maker, checker=checker, plan=plan)
    print(
        f"baseline (upload template through the pipeline): validate {base['validate_s']} s, "
        f"commit {base['commit_s']} s, total {base['total_s']} s; "
        f"{base['new']:,} new, {base['errors']:,} errors"
    )
    registry_empty()
    mine = ours(export_path, maker=maker, checker=checker, plan=plan)
    print(
        f"ours (ODK Central export): convert {mine['convert_s']} s, validate {mine['validate_s']} s, "
        f"commit {mine['commit_s']} s, total {mine['total_s']} s; "
        f"{mine['new']:,} new, {mine['errors']:,} errors "
        f"(goal < {GOAL_S:.0f} s: {'met' if mine['total_s'] < GOAL_S else 'NOT met'})"
    )
    registry_empty()
    if not args.keep_file:
        export_path.unlink()
        template_path.unlink()
        folder.rmdir()
    print(
        json.dumps(
            {
                "bench": "intake",
                "households": args.households,
                "members": members,
                "ours": mine,
                "baseline": base,
                "goal_s": GOAL_S,
                "goal_met": mine["total_s"] < GOAL_S,
                "peak_mb": peak_rss_mb(),
                "context": server_context(),
            }
        )
    )


if __name__ == "__main__":
    main()
