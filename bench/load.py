"""Load test: the portal served as in production, many staff at once, jobs running behind them (issue 24).

    .venv/bin/python bench/load.py [--individuals 1000000] [--steps 50,100,150,200] [--step-seconds 600]
    .venv/bin/python bench/load.py --individuals 50000 --steps 10,20 --step-seconds 60     # a smoke run

Uses its own database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/h_bench_load), kept between
runs (--fresh drops it). Set-up, when the database is short of it: `generate_demo_data` for --individuals
(about 4.5 a household); everyone enrolled in an individual plan with two draft payrolls (bench/report.py's
fill); a payroll sent to a payment point whose key the providers use; one pending approval task per
beneficiary to activate (approvers decide them); the six saved reports of bench/report.py; staff accounts
(clerks and approvers see everywhere, officers half national and half one region) with sessions made here;
summaries refreshed once and the big tables vacuumed, as a live system would have them.

Then it serves the portal as in production: `collectstatic`, gunicorn with gunicorn.conf.py and its workers
(DJANGO_ENV=production, a generated secret, whitenoise), and `manage.py jobs_worker`. The only addition is
the query counter (bench/load_settings.py: an X-Queries header). For each step of users, a headless Locust
process (bench/load_users.py) runs for --step-seconds while an upload of --upload-rows (default 100,000, or
individuals / 10 when smaller) and a payroll of every active beneficiary are started through the services and
run on the worker. Measured per kind of request: p50/p95/p99, errors, requests/s, queries per request; per
step: CPU per request of gunicorn and of the web's PostgreSQL backends (from /proc), the jobs' CPU, and lock
waits sampled from pg_locks (waitstart) every 0.5 s. A step meets the goal when page p95 < 500 ms, API p95
< 200 ms and no request failed. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import import_module
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
from typing import Any

from benchdb import bench_environment, database_prepare, server_context

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/h_bench_load"
PAGE_P95_GOAL_MS = 500
API_P95_GOAL_MS = 200
API_PREFIX = "provider:"
# Locust's user classes share the users out by these weights (bench/load_users.py).
MIX = {"clerks": 5, "officers": 2, "approvers": 2, "providers": 1}
LINES_PER_POST = 50
VACUUMED = ("registry_individual", "registry_household", "programs_beneficiary", "payments_benefit")
SENT_CYCLE = "LOAD-SENT"  # the payroll the providers report on
TICKS = os.sysconf("SC_CLK_TCK")


def _bench_module(name: str) -> Any:
    spec = spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _share(users: int, kind: str) -> int:
    return max(1, round(users * MIX[kind] / sum(MIX.values())))


# --- set-up ---------------------------------------------------------------------------------------


@dataclass
class Setup:
    maker: Any
    checker: Any
    plan: Any
    payment_plan: Any
    point: Any
    upload_plan: Any
    leaf_codes: list[str]
    accounts: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    reports: list[int] = field(default_factory=list)


def registry_fill(individuals: int, seed: int) -> None:
    from django.core.management import call_command

    from registry.models import Individual

    have = Individual.objects.count()
    if have >= individuals * 0.95:
        return
    households = max(1, round((individuals - have) / 4.5))
    print(f"{have:,} individuals; generating {households:,} households...", flush=True)
    started = time.monotonic()
    call_command("generate_demo_data", households=households, seed=seed)
    print(f"generated in {time.monotonic() - started:.0f} s", flush=True)


def staff_accounts(*, plan: Any, count: int) -> dict[str, list[dict[str, str]]]:
    """`count` accounts of each kind, each with a fresh session signed with this run's secret."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import Group, User
    from django.utils.crypto import get_random_string
    from guardian.shortcuts import assign_perm

    from portal.models import UserProfile
    from portal.roles import APPROVER, PROGRAMME_OFFICER, REGISTRY_OFFICER
    from registry.models import Location

    SessionStore = import_module(settings.SESSION_ENGINE).SessionStore  # noqa: N806
    regions = list(Location.objects.filter(depth=0).order_by("pk"))
    roles = {"clerks": (REGISTRY_OFFICER,), "officers": (PROGRAMME_OFFICER,), "approvers": (APPROVER,)}
    accounts: dict[str, list[dict[str, str]]] = {}
    for kind, names in roles.items():
        groups = list(Group.objects.filter(name__in=names))
        accounts[kind] = []
        for number in range(count):
            user, created = User.objects.get_or_create(
                username=f"load-{kind}-{number}", defaults={"is_staff": True}
            )
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
                user.groups.set(groups)
                profile = UserProfile.objects.create(user=user)
                regional = kind == "officers" and number % 2 == 1
                profile.locations.set([regions[number % len(regions)]] if regional else regions)
                assign_perm("programs.view_benefitplan", user, plan)
                if kind == "approvers":
                    assign_perm("programs.change_benefitplan", user, plan)
            session = SessionStore()
            session[SESSION_KEY] = str(user.pk)
            session[BACKEND_SESSION_KEY] = "identity.backends.RoleGrantModelBackend"
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.create()
            accounts[kind].append({"session": session.session_key, "csrf": get_random_string(32)})
    return accounts


