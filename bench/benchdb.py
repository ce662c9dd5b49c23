"""What every benchmark shares: a PostgreSQL database of its own, and the process's peak memory."""

from __future__ import annotations

import resource
from urllib.parse import urlparse


def database_prepare(url: str, *, fresh: bool) -> None:
    """Create the benchmark's database; with `fresh`, drop it first. Refuses the server's own databases."""
    import psycopg2

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    if name in {"", "postgres", "template0", "template1"}:
        raise SystemExit(f"Refusing to use the database {name!r}: give the benchmark a database of its own.")
    admin = psycopg2.connect(
        dbname="postgres",
        user=parts.username or "postgres",
        password=parts.password,
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        if fresh:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cursor.fetchone():
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def database_recreate(url: str) -> None:
    database_prepare(url, fresh=True)


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: kilobytes


def peak_rss_children_mb() -> float:
    """The largest peak of the child processes waited for (e.g. an upload's parsing workers)."""
    return round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)


def server_context() -> dict[str, str | float]:
    """What the figures depend on besides our code: the server's memory and WAL settings, the load."""
    import os

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name IN "
            "('server_version', 'shared_buffers', 'max_wal_size', 'wal_compression', 'synchronous_commit')"
        )
        context: dict[str, str | float] = dict(cursor.fetchall())
    context["load_average_1m"] = round(os.getloadavg()[0], 2)
    affinity = getattr(os, "sched_getaffinity", None)
    context["cores"] = len(affinity(0)) if affinity else os.cpu_count() or 1
    return context


def bench_environment(default_url: str) -> str:
    """The benchmark's PostgreSQL URL (DATABASE_URL, else `default_url`), set for Django with the project on
    the import path; SQLite is refused (the figures are about PostgreSQL at national scale)."""
    import os
    import sys
    from pathlib import Path

    url = os.environ.get("DATABASE_URL", default_url)
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DJANGO_DEBUG", "false")  # no query log growing through long runs
    # The benches time pages and jobs, not signing in: their staff sign in once, without a second factor
    # or an idle limit (inherited by the servers a bench starts).
    os.environ.setdefault("TWO_FACTOR_ENFORCE", "false")
    os.environ.setdefault("SESSION_IDLE_ENFORCE", "false")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    return url
