"""Maker-checker writes: request an action, decide on it, cancel or retry it, and run its executor once.

Decisions: `approval_decide(task=, user=, decision="approve"|"reject", comment=)`, or its
shorthands `task_approve` / `task_reject`. Each returns the task as it now is: an
approval that completes the last level runs the executor at once (or starts a
background job); a failing executor leaves the task `failed` with the reason and
nothing of its work applied. Every rule (maker ≠ checker, role, scope, one person
per task) is checked here, so no screen or forged POST can skip it.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from approvals.actions import Action, action_find, action_get, description_as_json
from approvals.models import OPEN_STATES, Approval, ApprovalLevel, ApprovalPolicy, Decision, Task, TaskState
from approvals.selectors import DEFAULT_ROLE, task_cancel_refusal, task_decision_refusal, task_retry_refusal
from approvals.signals import ENDED_STATES, task_ended_on_commit, task_executed_on_commit

logger = logging.getLogger(__name__)

User = AbstractBaseUser | AnonymousUser


def error_text(exc: BaseException) -> str:
    """A ValidationError (or any error) as one readable line."""
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(
                f"{field}: {' '.join(messages)}" if field != "__all__" else " ".join(messages)
                for field, messages in exc.message_dict.items()
            )
        return " ".join(exc.messages)
    return f"{type(exc).__name__}: {exc}"


def _jsonable(value: Any, *, what: str) -> Any:
    try:
        return json.loads(json.dumps(value, cls=DjangoJSONEncoder))
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"The {what} cannot be stored as JSON: {exc}.") from exc


@transaction.atomic
def policy_get_or_create(*, action: str) -> ApprovalPolicy:
    """The action's policy; one level approved by one Approver when none was configured yet."""
    policy = ApprovalPolicy.objects.filter(action=action).first()
    if policy is not None:
        return policy
    policy, created = ApprovalPolicy.objects.get_or_create(action=action)
    if created:
        role, _ = Group.objects.get_or_create(name=DEFAULT_ROLE)
        ApprovalLevel.objects.create(policy=policy, order=1, role=role, approvers_required=1)
    return policy


def _describe(action: Action, *, target: models.Model | None, payload: dict[str, Any]) -> dict[str, Any]:
    try:
        return description_as_json(action.describe(target=target, payload=payload))
    except Exception as exc:  # a describer's bug must not block the request or the execution
        logger.exception("Describer of %s failed", action.name)
        return {"error": error_text(exc)}


def _levels_snapshot(policy: ApprovalPolicy, amount: Decimal | None) -> list[dict[str, Any]]:
    if not policy.requires_approval:
        return []
    return [
        {
            "order": level.order,
            "role_id": level.role_id,
            "role": level.role.name,
            "required": level.approvers_required,
        }
        for level in policy.levels.select_related("role").order_by("order")
        if level.applies_to(amount)
    ]


def _open_task_message(task: Task) -> str:
    return (
        f"Task #{task.pk} ({task.action_label}, {task.get_state_display().lower()}, requested by "
        f"{task.maker} on {task.created_at:%Y-%m-%d %H:%M}) is already open for "
        f"{task.target_repr or 'this target'}: wait for its decision or cancel it first."
    )


def _open_task_for(*, action: str, content_type: ContentType | None, object_id: int | None) -> Task | None:
    if content_type is None:
        return None
    return (
        Task.objects.select_related("maker")
        .filter(action=action, content_type=content_type, object_id=object_id, state__in=OPEN_STATES)
        .first()
    )