def approval_tasks_fill(*, setup: Setup, wanted: int) -> int:
    """Pending 'activate' tasks, one per potential beneficiary, up to `wanted` (kept from earlier runs)."""
    from approvals.models import Task, TaskState
    from programs.models import Beneficiary, BeneficiaryStatus
    from programs.services import beneficiary_status_request

    pending = Task.objects.filter(action="programs.beneficiary_status", state=TaskState.PENDING).count()
    missing = wanted - pending
    if missing <= 0:
        return pending
    started = time.monotonic()
    asked = Task.objects.filter(action="programs.beneficiary_status").values("object_id")
    candidates = (
        Beneficiary.objects.filter(benefit_plan=setup.plan, status=BeneficiaryStatus.POTENTIAL)
        .exclude(pk__in=asked)
        .order_by("pk")[:missing]
    )
    for beneficiary in candidates:
        beneficiary_status_request(
            user=setup.maker,
            plan=setup.plan,
            transition="activate",
            reason="load test",
            beneficiary=beneficiary,
        )
    print(f"{missing:,} approval tasks queued in {time.monotonic() - started:.0f} s", flush=True)
    return wanted


def sent_payroll(*, maker: Any, checker: Any, payment_plan: Any, point: Any) -> None:
    """A payroll approved and sent to the point, once: the lines the providers report on."""
    from datetime import date

    from approvals.services import task_approve
    from payments.models import Benefit, PaymentCycle, Payroll
    from payments.services import payroll_create, payroll_send, payroll_submit

    cycle, _ = PaymentCycle.objects.get_or_create(
        code=SENT_CYCLE, defaults={"start_date": date(2026, 3, 1), "end_date": date(2026, 3, 31)}
    )
    if not Payroll.objects.filter(cycle=cycle).exists():  # sent once; reconciled by the runs since
        started = time.monotonic()
        payroll = payroll_create(
            user=maker, payment_plan=payment_plan, cycle=cycle, payment_point=point, background=False
        )
        task_approve(task=payroll_submit(user=maker, payroll=payroll), user=checker)
        payroll_send(user=maker, payroll=Payroll.objects.get(pk=payroll.pk))
        lines = Benefit.objects.filter(payroll=payroll).count()
        print(f"payroll LOAD-SENT: {lines:,} lines sent in {time.monotonic() - started:.0f} s", flush=True)


