"""Fixtures of the approvals tests: the test actions, and the ways to run background jobs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.approvals import actions


@pytest.fixture(autouse=True)
def test_actions() -> Iterator[None]:
    actions.register_test_actions()
    actions.executions.clear()
    yield
    actions.unregister_test_actions()


@pytest.fixture
def immediate_jobs(settings):  # type: ignore[no-untyped-def]
    """Background jobs run in-process when their transaction commits."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