def approval_request(
    *, action: str, target: models.Model | None, payload: dict[str, Any], maker: User, reason: str = ""
) -> Task:
    """Queue `action` on `target` for approval; run it at once when its policy needs no approval."""
    registered = action_get(action)
    if not maker.is_authenticated or not maker.is_active:
        raise ValidationError("Only a signed-in, active user can request an action.")
    if not isinstance(payload, dict):
        raise ValidationError(
            f"The payload of {action} must be a JSON object (a dict), not {type(payload).__name__}."
        )
    payload = _jsonable(payload, what=f"payload of {action}")
    content_type = object_id = None
    if target is not None:
        if target.pk is None:
            raise ValidationError(f"The target of {action} must be saved before a change to it is requested.")
        if not registered.user_can_view(maker, target):
            raise ValidationError(f"You may not act on {target}: it is outside what you can see.")
        content_type = ContentType.objects.get_for_model(target, for_concrete_model=False)
        object_id = target.pk
    amount = registered.amount(target=target, payload=payload) if registered.amount else None

    with transaction.atomic():
        existing = _open_task_for(action=action, content_type=content_type, object_id=object_id)
        if existing is not None:
            raise ValidationError(_open_task_message(existing), code="open_task")
        policy = policy_get_or_create(action=action)
        levels = _levels_snapshot(policy, amount)
        task = Task(
            action=action,
            content_type=content_type,
            object_id=object_id,
            target_repr=str(target)[:255] if target is not None else "",
            payload=payload,
            reason=reason,
            amount=amount,
            maker=maker,
            levels=levels,
        )
        if levels:
            task.current_level, task.current_role_id = levels[0]["order"], levels[0]["role_id"]
        task.description = {"requested": _describe(registered, target=target, payload=payload)}
        try:
            with transaction.atomic():
                task.save()
        except IntegrityError:
            # Another request for the same target won the race between our check and our insert.
            existing = _open_task_for(action=action, content_type=content_type, object_id=object_id)
            raise ValidationError(
                _open_task_message(existing) if existing else f"An open task already exists for {target}.",
                code="open_task",
            ) from None
        if not levels:
            task.approve()
            task.decided_at = timezone.now()
            task.save()
            _execute(task=task, action=registered, user=maker)
    return task


def _lock(task: Task) -> Task:
    # The task's row alone: FOR UPDATE over the join would also lock its maker's user row, so every
    # decision on one maker's tasks queued behind the others (seconds under load).
    return Task.objects.select_for_update(of=("self",)).select_related("maker").get(pk=task.pk)


def _target_missing(task: Task) -> bool:
    return bool(task.content_type_id) and task.target is None


def _ended(task: Task) -> Task:
    """Save a task that just ended and announce its end once the transaction commits (never on rollback).

    Every end of a task passes here, once; the receivers of `task_ended` bring its target in line.
    """
    assert task.state in ENDED_STATES, task.state
    task.save()
    if task.state == TaskState.EXECUTED:
        task_executed_on_commit(task)
    task_ended_on_commit(task)
    return task


def _fail(task: Task, error: str) -> Task:
    task.fail(error=error)
    return _ended(task)


def approval_decide(*, task: Task, user: User, decision: str, comment: str = "") -> Task:
    """Approve or reject the level now waiting; the last approval runs the action."""
    if decision not in (Decision.APPROVE, Decision.REJECT):
        raise ValidationError(f"Decision {decision!r} is unknown: use 'approve' or 'reject'.")
    comment = (comment or "").strip()
    if decision == Decision.REJECT and not comment:
        raise ValidationError("Say why you reject the task: a comment is required.")
    # Refuse decided tasks before waiting on a lock a long background execution may hold.
    state = Task.objects.filter(pk=task.pk).values_list("state", flat=True).first()
    if state is None:
        raise ValidationError(f"Task #{task.pk} no longer exists.")
    with transaction.atomic():
        locked = _lock(task) if state == TaskState.PENDING else None
        if locked is None or locked.state != TaskState.PENDING:
            current = locked or Task.objects.get(pk=task.pk)
            raise ValidationError(
                f"Task #{current.pk} is already {current.get_state_display().lower()}: "
                "there is nothing left to decide."
            )
        task = locked
        level = task.level_spec()
        if level is None:
            raise ValidationError(f"Task #{task.pk} has no level waiting for a decision.")
        registered = action_find(task.action)
        refusal = task_decision_refusal(task=task, user=user)
        if refusal:
            raise ValidationError(refusal)
        if _target_missing(task):
            return _fail(
                task, f"The {task.content_type.name} this task acts on ({task.target_repr}) was deleted."
            )
        Approval.objects.create(
            task=task, user=user, level=level["order"], decision=decision, comment=comment
        )
        if decision == Decision.REJECT:
            task.reject()
            task.decided_at = timezone.now()
            return _ended(task)
        approvals_here = task.approvals.filter(level=level["order"], decision=Decision.APPROVE).count()
        if approvals_here < level["required"]:
            return task  # the level needs more people; the Approval row is the record
        next_level = task.next_level_after(level["order"])
        if next_level is not None:
            task.advance(level=next_level)
            task.save()
            return task
        task.approve()
        task.decided_at = timezone.now()
        task.save()
        _execute(task=task, action=registered, user=user)
    return task