def prepare(options: argparse.Namespace, *, tasks_wanted: int) -> Setup:
    """Everything the staff work on; what an earlier run left is kept (see the module's docstring)."""
    from datetime import date

    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Max

    from payments.models import PaymentPoint
    from payments.services import payment_point_key_rotate
    from portal.models import UserProfile
    from portal.summaries import summaries_refresh
    from programs.models import BenefitPlan, PlanStatus, PlanType
    from registry.models import Location
    from reports.models import Report

    call_command("migrate", verbosity=0)
    registry_fill(options.individuals, options.seed)
    report_bench = _bench_module("report")
    maker, _ = User.objects.get_or_create(
        username="load-maker", defaults={"is_staff": True, "is_superuser": True}
    )
    checker, _ = User.objects.get_or_create(
        username="load-checker", defaults={"is_staff": True, "is_superuser": True}
    )
    for user in (maker, checker):
        UserProfile.objects.get_or_create(user=user)
    report_bench.beneficiaries_fill(admin=maker)
    plan = BenefitPlan.objects.get(code=report_bench.PLAN_CODE)
    payment_plan = plan.payment_plans.get(name="Monthly")
    point, created = PaymentPoint.objects.get_or_create(
        name="Load test mobile money", defaults={"point_type": "mobile_money"}
    )
    if created:
        point.locations.set(Location.objects.filter(depth=0))
    sent_payroll(maker=maker, checker=checker, payment_plan=payment_plan, point=point)
    upload_plan, _ = BenefitPlan.objects.get_or_create(
        code="LOAD-UPLOAD",
        defaults={
            "name": "Load test uploads",
            "plan_type": PlanType.HOUSEHOLD,
            "start_date": date(2026, 1, 1),
            "status": PlanStatus.ACTIVE,
            "beneficiary_schema": {
                "type": "object",
                "properties": {"vulnerability": {"type": "string", "enum": ["low", "high"]}},
            },
        },
    )
    deepest = Location.objects.aggregate(depth=Max("depth"))["depth"]
    leaf_codes = list(
        Location.objects.filter(depth=deepest).order_by("pk").values_list("code", flat=True)[:500]
    )
    setup = Setup(maker, checker, plan, payment_plan, point, upload_plan, leaf_codes)
    setup.accounts = staff_accounts(plan=plan, count=max(_share(max(options.step_list), k) for k in MIX))
    setup.accounts["providers"] = [{"key": payment_point_key_rotate(user=maker, payment_point=point)}]
    approval_tasks_fill(setup=setup, wanted=tasks_wanted)
    Report.objects.filter(name__startswith="load: ").delete()
    for name, definition in report_bench.REPORTS.values():
        report = Report(name=f"load: {name}", created_by=maker, **definition)
        report.full_clean()
        report.save()
        setup.reports.append(report.pk)
    started = time.monotonic()
    summaries_refresh()
    with connection.cursor() as cursor:
        for table in VACUUMED:
            cursor.execute(f"VACUUM ANALYZE {table}")
        # The small tables too (locations, tasks, profiles): never analysed, a path filter over the
        # locations was estimated at 20 rows for 3,670 and the name search nested-looped over them.
        cursor.execute("ANALYZE")
    print(f"summaries refreshed and tables vacuumed in {time.monotonic() - started:.0f} s", flush=True)
    return setup


def pools_write(path: Path, *, setup: Setup, host: str, users: int, step_seconds: int) -> None:
    """What this step's Locust users work on: sessions, search terms, pending tasks, unpaid lines."""
    from django.db import connection

    from approvals.models import Task, TaskState
    from payments.models import Benefit, BenefitStatus

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT LEFT(family_name, 4) FROM registry_individual TABLESAMPLE SYSTEM (1) LIMIT 300"
        )
        names = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT value FROM registry_identitydocument TABLESAMPLE SYSTEM (1) LIMIT 300")
        documents = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT id FROM registry_household TABLESAMPLE SYSTEM (1) LIMIT 300")
        households = [row[0] for row in cursor.fetchall()]
    tasks = list(
        Task.objects.filter(action="programs.beneficiary_status", state=TaskState.PENDING).values_list(
            "pk", flat=True
        )
    )
    posts = _share(users, "providers") * step_seconds  # at most one post a second each
    lines = list(
        Benefit.objects.filter(payroll__cycle__code=SENT_CYCLE, status=BenefitStatus.PENDING)
        .order_by("pk")
        .values_list("reference", "amount")[: posts * LINES_PER_POST]
    )
    batches = [
        [(reference, str(amount)) for reference, amount in lines[start : start + LINES_PER_POST]]
        for start in range(0, len(lines), LINES_PER_POST)
    ]
    pools = {
        "host": host,
        "static": "/static/admin/css/base.css",
        **setup.accounts,
        "names": names,
        "documents": documents,
        "households": households,
        "reports": setup.reports,
        "tasks": tasks,
        "references": batches,
    }
    path.write_text(json.dumps(pools), encoding="utf-8")


