"""Fixtures of the jobs tests: real worker processes (tests.jobs.workers)."""

from tests.jobs.workers import worker_site  # noqa: F401