def task_approve(*, task: Task, user: User, comment: str = "") -> Task:
    return approval_decide(task=task, user=user, decision=Decision.APPROVE, comment=comment)


def task_reject(*, task: Task, user: User, comment: str) -> Task:
    return approval_decide(task=task, user=user, decision=Decision.REJECT, comment=comment)


@transaction.atomic
def task_cancel(*, task: Task, user: User, comment: str = "") -> Task:
    """The maker withdraws a task that is pending, or failed and not worth retrying."""
    task = _lock(task)
    refusal = task_cancel_refusal(task=task, user=user)
    if refusal:
        raise ValidationError(refusal)
    Approval.objects.create(
        task=task, user=user, level=task.current_level, decision=Decision.CANCEL, comment=comment
    )
    task.cancel()
    task.decided_at = timezone.now()
    return _ended(task)


@transaction.atomic
def task_retry(*, task: Task, user: User, comment: str = "") -> Task:
    """An approver runs a failed task's action again (e.g. after the data it needed was fixed)."""
    task = _lock(task)
    refusal = task_retry_refusal(task=task, user=user)
    if refusal:
        raise ValidationError(refusal)
    registered = action_find(task.action)
    existing = _open_task_for(action=task.action, content_type=task.content_type, object_id=task.object_id)
    if existing is not None:
        raise ValidationError(_open_task_message(existing))
    Approval.objects.create(task=task, user=user, level=None, decision=Decision.RETRY, comment=comment)
    task.approve()
    task.save()
    _execute(task=task, action=registered, user=user)
    return task


def _execute(*, task: Task, action: Action | None, user: User) -> None:
    """Run the approved action once, inside the caller's transaction with the task row locked."""
    if action is None:
        _fail(task, f"No installed app registers the action {task.action!r}: it cannot run.")
        return
    target = task.target if task.content_type_id else None
    if _target_missing(task):
        _fail(task, f"The {task.content_type.name} this task acts on ({task.target_repr}) was deleted.")
        return
    if action.background:
        from approvals.tasks import task_execute_job
        from jobs.services import job_start

        job = job_start(
            task=task_execute_job,
            label=f"Task #{task.pk}: {action.label}",
            user=user if user.is_authenticated else None,
            args=(task.pk,),
        )
        task.start_background(job=job)
        task.save()
        return
    task.description = {
        **task.description,
        "executed": _describe(action, target=target, payload=task.payload),
    }
    try:
        with transaction.atomic():  # a savepoint: a failing executor leaves nothing of its work
            result = action.executor(target=target, payload=task.payload, task=task)
            result = _jsonable(result, what=f"result of {task.action}")
    except ValidationError as exc:
        _fail(task, error_text(exc))
    except Exception as exc:  # the executor's bug must not leave the task stuck in approved
        logger.exception("Executor of %s failed on task #%s", task.action, task.pk)
        _fail(task, error_text(exc))
    else:
        task.finish(result=result, at=timezone.now())
        _ended(task)


def task_execute_in_job(*, task_id: int, progress: Any) -> None:
    """The background half of `_execute`: runs in the worker, inside one transaction."""
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task_id)
        if task.state != TaskState.EXECUTING:
            return
        action = action_get(task.action)
        if _target_missing(task):
            raise ValidationError(
                f"The {task.content_type.name} this task acts on ({task.target_repr}) was deleted."
            )
        target = task.target if task.content_type_id else None
        task.description = {
            **task.description,
            "executed": _describe(action, target=target, payload=task.payload),
        }
        result = action.executor(target=target, payload=task.payload, task=task, progress=progress)
        task.finish(result=_jsonable(result, what=f"result of {task.action}"), at=timezone.now())
        _ended(task)


@transaction.atomic
def task_fail_after_job(*, task_id: int, error: str) -> None:
    """Fail a task whose background execution died or raised (its work rolled back); once, while executing."""
    task = Task.objects.select_for_update().get(pk=task_id)
    if task.state == TaskState.EXECUTING:
        _fail(task, error)
