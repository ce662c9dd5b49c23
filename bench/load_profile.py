"""Where a load-test request's cost goes: each kind of page of bench/load_users.py, once per kind of user, on
the load benchmark's database (fill it with bench/load.py first), through Django's test client.

    .venv/bin/python bench/load_profile.py [--repeat 5] [--statements 8]

Per page: queries, median wall and CPU time of the request in this process (Django's own work, the
database's excluded), the time spent in SQL, and the slowest statements (summed over the queries that
share a shape). The last line is one JSON object: per page, queries and the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchdb import bench_environment  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/h_bench_load"
NUMBERS = re.compile(r"\b\d+\b|'[^']*'")


def pages() -> list[tuple[str, str, str]]:
    """(account, kind, url): the requests of bench/load_users.py with data from the database."""
    from django.db import connection

    from approvals.models import Task, TaskState
    from reports.models import Report

    with connection.cursor() as cursor:
        cursor.execute("SELECT LEFT(family_name, 4) FROM registry_individual WHERE id % 1000 = 7 LIMIT 1")
        name = cursor.fetchone()[0]
        cursor.execute("SELECT value FROM registry_identitydocument WHERE id % 1000 = 7 LIMIT 1")
        document = cursor.fetchone()[0]
        cursor.execute("SELECT id FROM registry_household WHERE id % 1000 = 7 LIMIT 1")
        household = cursor.fetchone()[0]
    task = (
        Task.objects.filter(action="programs.beneficiary_status", state=TaskState.PENDING)
        .values_list("pk", flat=True)
        .first()
    )
    report = Report.objects.filter(name__startswith="load: ").values_list("pk", flat=True).first()
    return [
        ("load-clerks-0", "clerk: search by name", f"/admin/registry/individual/?q={name}"),
        ("load-clerks-0", "clerk: search by ID number", f"/admin/registry/individual/?q={document}"),
        ("load-clerks-0", "clerk: household", f"/admin/registry/household/{household}/change/"),
        ("load-clerks-0", "clerk: households list", "/admin/registry/household/"),
        ("load-officers-0", "officer: dashboard", "/admin/"),
        ("load-officers-1", "officer (region): dashboard", "/admin/"),
        ("load-officers-0", "officer: report", f"/admin/reports/report/{report}/view/"),
        ("load-approvers-0", "approver: tasks awaiting", "/admin/approvals/task/?mine=awaiting"),
        ("load-approvers-0", "approver: task", f"/admin/approvals/task/{task}/change/"),
        ("load-approvers-0", "approver: admin index", "/admin/"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--statements", type=int, default=8, help="slowest statement shapes shown per page")
    parser.add_argument("--only", default="", help="only the pages whose kind contains this text")
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    bench_environment(DEFAULT_URL)
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    results: dict[str, Any] = {}
    for account, kind, url in pages():
        if options.only and options.only not in kind:
            continue
        client = Client()
        client.force_login(User.objects.get(username=account))
        walls, cpus, sqls, counts = [], [], [], []
        shapes: dict[str, list[float]] = defaultdict(list)
        for attempt in range(options.repeat + 1):
            with CaptureQueriesContext(connection) as captured:
                wall, cpu = time.perf_counter(), time.process_time()
                response = client.get(url)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if response.status_code != 200:
                raise SystemExit(f"{kind}: {url} answered {response.status_code}")
            if attempt == 0:
                continue  # warm-up: template and ContentType caches, the rollup cache
            sql = sum(float(q["time"]) for q in captured.captured_queries)
            walls.append(wall * 1000)
            cpus.append(cpu * 1000)
            sqls.append(sql * 1000)
            counts.append(len(captured.captured_queries))
            for query in captured.captured_queries:
                shapes[NUMBERS.sub("?", query["sql"])[:400]].append(float(query["time"]) * 1000)
        row = {
            "queries": max(counts),
            "wall_ms": round(statistics.median(walls), 1),
            "cpu_ms": round(statistics.median(cpus), 1),
            "sql_ms": round(statistics.median(sqls), 1),
        }
        results[kind] = row
        print(f"\n== {kind} ({account}) {url}\n   {row}")
        slowest = sorted(shapes.items(), key=lambda item: -sum(item[1]))[: options.statements]
        for sql, times in slowest:
            per_request = sum(times) / options.repeat
            print(f"   {per_request:8.1f} ms  x{len(times) / options.repeat:4.1f}  {sql[:300]}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
