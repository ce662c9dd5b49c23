"""Reads of tasks and policies, scoped to the user through the actions' visibility callbacks."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet

from access.roles import (
    ADMINISTRATOR,
    APPROVER,
    user_holds_every_role,
    user_holds_role_id,
    user_in_roles,
    user_role_ids,
)
from approvals.actions import action_find, actions_registered
from approvals.models import Approval, Decision, Task, TaskState

User = AbstractBaseUser | AnonymousUser

SEE_ALL_ROLES = (ADMINISTRATOR,)
DEFAULT_ROLE = APPROVER  # a task's level when no policy names one


# The header badge and the dashboard's figure count at most this many tasks and then say "99+".
PENDING_COUNT_CAP = 99

# What is waiting for a user, by action: the content types of those tasks' targets (None: no target).
Waiting = dict[str, set[int | None]]


def _visible_q(user: User, waiting: Waiting | None = None) -> tuple[Q, Q | None]:
    """Target visibility as SQL, and the tasks only a per-object `can_view` can answer (None: no such task).

    `visible(user)` scopes the tasks whose target is of its queryset's model; an
    action's targets of another model, and actions with only `can_view`, are
    checked one by one where that is affordable (the tasks waiting for a user).
    With `waiting`, the SQL covers those actions and target types alone: the caller keeps to them.
    """
    scoped = Q()
    limited: list[str] = []
    per_object: Q | None = None
    for name, action in actions_registered().items():
        if waiting is not None and name not in waiting:
            continue
        present = waiting[name] if waiting is not None else None
        if action.visible is not None:
            limited.append(name)
            other_model = Q(action=name)
            uncovered = set(present) if present is not None else None
            scoped |= Q(action=name, object_id__isnull=True)
            for targets in action.visible_querysets(user):
                content_type = ContentType.objects.get_for_model(targets.model, for_concrete_model=False)
                other_model &= ~Q(content_type=content_type)
                if uncovered is not None:
                    if content_type.pk not in uncovered:
                        continue
                    uncovered.discard(content_type.pk)
                scoped |= Q(action=name, content_type=content_type, object_id__in=targets.values("pk"))
            scoped |= other_model
            if uncovered is not None and not uncovered - {None}:
                continue  # every waiting target is of a model `visible` answers: nothing to check by hand
        elif action.can_view is not None:
            other_model = Q(action=name)
        else:
            continue
        per_object = other_model if per_object is None else per_object | other_model
    return (~Q(action__in=limited) | scoped) if limited else Q(), per_object


def _hidden_by_can_view(user: User, tasks: QuerySet[Task]) -> list[int]:
    registered = actions_registered()
    hidden: list[int] = []
    for task in tasks.prefetch_related("target").iterator(chunk_size=500):
        if task.target is not None and not registered[task.action].user_can_view(user, task.target):
            hidden.append(task.pk)
    return hidden


def _waiting_at_my_roles(user: User) -> tuple[QuerySet[Task], bool]:
    """Pending tasks at a level the user may decide (any target), and whether they hold every role."""
    qs = Task.objects.filter(state=TaskState.PENDING, current_role__isnull=False).exclude(maker=user)
    every_role = user_holds_every_role(user)
    if not every_role:
        qs = qs.filter(current_role__in=user_role_ids(user))
    qs = qs.exclude(pk__in=Approval.objects.filter(user=user, decision=Decision.APPROVE).values("task_id"))
    return qs, every_role


def _awaiting_in_sql(user: User) -> tuple[QuerySet[Task], Q | None]:
    """What SQL alone can say is waiting for the user, and which of it still needs a per-object check.

    One small query first reads which actions (and target types) wait at the user's levels, so the
    visibility SQL names only those: most users have none (nothing more is asked), and an approver's
    query is a few conditions instead of one per registered action (the whole query was most of an
    admin page's cost, to build in Python and to plan).
    """
    qs, every_role = _waiting_at_my_roles(user)
    waiting: Waiting = {}
    for action, content_type_id in qs.order_by().values_list("action", "content_type_id").distinct():
        waiting.setdefault(action, set()).add(content_type_id)
    if not waiting:
        return Task.objects.none(), None
    visible, per_object = _visible_q(user, waiting)
    qs = qs.filter(action__in=sorted(waiting)).filter(visible)
    return qs, (None if every_role else per_object)


def tasks_awaiting(user: User) -> QuerySet[Task]:
    """Pending tasks whose waiting level this user could approve now."""
    if not user.is_authenticated or not user.is_active:
        return Task.objects.none()
    qs, per_object = _awaiting_in_sql(user)
    if per_object is not None:
        hidden = _hidden_by_can_view(user, qs.filter(per_object))
        if hidden:
            qs = qs.exclude(pk__in=hidden)
    return qs


def tasks_requested_by(user: User) -> QuerySet[Task]:
    if not user.is_authenticated:
        return Task.objects.none()
    return Task.objects.filter(maker=user)


def user_sees_all_tasks(user: User) -> bool:
    return user_in_roles(user, SEE_ALL_ROLES)


def task_list(*, user: User) -> QuerySet[Task]:
    """Tasks the user may see: administrators all; others theirs and those on targets they see.

    Actions that only give a per-object `can_view` are not filtered here (it would
    load every target); their task page checks it before showing anything.
    """
    if not user.is_authenticated or not user.is_active:
        return Task.objects.none()
    qs = Task.objects.all()
    if user_sees_all_tasks(user):
        return qs
    visible, _ = _visible_q(user)
    return qs.filter(Q(maker=user) | Q(pk__in=Approval.objects.filter(user=user).values("task_id")) | visible)


def pending_approvals_count(user: User, *, cap: int | None = None) -> int:
    """The figure in the header and on the dashboard. With `cap`, counting stops past it (cap + 1 means
    "more than cap"): a bounded read however many tasks wait. Two small queries unless some task needs a
    per-object check."""
    if not user.is_authenticated or not user.is_active or not user.is_staff:
        return 0
    qs, per_object = _awaiting_in_sql(user)
    if per_object is None:
        if cap is None:
            return qs.count()
        return qs.order_by().values("pk")[: cap + 1].count()
    counts = qs.aggregate(total=Count("pk"), to_check=Count("pk", filter=per_object))
    if not counts["to_check"]:
        total = counts["total"]
    else:
        total = counts["total"] - len(_hidden_by_can_view(user, qs.filter(per_object)))
    return total if cap is None else min(total, cap + 1)


# The badge's count is kept in the cache this long per user: every page shows it, and counting is two
# queries and the visibility rules of each waiting action. Any task created or changed moves TASKS_VERSION
# on (at once and after its commit), so a decision shows on the next page of this process, and of every
# process when the cache is shared (Redis); a role or policy change shows within these seconds.
PENDING_COUNT_SECONDS = 20
TASKS_VERSION = "approvals:tasks-version"


def tasks_version_bump() -> None:
    try:
        cache.incr(TASKS_VERSION)
    except ValueError:  # not in the cache (yet, or no longer)
        cache.set(TASKS_VERSION, 1, None)


def pending_approvals_count_once(user: User) -> int:
    """`pending_approvals_count` up to PENDING_COUNT_CAP + 1, counted once per user object (a request's) and
    at most every PENDING_COUNT_SECONDS while no task changes: the header badge and the dashboard's key
    figure both show it ("99+" past the cap)."""
    cached = getattr(user, "_pending_approvals_count", None)
    if cached is None:
        if not user.is_authenticated:
            return 0
        key = f"approvals:pending:{user.pk}:{cache.get(TASKS_VERSION, 0)}"
        cached = cache.get(key)
        if cached is None:
            cached = pending_approvals_count(user, cap=PENDING_COUNT_CAP)
            cache.set(key, cached, PENDING_COUNT_SECONDS)
        user._pending_approvals_count = cached  # type: ignore[union-attr]
    return cached


def pending_count_display(count: int) -> str:
    """A capped count as the header and the dashboard show it: "99+" past the cap."""
    return f"{PENDING_COUNT_CAP}+" if count > PENDING_COUNT_CAP else str(count)


def user_can_see_target(*, task: Task, user: User) -> bool:
    """Asked by the task page, its decision and retry checks: answered once per task object and user."""
    answers: dict[int | None, bool] = task.__dict__.setdefault("_user_can_see_target", {})
    if user.pk not in answers:
        registered = action_find(task.action)
        if registered is None or not task.content_type_id or user_sees_all_tasks(user):
            answers[user.pk] = True
        else:
            target = task.target
            answers[user.pk] = target is None or registered.user_can_view(user, target)
    return answers[user.pk]


def task_decision_refusal(*, task: Task, user: User) -> str | None:
    """Why this user may not approve or reject the task's waiting level now; None when they may."""
    if not user.is_authenticated or not user.is_active:
        return "Only a signed-in, active user can decide on a task."
    if task.state != TaskState.PENDING:
        return (
            f"Task #{task.pk} is already {task.get_state_display().lower()}: there is nothing left to decide."
        )
    level = task.level_spec()
    if level is None:
        return f"Task #{task.pk} has no level waiting for a decision."
    if user.pk == task.maker_id:
        return f"You requested task #{task.pk}: its maker cannot approve or reject it (cancel it instead)."
    if not user_holds_role_id(user, level["role_id"]):
        return (
            f"Level {level['order']} of task #{task.pk} is decided by the role “{level['role']}”, "
            "which you do not hold."
        )
    earlier = task.approvals.filter(user=user, decision=Decision.APPROVE).first()
    if earlier is not None:
        return (
            f"You already approved level {earlier.level} of task #{task.pk}: "
            f"level {level['order']} needs another person."
        )
    if not user_can_see_target(task=task, user=user):
        return f"Task #{task.pk} acts on a record outside what you can see: you cannot decide on it."
    return None


def task_cancel_refusal(*, task: Task, user: User) -> str | None:
    if not user.is_authenticated or user.pk != task.maker_id:
        return f"Only the maker of task #{task.pk} ({task.maker}) can cancel it."
    if task.state not in (TaskState.PENDING, TaskState.FAILED):
        return f"Task #{task.pk} is {task.get_state_display().lower()}: it can no longer be cancelled."
    return None


def task_retry_refusal(*, task: Task, user: User) -> str | None:
    if task.state != TaskState.FAILED:
        return f"Task #{task.pk} is {task.get_state_display().lower()}: only a failed task can be retried."
    if not user.is_authenticated or not user.is_active:
        return "Only a signed-in, active user can retry a task."
    if user.pk == task.maker_id:
        return f"You requested task #{task.pk}: an approver, not its maker, retries it."
    role_ids = [level["role_id"] for level in task.levels]
    if not role_ids:
        role_ids = list(Group.objects.filter(name=DEFAULT_ROLE).values_list("pk", flat=True))
    if not any(user_holds_role_id(user, role_id) for role_id in role_ids):
        roles = ", ".join(level["role"] for level in task.levels) or DEFAULT_ROLE
        return f"Retrying task #{task.pk} needs one of the roles that approve it ({roles})."
    if not user_can_see_target(task=task, user=user):
        return f"Task #{task.pk} acts on a record outside what you can see: you cannot retry it."
    return None
