"""Locust users of the load benchmark (`bench/load.py` runs this file headless, one Locust process a step).

Staff as they work, 1-5 s of thought between requests, each signed in with a session made by load.py:
registry clerks search people by name prefix and by identity number and open households; programme officers
open the dashboard and saved reports; approvers list their tasks, open one and approve it (a POST with the
form's CSRF token); payment providers post reconciliation results through the API with their key.
Every response's time, status and X-Queries header (the bench's query counter) is kept per kind of request
and written to LOAD_RESULTS as JSON when Locust stops. LOAD_POOLS names the JSON of sessions and data.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
import uuid
from collections import defaultdict
from typing import Any

from locust import HttpUser, between, events, task

POOLS: dict[str, Any] = json.loads(open(os.environ["LOAD_POOLS"], encoding="utf-8").read())
RESULTS: dict[str, dict[str, list]] = defaultdict(lambda: {"ms": [], "errors": [], "queries": []})
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_accounts = {kind: itertools.cycle(POOLS[kind]) for kind in ("clerks", "officers", "approvers", "providers")}
_tasks: list[int] = list(POOLS["tasks"])
_references: list[list[str]] = list(POOLS["references"])
random.shuffle(_tasks)


def _record(kind: str, started: float, response: Any, ok_statuses: tuple[int, ...]) -> None:
    elapsed = (time.perf_counter() - started) * 1000
    entry = RESULTS[kind]
    entry["ms"].append(round(elapsed, 1))
    if response.status_code not in ok_statuses:
        failure = response.error if response.status_code == 0 else None  # no answer: what went wrong
        entry["errors"].append(
            f"{type(failure).__name__}: {failure}"[:120] if failure else str(response.status_code)
        )
    queries = response.headers.get("X-Queries")
    if queries is not None:
        entry["queries"].append(int(queries))


class Staff(HttpUser):
    abstract = True
    wait_time = between(1, 5)
    kind = ""

    def on_start(self) -> None:
        account = next(_accounts[self.kind])
        # Production cookies are Secure and this is plain HTTP behind no proxy: send them by hand, and say
        # the request came through TLS (gunicorn trusts X-Forwarded-Proto from 127.0.0.1, as behind nginx).
        self.client.headers.update(
            {
                "Cookie": f"sessionid={account['session']}; csrftoken={account['csrf']}",
                "X-Forwarded-Proto": "https",
                # gunicorn drops an idle keep-alive connection after 2 s, racing the next request of a user
                # who thought longer (connection reset): one connection a request, as through a proxy.
                "Connection": "close",
                "Referer": f"https://{POOLS['host']}/admin/",
            }
        )
        self.csrf = account["csrf"]
        self.request("static", "GET", POOLS["static"])

    def request(self, kind: str, method: str, url: str, ok: tuple[int, ...] = (200,), **kwargs: Any) -> Any:
        started = time.perf_counter()
        with self.client.request(
            method, url, name=kind, allow_redirects=False, catch_response=True, **kwargs
        ) as response:
            if response.status_code in ok:
                response.success()
            else:
                response.failure(f"{response.status_code} on {url}")
        _record(kind, started, response, ok)
        return response


class Clerk(Staff):
    weight = 5
    kind = "clerks"

    @task(3)
    def search_by_name(self) -> None:
        self.request(
            "clerk: search by name",
            "GET",
            "/admin/registry/individual/",
            params={"q": random.choice(POOLS["names"])},
        )

    @task(2)
    def search_by_id_number(self) -> None:
        term = random.choice(POOLS["documents"])
        self.request("clerk: search by ID number", "GET", "/admin/registry/individual/", params={"q": term})

    @task(3)
    def open_household(self) -> None:
        household = random.choice(POOLS["households"])
        self.request("clerk: household", "GET", f"/admin/registry/household/{household}/change/")


class Officer(Staff):
    weight = 2
    kind = "officers"

    @task(2)
    def dashboard(self) -> None:
        self.request("officer: dashboard", "GET", "/admin/")

    @task(1)
    def report(self) -> None:
        report = random.choice(POOLS["reports"])
        self.request("officer: report", "GET", f"/admin/reports/report/{report}/view/")


class Approver(Staff):
    weight = 2
    kind = "approvers"

    @task
    def decide(self) -> None:
        self.request("approver: tasks awaiting", "GET", "/admin/approvals/task/", params={"mine": "awaiting"})
        if not _tasks:
            return
        task_id = _tasks.pop()
        page = self.request("approver: task", "GET", f"/admin/approvals/task/{task_id}/change/")
        found = CSRF_INPUT.search(page.text or "") if page.status_code == 200 else None
        time.sleep(random.uniform(1, 5))  # reads the task before deciding (gevent-patched: yields)
        self.request(
            "approver: approve (POST)",
            "POST",
            f"/admin/approvals/task/{task_id}/approve/",
            ok=(302,),
            data={"csrfmiddlewaretoken": found.group(1) if found else self.csrf, "comment": "load test"},
        )


class Provider(Staff):
    weight = 1
    kind = "providers"

    def on_start(self) -> None:
        account = next(_accounts[self.kind])
        self.client.headers.update(
            {"X-API-Key": account["key"], "X-Forwarded-Proto": "https", "Connection": "close"}
        )

    @task
    def reconcile(self) -> None:
        if not _references:
            return
        lines = _references.pop()
        body = {
            "lines": [
                {
                    "reference": reference,
                    "status": "paid",
                    "amount_paid": amount,
                    "paid_at": "2026-11-15T10:00:00+00:00",
                    "transaction_id": f"TX-{reference}",
                }
                for reference, amount in lines
            ]
        }
        self.request(
            "provider: reconciliation (API)",
            "POST",
            "/api/payments/reconciliations",
            data=json.dumps(body),
            headers={"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())},
        )


@events.quitting.add_listener
def _write_results(**_: Any) -> None:
    with open(os.environ["LOAD_RESULTS"], "w", encoding="utf-8") as handle:
        json.dump(RESULTS, handle)
