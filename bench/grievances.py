"""Benchmark: the ticket list (unfiltered, filtered, an officer's) and the SLA job at 1,000,000 tickets.

    .venv/bin/python bench/grievances.py [--tickets 1000000] [--runs 7] [--fresh]

Uses its own PostgreSQL database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/h_griev_bench):
created and migrated when missing, filled set-based (one INSERT ... SELECT over generate_series) with tickets
in every state over 400 days, kept between runs unless --fresh. List times are whole admin requests through
Django's test Client (median of --runs). Baselines in the same run: `baseline_full_count_ms` is the COUNT(*)
a counting paginator would add to every page (ours never counts the table), and `baseline_sla_loop_s` is the
SLA job done per ticket (load, save, one event each), timed over a sample of 2,000 tickets in a rolled-back
transaction and scaled to the number our job marked. Goals: lists < 500 ms, SLA job < 30 s.
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from benchdb import bench_environment, database_prepare, peak_rss_mb, server_context

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/h_griev_bench"
LOOP_SAMPLE = 2_000


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm: connections, templates, caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def get_ok(client, url: str) -> Callable[[], object]:  # type: ignore[no-untyped-def]
    def fetch() -> object:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
        return response

    return fetch


GENERATE = """
INSERT INTO grievances_ticket (
    number, tracking_code, channel, category_id, sensitive, description, complainant_name, complainant_phone,
    anonymous, location_id, priority, status, team_id, assignee_id, created_at, due_at,
    assigned_at, resolved_at, closed_at, overdue, escalation_level, resolution, reject_reason)
SELECT
    'GRV-B-' || lpad(g::text, 8, '0'),
    upper(substr(md5('bench' || g::text), 1, 14)),
    (ARRAY['walk_in','phone','sms','web','field_agent','partner_api'])[1 + g % 6],
    cat.id, cat.sensitive, 'Benchmark complaint ' || g, '', '', false,
    loc.id, 1 + g % 4, st.status, cat.team_id,
    CASE WHEN st.status IN ('assigned', 'in_progress', 'resolved', 'closed') THEN %(assignee)s END,
    c.created, c.created + make_interval(days => cat.sla_days),
    CASE WHEN st.status <> 'received' THEN c.created + interval '1 day' END,
    CASE WHEN st.status IN ('resolved', 'closed') THEN c.created + make_interval(days => 1 + g % 30) END,
    CASE WHEN st.status IN ('closed', 'rejected') THEN c.created + make_interval(days => 2 + g % 30) END,
    false, 0, '', CASE WHEN st.status = 'rejected' THEN 'not_grievance' ELSE '' END
FROM generate_series(%(start)s, %(stop)s) AS g
CROSS JOIN LATERAL (SELECT now() - make_interval(days => g %% 400, secs => g %% 86400) AS created) c
CROSS JOIN LATERAL (
    SELECT (ARRAY['received','assigned','in_progress','resolved','resolved','closed','closed','closed',
                  'closed','rejected'])[1 + g %% 10] AS status) st
