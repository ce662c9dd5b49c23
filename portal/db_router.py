"""Reads on PostgreSQL streaming replicas: which requests may read there, and the router that sends them.

One place decides. `ReplicaReadsMiddleware` (portal.middleware) marks a request replica-eligible when its
method is safe, its URL name is listed below (dashboards, reports, exports, searches and admin lists, the
read-only API) and the browser made no write of its own in the last DATABASE_REPLICA_STICKY_SECONDS (a
signed cookie set on every non-safe request). `ReplicaRouter` then sends that request's reads to one
replica, and everything else to the primary ("default"): writes, reads inside a transaction the code
opened, reads after the request wrote, the tables that must be current (sessions, sign-in lock-outs,
throttle counts, jobs and the task queue), and every read outside a request (job workers, commands)
unless the code asks otherwise with `replica_reads()`. Without DATABASE_REPLICA_URL there is no replica
alias and nothing is routed.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import Model
from django.urls import ResolverMatch

PRIMARY = "default"
STICKY_COOKIE = "portal_primary"
STICKY_SALT = "portal.db_router.sticky"

# Pages that only read and may be a moment (the replication lag) behind.
REPLICA_URL_NAMES = frozenset(
    {
        "admin:index",  # the dashboard
        "admin:app_list",
        "admin:registry_search",
        "admin:registry_search_households",
        "admin:registry_export",
        "admin:programs_beneficiary_export",
        "admin:payments_payroll_figures",
        "admin:payments_payroll_export",
        "admin:reports_report_view",
        "admin:reports_report_pinned",
        "admin:reports_report_export",
    }
)
REPLICA_URL_NAME_SUFFIXES = ("_changelist",)  # every admin list and its search box
REPLICA_NAMESPACES = frozenset({"api"})  # the API's GET routes: its write routes are POSTs

# Tables read right after their writes, or whose reads decide a write: always on the primary.
PRIMARY_APPS = frozenset(
    {
        "sessions",  # a session saved by the sign-in must be found by the next page
        "axes",  # lock-outs
        "django_cache",  # the throttle counts (DatabaseCache)
        "jobs",  # progress, leases and the "one refresh queued" check
        "django_tasks_database",  # the queue
    }
)


@dataclass
class ReadState:
    """Where this request or block reads: a replica alias, or None for the primary."""

    alias: str | None = None


_reads: ContextVar[ReadState | None] = ContextVar("portal_replica_reads", default=None)


def replica_aliases() -> list[str]:
    return list(getattr(settings, "DATABASE_REPLICAS", []))


def replica_choose() -> str | None:
    """One replica for a whole request (its reads then agree with each other); None without replicas."""
    aliases = replica_aliases()
    return random.choice(aliases) if aliases else None


def sticky_seconds() -> int:
    return int(getattr(settings, "DATABASE_REPLICA_STICKY_SECONDS", 10))


def url_name_reads_replica(match: ResolverMatch | None) -> bool:
    """Is a safe request to this view allowed to read a replica?"""
    if match is None or not match.url_name:
        return False
    if match.view_name in REPLICA_URL_NAMES:
        return True
    if match.namespace in REPLICA_NAMESPACES:
        return True
    return match.namespaces[:1] == ["admin"] and match.url_name.endswith(REPLICA_URL_NAME_SUFFIXES)


def reads_state() -> ReadState | None:
    return _reads.get()


def reads_begin(alias: str | None = None) -> Any:
    """Start a request's read state (primary unless `alias`); returns the token for `reads_end`."""
    return _reads.set(ReadState(alias=alias))


def reads_end(token: Any) -> None:
    _reads.reset(token)


@contextmanager
def replica_reads(alias: str | None = None) -> Iterator[str | None]:
    """Read from a replica inside the block (a job that accepts the lag asks for it; tests too).

    Yields the alias chosen; None (the primary) when no replica is configured.
    """
    chosen = alias or replica_choose()
    token = _reads.set(ReadState(alias=chosen))
    try:
        yield chosen
    finally:
        _reads.reset(token)


def replica_iteration(content: Iterable[Any], state: ReadState) -> Iterator[Any]:
    """A streaming response's chunks, each produced under the request's read state.

    The WSGI server iterates after the middleware has returned; the export's queries run then.
    """
    iterator = iter(content)
    while True:
        token = _reads.set(state)
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        finally:
            _reads.reset(token)
        yield chunk


def _in_transaction(alias: str = PRIMARY) -> bool:
    """Has the code opened a transaction on the primary (the test case's own wrapping aside)?"""
    connection = connections[alias]
    if connection.atomic_blocks:
        return any(not block._from_testcase for block in connection.atomic_blocks)
    return connection.connection is not None and not connection.autocommit  # a transaction begun by hand


class ReplicaRouter:
    """Reads of replica-eligible requests go to their replica; other reads and every write to the primary."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        state = _reads.get()
        if state is None or state.alias is None:
            return PRIMARY if replica_aliases() else None
        if model._meta.app_label in PRIMARY_APPS or _in_transaction():
            return PRIMARY
        return state.alias

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        state = _reads.get()
        if state is not None and state.alias is not None:
            state.alias = None  # the rest of the request reads what it wrote
        return PRIMARY if replica_aliases() else None

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        same = {PRIMARY, "progress", *replica_aliases()}
        if obj1._state.db in same and obj2._state.db in same:
            return True  # one database, seen through several connections
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        if db in replica_aliases():
            return False  # a replica follows the primary's schema
        return None