# --- processes and measures ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cpu_ticks(pid: int, *, children: bool = False) -> int:
    """utime + stime of a process (and of its children it has waited for), in clock ticks; 0 once gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    ticks = int(fields[11]) + int(fields[12])
    return ticks + (int(fields[13]) + int(fields[14]) if children else 0)


def _child_pids(parent: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                pids.append(int(stat.parent.name))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return pids


class Sampler(threading.Thread):
    """Every 0.5 s: lock waits in our database (web, all) and CPU of its backends by application."""

    def __init__(self, url: str, gunicorn_pid: int) -> None:
        super().__init__(daemon=True)
        self.url, self.gunicorn_pid = url, gunicorn_pid
        self.stopping = threading.Event()
        self.lock_wait_web_ms = 0.0
        self.lock_wait_web_what = ""
        self.lock_wait_all_ms = 0.0
        self.lock_samples = 0
        self.backend_ticks: dict[str, int] = {}
        self.load_averages: list[float] = []  # the machine's 1-minute load average, every 0.5 s
        self._last: dict[int, tuple[str, int]] = {}

    def gunicorn_ticks(self) -> int:
        workers = _child_pids(self.gunicorn_pid)
        return _cpu_ticks(self.gunicorn_pid, children=True) + sum(_cpu_ticks(pid) for pid in workers)

    def run(self) -> None:
        import psycopg2

        connection = psycopg2.connect(self.url)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SET application_name = 'load-sampler'")
            while not self.stopping.wait(0.5):
                self.load_averages.append(os.getloadavg()[0])
                cursor.execute(
                    "SELECT a.application_name, COALESCE(EXTRACT(EPOCH FROM now() - l.waitstart) * 1000, 0), "
                    "l.locktype || ' ' || l.mode || ' on ' || COALESCE(l.relation::regclass::text, '-') || "
                    "', held by ' || COALESCE((SELECT string_agg(DISTINCT b.application_name, ',') "
                    "FROM pg_stat_activity b WHERE b.pid = ANY(pg_blocking_pids(a.pid))), '?') || ' (' || "
                    "COALESCE((SELECT string_agg(DISTINCT LEFT(b.query, 80), ' | ') FROM pg_stat_activity b "
                    "WHERE b.pid = ANY(pg_blocking_pids(a.pid))), '?') || '); waiting: ' || "
                    "LEFT(a.query, 100) "
                    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE NOT l.granted AND a.datname = current_database()"
                )
                for application, waited_ms, what in cursor.fetchall():
                    self.lock_samples += 1
                    self.lock_wait_all_ms = max(self.lock_wait_all_ms, float(waited_ms))
                    if application == "load-web" and float(waited_ms) >= self.lock_wait_web_ms:
                        self.lock_wait_web_ms, self.lock_wait_web_what = float(waited_ms), what
                cursor.execute(
                    "SELECT pid, application_name FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                for pid, application in cursor.fetchall():
                    ticks = _cpu_ticks(pid)
                    group = application if application in ("load-web", "load-jobs") else "other"
                    _, before = self._last.get(pid, (group, ticks))
                    self.backend_ticks[group] = self.backend_ticks.get(group, 0) + max(0, ticks - before)
                    self._last[pid] = (group, ticks)
        connection.close()


def served(env: dict[str, str], workdir: Path) -> tuple[subprocess.Popen, subprocess.Popen]:
    """gunicorn as configured for production, and the jobs worker."""
    python = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([python, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    web = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env={**env, "PGAPPNAME": "load-web"},
        stdout=(workdir / "gunicorn.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    worker = subprocess.Popen(
        [python, "manage.py", "jobs_worker"],
        cwd=ROOT,
        env={**env, "PGAPPNAME": "load-jobs"},
        stdout=(workdir / "worker.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    return web, worker


def wait_until_up(port: int, web: subprocess.Popen, timeout: float = 300) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise SystemExit(f"gunicorn exited with {web.returncode}: see its log")
        try:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/static/admin/css/base.css", headers={"X-Forwarded-Proto": "https"}
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"gunicorn did not answer within {timeout:.0f} s")


# --- background jobs --------------------------------------------------------------------------------


class Background(threading.Thread):
    """An upload (validated, commit approved: both run on the worker) and a payroll, through the services."""

    def __init__(self, *, setup: Setup, step: int, rows: int, workdir: Path) -> None:
        super().__init__(daemon=True)
        self.setup, self.step, self.rows, self.workdir = setup, step, rows, workdir
        self.figures: dict[str, Any] = {}

    def run(self) -> None:
        from django.db import connection

        try:
            self._run()
        except Exception as exc:  # reported in the figures: the load test goes on
            self.figures["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()

    def _run(self) -> None:
        from datetime import date

        from django.core.files import File

        from approvals.services import task_approve
        from payments.models import PaymentCycle
        from payments.services import payroll_create
        from uploads.models import BatchState, ImportBatch
        from uploads.services import batch_commit_request, batch_create

        started = time.monotonic()
        run = int(time.time())
        cycle = PaymentCycle.objects.create(
            code=f"LOAD-{run}-{self.step}", start_date=date(2026, 4, 1), end_date=date(2026, 4, 30)
        )
        payroll = payroll_create(
            user=self.setup.maker,
            payment_plan=self.setup.payment_plan,
            cycle=cycle,
            payment_point=self.setup.point,
        )
        path = self.workdir / f"upload-{self.step}.csv"
        _bench_module("upload").file_generate(
            path, rows=self.rows, seed=run % 100000 * 10 + self.step, locations=self.setup.leaf_codes
        )
        with path.open("rb") as handle:
            batch = batch_create(
                user=self.setup.maker, plan=self.setup.upload_plan, file=File(handle, name=path.name)
            )
        self.figures["started_s"] = round(time.monotonic() - started, 1)
        committed = payroll_done = None
        asked = False
        while committed is None or payroll_done is None:
            time.sleep(1)
            if payroll_done is None:
                payroll.refresh_from_db()
                if payroll.status != "generating":
                    payroll_done = time.monotonic() - started
                    self.figures["payroll_s"] = round(payroll_done, 1)
                    self.figures["payroll_lines"] = payroll.benefits.count()
                    self.figures["payroll_status"] = payroll.status
            batch = ImportBatch.objects.get(pk=batch.pk)
            if batch.state == BatchState.VALIDATED and not asked:
                task_approve(
                    task=batch_commit_request(batch=batch, user=self.setup.maker), user=self.setup.checker
                )
                asked = True
            elif batch.state in (BatchState.COMMITTED, BatchState.FAILED) or (
                batch.state == BatchState.UPLOADED and batch.error
            ):
                committed = time.monotonic() - started
                self.figures["upload_s"] = round(committed, 1)
                self.figures["upload_state"] = batch.state
                self.figures["upload_new_rows"] = batch.new_rows


# --- figures -------------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def step_figures(results: dict[str, dict[str, list]], seconds: float) -> dict[str, Any]:
    kinds = {}
    for kind, entry in sorted(results.items()):
        queries = entry["queries"]
        kinds[kind] = {
            "requests": len(entry["ms"]),
            "errors": len(entry["errors"]),
            "error_statuses": sorted(set(entry["errors"]))[:5],
            "p50_ms": percentile(entry["ms"], 0.50),
            "p95_ms": percentile(entry["ms"], 0.95),
            "p99_ms": percentile(entry["ms"], 0.99),
            "queries_avg": round(sum(queries) / len(queries), 1) if queries else None,
        }
    pages = [
        ms
        for kind, e in results.items()
        if not kind.startswith(API_PREFIX) and kind != "static"
        for ms in e["ms"]
    ]
    api = [ms for kind, e in results.items() if kind.startswith(API_PREFIX) for ms in e["ms"]]
    requests = sum(len(e["ms"]) for e in results.values())
    return {
        "requests": requests,
        "errors": sum(len(e["errors"]) for e in results.values()),
        "requests_per_s": round(requests / seconds, 2),
        "page_p95_ms": percentile(pages, 0.95),
        "api_p95_ms": percentile(api, 0.95) if api else None,  # no API request: not measured, not met
        "kinds": kinds,
    }


def step_print(users: int, figures: dict[str, Any]) -> None:
    print(
        f"\n== {users} users: {figures['requests']:,} requests, {figures['requests_per_s']} /s, "
        f"{figures['errors']} errors, page p95 {figures['page_p95_ms']:.0f} ms, "
        f"API p95 {figures['api_p95_ms'] or 0:.0f} ms"
    )
    print(
        f"{'kind':34} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'queries':>7}"
    )
    for kind, row in figures["kinds"].items():
        queries = "-" if row["queries_avg"] is None else f"{row['queries_avg']:.1f}"
        print(
            f"{kind:34} {row['requests']:>8,} {row['errors']:>6} {row['p50_ms']:>8.0f} {row['p95_ms']:>8.0f} "
            f"{row['p99_ms']:>8.0f} {queries:>7}"
        )
    for kind, row in figures["kinds"].items():
        if row["errors"]:
            print(f"  errors of {kind}: {', '.join(row['error_statuses'])}")
    print(
        f"CPU per request: gunicorn {figures['cpu_web_ms_per_request']} ms, PostgreSQL (web backends) "
        f"{figures['cpu_db_web_ms_per_request']} ms; jobs' PostgreSQL backends {figures['cpu_db_jobs_s']} s, "
        f"other backends {figures['cpu_db_other_s']} s; load average {figures['load_average_mean']} "
        f"(mean over the step; {figures['load_average_1m']} at its end)"
    )
    print(
        f"lock waits: longest of a web request {figures['lock_wait_max_ms']:.0f} ms, of any backend "
        f"{figures['lock_wait_any_ms']:.0f} ms ({figures['lock_wait_samples']} waiting samples) "
        f"[{figures['lock_wait_max_on'] or 'none'}]; "
        f"background: {figures['background']}",
        flush=True,
    )


def meets_goal(figures: dict[str, Any]) -> bool:
    return (
        figures["page_p95_ms"] < PAGE_P95_GOAL_MS
        and figures["api_p95_ms"] is not None
        and figures["api_p95_ms"] < API_P95_GOAL_MS
        and figures["errors"] == 0
    )


def run_step(
    *,
    users: int,
    index: int,
    options: argparse.Namespace,
    setup: Setup,
    env: dict[str, str],
    port: int,
    web: subprocess.Popen,
    url: str,
    workdir: Path,
) -> dict[str, Any]:
    """One step: pools, background jobs, Locust for --step-seconds, then the figures."""
    pools, results = workdir / f"pools-{users}.json", workdir / f"results-{users}.json"
    pools_write(pools, setup=setup, host=f"127.0.0.1:{port}", users=users, step_seconds=options.step_seconds)
    background = Background(setup=setup, step=index, rows=options.upload_rows, workdir=workdir)
    sampler = Sampler(url, web.pid)
    gunicorn_before = sampler.gunicorn_ticks()
    sampler.start()
    if options.background:
        background.start()
    started = time.monotonic()
    locust = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "locust"),
            "-f",
            str(BENCH / "load_users.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(max(1, users // 10)),
            "-t",
            f"{options.step_seconds}s",
            "--host",
            f"http://127.0.0.1:{port}",
            "--only-summary",
            "--stop-timeout",
            "120",  # requests under way when the step ends finish and count
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env={**env, "LOAD_POOLS": str(pools), "LOAD_RESULTS": str(results)},
        stdout=(workdir / f"locust-{users}.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    seconds = time.monotonic() - started
    sampler.stopping.set()
    sampler.join()
    gunicorn_ticks = sampler.gunicorn_ticks() - gunicorn_before
    if not results.exists():
        raise SystemExit(
            f"Locust wrote no results (exit {locust.returncode}): see {workdir}/locust-{users}.log"
        )
    figures = step_figures(json.loads(results.read_text()), options.step_seconds)
    requests = max(1, figures["requests"])
    figures.update(
        users=users,
        seconds=round(seconds, 1),
        cpu_web_ms_per_request=round(gunicorn_ticks / TICKS * 1000 / requests, 1),
        cpu_db_web_ms_per_request=round(
            sampler.backend_ticks.get("load-web", 0) / TICKS * 1000 / requests, 1
        ),
        cpu_db_jobs_s=round(sampler.backend_ticks.get("load-jobs", 0) / TICKS, 1),
        cpu_db_other_s=round(sampler.backend_ticks.get("other", 0) / TICKS, 1),
        lock_wait_max_ms=round(sampler.lock_wait_web_ms),
        lock_wait_max_on=sampler.lock_wait_web_what,
        lock_wait_any_ms=round(sampler.lock_wait_all_ms),
        lock_wait_samples=sampler.lock_samples,
        load_average_1m=round(os.getloadavg()[0], 2),
        load_average_mean=round(sum(sampler.load_averages) / max(1, len(sampler.load_averages)), 2),
    )
    if options.background:
        background.join(timeout=options.background_wait)  # the next step starts on a quiet worker
        figures["background"] = {**background.figures, "done": not background.is_alive()}
    else:
        figures["background"] = "off"
    return figures


def summary(steps: list[dict[str, Any]], *, individuals: int) -> dict[str, Any]:
    """The last line: the largest step meeting the goal (else the first, with users 0), and every step."""
    met = [figures for figures in steps if meets_goal(figures)]
    chosen = met[-1] if met else steps[0]
    return {
        "individuals": individuals,
        "users": chosen["users"] if met else 0,
        "requests": chosen["requests"],
        "errors": chosen["errors"],
        "page_p95_ms": chosen["page_p95_ms"],
        "api_p95_ms": chosen["api_p95_ms"],
        "lock_wait_max_ms": chosen["lock_wait_max_ms"],
        "steps": [
            {key: value for key, value in figures.items() if key != "kinds"}
            | {
                "kinds": {
                    kind: {name: value for name, value in row.items() if name != "error_statuses"}
                    for kind, row in figures["kinds"].items()
                }
            }
            for figures in steps
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--individuals", type=int, default=1_000_000)
    parser.add_argument("--steps", default="50,100,150,200", help="users per step, comma-separated")
    parser.add_argument("--step-seconds", type=int, default=600)
    parser.add_argument("--upload-rows", type=int, default=None, help="default: 100,000 or individuals / 10")
    parser.add_argument("--no-background", dest="background", action="store_false")
    parser.add_argument("--background-wait", type=int, default=900, help="seconds to wait for a step's jobs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fresh", action="store_true", help="drop the database and fill it again")
    options = parser.parse_args()
    options.step_list = [int(users) for users in options.steps.split(",") if users.strip()]
    if not options.step_list or min(options.step_list) < 1:
        raise SystemExit("--steps: give one or more numbers of users, e.g. 50,100,150,200")
    options.upload_rows = options.upload_rows or min(100_000, max(1000, options.individuals // 10))

    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    os.environ.update(
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SETTINGS_MODULE="load_settings",
        PORTAL_DATA_DIR=str(workdir / "var"),  # uploads stored here are read by the worker: same MEDIA_ROOT
        MEDIA_ROOT=str(workdir / "media"),
    )
    url = bench_environment(DEFAULT_URL)
    database_prepare(url, fresh=options.fresh)
    import django

    django.setup()
    from django.db import connection

    # Each approver decides about one task every 12 s (three requests, think times, reading the task).
    tasks_wanted = sum(_share(users, "approvers") * options.step_seconds // 12 for users in options.step_list)
    setup = prepare(options, tasks_wanted=tasks_wanted)
    connection.close()
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(BENCH)]),  # the apps first: bench/registry.py is no app
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }
    web, worker = served(env, workdir)
    steps: list[dict[str, Any]] = []
    try:
        wait_until_up(port, web)
        print(f"gunicorn on 127.0.0.1:{port} and the jobs worker are up; logs in {workdir}", flush=True)
        for index, users in enumerate(options.step_list):
            figures = run_step(
                users=users,
                index=index,
                options=options,
                setup=setup,
                env=env,
                port=port,
                web=web,
                url=url,
                workdir=workdir,
            )
            step_print(users, figures)
            steps.append(figures)
    finally:
        for process in (web, worker):
            process.terminate()
        for process in (web, worker):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    from registry.models import Individual

    print(f"\nserver: {server_context()}; work files: {workdir}")
    if not os.environ.get("LOAD_KEEP_FILES"):
        shutil.rmtree(workdir / "media", ignore_errors=True)
    print(json.dumps(summary(steps, individuals=Individual.objects.count())))


if __name__ == "__main__":
    main()