JOIN LATERAL (
    SELECT id, sensitive, team_id, sla_days FROM bench_categories WHERE n = g %% %(categories)s
) cat ON true
JOIN LATERAL (SELECT id FROM bench_locations WHERE n = g %% %(locations)s) loc ON true
"""


def generate(*, tickets: int, assignee_id: int) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_categories AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id, "
            "sensitive, team_id, sla_days FROM grievances_category WHERE parent_id IS NOT NULL OR sensitive"
        )
        cursor.execute(
            "CREATE TEMP TABLE bench_locations AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id "
            "FROM registry_location WHERE depth = 1"
        )
        cursor.execute("SELECT count(*) FROM bench_categories")
        categories = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM bench_locations")
        locations = cursor.fetchone()[0]
        step = 250_000
        for start in range(1, tickets + 1, step):
            stop = min(tickets, start + step - 1)
            sql = GENERATE.replace("%(assignee)s", str(int(assignee_id)))
            sql = sql.replace("%(start)s", str(start)).replace("%(stop)s", str(stop))
            sql = sql.replace("%(categories)s", str(categories)).replace("%(locations)s", str(locations))
            cursor.execute(sql.replace("%%", "%"))
            print(f"  {stop:,} tickets", flush=True)
        cursor.execute("DROP TABLE bench_categories, bench_locations")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE grievances_ticket")


def setup_reference_data() -> dict[str, object]:
    from django.contrib.auth.models import Group, User

    from access.roles import GRIEVANCE_OFFICER
    from grievances.models import Category, Team
    from portal.models import UserProfile
    from registry.models import Location

    admin, _ = User.objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    if not Location.objects.filter(code="BR-0").exists():
        for r in range(10):
            region = Location.objects.create(code=f"BR-{r}", name=f"Bench region {r}")
            for d in range(10):
                Location.objects.create(code=f"BR-{r}-{d}", name=f"Bench district {r}.{d}", parent=region)
    region = Location.objects.get(code="BR-0")
    officer, created = User.objects.get_or_create(username="bench-grievance", defaults={"is_staff": True})
    if created:
        officer.groups.set(Group.objects.filter(name=GRIEVANCE_OFFICER))
        UserProfile.objects.get_or_create(user=officer)[0].locations.set([region])
    if not Category.objects.filter(code="b0").exists():  # the migrations make a category of their own
        supervisors, _ = Group.objects.get_or_create(name="Bench grievance supervisor")
        teams = [Team.objects.create(name=f"Bench desk {i}", supervisor_role=supervisors) for i in range(5)]
        for i in range(8):
            top = Category.objects.create(code=f"b{i}", name=f"Bench category {i}", team=teams[i % 5])
            for j in range(3):
                Category.objects.create(
                    code=f"b{i}-{j}",
                    name=f"Sub {i}.{j}",
                    parent=top,
                    team=teams[(i + j) % 5],
                    sla_days=7 + j * 7,
                )
        Category.objects.create(code="b-gbv", name="Bench GBV", sensitive=True, sla_days=2, team=teams[0])
    return {"admin": admin, "officer": officer}


def naive_sla_loop(sample: int) -> float:
    """Seconds per ticket of the per-row SLA job, timed over `sample` tickets in a rolled-back transaction."""
    from django.db import transaction
    from django.utils import timezone

    from grievances.models import OPEN_STATUSES, EventKind, Team, Ticket, TicketEvent

    now = timezone.now()
    started = time.perf_counter()
    with transaction.atomic():
        tickets = Ticket.objects.filter(
            overdue=False, status__in=[str(s) for s in OPEN_STATUSES], due_at__lt=now
        ).select_related("team")[:sample]
        done = 0
        for ticket in tickets:
            role = Team.objects.filter(pk=ticket.team_id).values_list("supervisor_role_id", flat=True).first()
            Ticket.objects.filter(pk=ticket.pk).update(
                overdue=True,
                overdue_at=now,
                escalation_level=ticket.escalation_level + 1,
                escalated_to_id=role,
            )
            TicketEvent.objects.create(
                ticket=ticket, kind=EventKind.OVERDUE, at=now, data={"escalated_to": role}
            )
            done += 1
        transaction.set_rollback(True)
    return (time.perf_counter() - started) / max(done, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--fresh", action="store_true", help="drop the database and generate again")
    options = parser.parse_args()

    url = bench_environment(DEFAULT_URL)
    database_prepare(url, fresh=options.fresh)

    import django

    django.setup()

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)

    from grievances.models import Category, Team, Ticket, TicketEvent
    from grievances.sla import tickets_mark_overdue
    from registry.models import Location

    actors = setup_reference_data()
    have = Ticket.objects.count()
    if have < options.tickets:
        print(f"{have:,} tickets; generating {options.tickets:,} set-based...", flush=True)
        Ticket.objects.all().delete()
        started = time.monotonic()
        generate(tickets=options.tickets, assignee_id=actors["officer"].pk)  # type: ignore[attr-defined]
        print(f"generated in {time.monotonic() - started:.0f} s", flush=True)
    tickets = Ticket.objects.count()

    admin_client, officer_client = Client(), Client()
    admin_client.force_login(actors["admin"])
    officer_client.force_login(actors["officer"])
    category = Category.objects.filter(parent__isnull=True).order_by("pk").first()
    team = Team.objects.order_by("pk").first()
    district = Location.objects.filter(code="BR-0-3").first()
    base = "/admin/grievances/ticket/"
    filtered = f"{base}?status=in_progress&category={category.pk}&team={team.pk}"
    figures: dict[str, object] = {"tickets": tickets}
    figures["list_ms"] = median_ms(get_ok(admin_client, base), options.runs)
    figures["list_filtered_ms"] = median_ms(get_ok(admin_client, filtered), options.runs)
    figures["list_overdue_location_ms"] = median_ms(
        get_ok(admin_client, f"{base}?overdue=yes&location={district.pk}"), options.runs
    )
    figures["list_officer_scoped_ms"] = median_ms(get_ok(officer_client, f"{base}?status=open"), options.runs)
    figures["list_last_page_ms"] = median_ms(get_ok(admin_client, f"{base}?p=199"), options.runs)

    def full_count() -> object:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM grievances_ticket")
            return cursor.fetchone()

    figures["baseline_full_count_ms"] = median_ms(full_count, options.runs)

    # The SLA job: every open ticket not yet overdue whose due date passed (most of the open ones).
    Ticket.objects.filter(overdue=True).update(
        overdue=False, overdue_at=None, escalation_level=0, escalated_to=None
    )
    TicketEvent.objects.filter(kind="overdue").delete()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE grievances_ticket")
    per_ticket = naive_sla_loop(LOOP_SAMPLE)
    started = time.perf_counter()
    result = tickets_mark_overdue()
    figures["sla_job_s"] = round(time.perf_counter() - started, 2)
    figures["sla_overdue_marked"] = result["overdue"]
    figures["baseline_sla_loop_s"] = round(per_ticket * result["overdue"], 1)
    figures["baseline_sla_loop_sample"] = LOOP_SAMPLE
    # The lists again, now that a third of the table was just rewritten by the job.
    figures["list_overdue_ms_after_sla"] = median_ms(
        get_ok(admin_client, f"{base}?overdue=yes"), options.runs
    )
    figures["peak_rss_mb"] = peak_rss_mb()
    figures["server"] = server_context()
    for key, value in figures.items():
        print(f"{key}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
