"""What each kind of job does when it dies, is retried or is cancelled: hooks its owning app registers.

The app that owns a task registers, next to it in its `tasks.py`:

    job_kind_register(
        payroll_generate_job,
        cleanup=payroll_generation_abandon,   # (job=, reason=): undo partial work, object back to "failed"
        retry=payroll_generation_retry,       # (job=, user=) -> the new Job; checks the user's rights
        retry_refusal=...,                    # (job=, user=) -> why the user may not retry, or None
        cancel=..., cancel_refusal=...,       # (job=, user=), same checks
    )

`jobs` sits below every app, so it never imports them: it finds the hooks by importing each
installed app's `tasks` module the first time it needs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.module_loading import autodiscover_modules

Hook = Callable[..., Any]
Refusal = Callable[..., "str | None"]


@dataclass(frozen=True)
class JobKind:
    kind: str
    cleanup: Hook | None = None
    retry: Hook | None = None
    retry_refusal: Refusal | None = None
    cancel: Hook | None = None
    cancel_refusal: Refusal | None = None


_kinds: dict[str, JobKind] = {}
_discovered = False


def task_kind(task: Any) -> str:
    """The dotted name of a django-tasks task's function: what `Job.kind` holds."""
    return f"{task.func.__module__}.{task.func.__name__}"


def job_kind_register(
    task: Any,
    *,
    cleanup: Hook | None = None,
    retry: Hook | None = None,
    retry_refusal: Refusal | None = None,
    cancel: Hook | None = None,
    cancel_refusal: Refusal | None = None,
) -> JobKind:
    kind = JobKind(
        kind=task_kind(task),
        cleanup=cleanup,
        retry=retry,
        retry_refusal=retry_refusal,
        cancel=cancel,
        cancel_refusal=cancel_refusal,
    )
    _kinds[kind.kind] = kind
    return kind


def job_kind(kind: str) -> JobKind:
    """The hooks of a kind of job; a kind nobody registered has none (its job is only marked failed)."""
    global _discovered
    if not _discovered:
        _discovered = True
        autodiscover_modules("tasks")
    return _kinds.get(kind) or JobKind(kind=kind)
