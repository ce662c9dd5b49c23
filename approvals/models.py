"""Maker-checker data: approval policies and their levels, tasks (a state machine) and their decisions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from approvals.actions import action_label


class ApprovalPolicy(models.Model):
    """How one action is approved. Keyed by the action's name, so it may exist before the app registers it."""

    action = models.CharField(max_length=100, unique=True, help_text="Action name, e.g. registry.update")
    requires_approval = models.BooleanField(
        default=True, help_text="When off, the action runs at once when requested (and is still recorded)."
    )
    notes = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["action"]
        verbose_name_plural = "approval policies"

    def __str__(self) -> str:
        return f"{action_label(self.action)} ({self.action})"


class ApprovalLevel(models.Model):
    """One step of a policy: who approves it and how many distinct people must."""

    policy = models.ForeignKey(ApprovalPolicy, on_delete=models.CASCADE, related_name="levels")
    order = models.PositiveSmallIntegerField(default=1, help_text="Levels are approved in this order.")
    role = models.ForeignKey(
        Group, on_delete=models.PROTECT, related_name="+", help_text="Role that approves this level"
    )
    approvers_required = models.PositiveSmallIntegerField(default=1, help_text="Distinct approvers needed")
    applies_above_amount = models.DecimalField(
        max_digits=18,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Only when the task's amount is above this (e.g. large payrolls); empty: always.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["policy", "order"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "order"], name="approval_level_unique_order"),
            models.CheckConstraint(
                condition=Q(approvers_required__gte=1), name="approval_level_required_positive"
            ),
        ]

    def __str__(self) -> str:
        extra = f" above {self.applies_above_amount:,}" if self.applies_above_amount is not None else ""
        return f"Level {self.order}: {self.approvers_required} × {self.role}{extra}"

    def applies_to(self, amount: Decimal | None) -> bool:
        if self.applies_above_amount is None:
            return True
        return amount is not None and amount > self.applies_above_amount


class TaskState(models.TextChoices):
    PENDING = "pending", "Pending approval"
    APPROVED = "approved", "Approved"
    EXECUTING = "executing", "Executing"
    EXECUTED = "executed", "Executed"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


# At most one task per target and action may be in these states.
OPEN_STATES = (TaskState.PENDING, TaskState.APPROVED, TaskState.EXECUTING)
DECIDED_STATES = (TaskState.EXECUTED, TaskState.REJECTED, TaskState.CANCELLED, TaskState.FAILED)


class Task(FSMModelMixin, models.Model):
    """A requested action waiting for, or past, its approvals.

    `levels` is the policy's levels as they applied when the task was made
    (later policy edits do not move the goalposts of open tasks);
    `current_level`/`current_role` point at the level now waiting.
    """

    action = models.CharField(max_length=100)
    content_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    target = GenericForeignKey("content_type", "object_id")
    target_repr = models.CharField(
        max_length=255, blank=True, help_text="The target as it read when requested"
    )
    payload = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    amount = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    maker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approval_tasks"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    state = FSMField(max_length=16, choices=TaskState.choices, default=TaskState.PENDING, protected=True)
    levels = models.JSONField(default=list, blank=True)
    description = models.JSONField(
        default=dict, blank=True, help_text="The change as described when requested, and again when executed"
    )
    current_level = models.PositiveSmallIntegerField(null=True, blank=True)
    current_role = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["action", "content_type", "object_id"],
                condition=Q(state__in=["pending", "approved", "executing"]),
                name="approval_task_one_open_per_target",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "current_role"], name="task_awaiting_idx"),
            models.Index(fields=["-created_at", "-id"], name="task_created_idx"),
            models.Index(fields=["maker", "created_at"], name="task_maker_idx"),
            models.Index(fields=["content_type", "object_id"], name="task_target_idx"),
            models.Index(fields=["action", "created_at"], name="task_action_idx"),
        ]

    def __str__(self) -> str:
        return f"Task #{self.pk} {action_label(self.action)}: {self.target_repr or 'no target'}"

    @property
    def action_label(self) -> str:
        return action_label(self.action)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def level_spec(self, order: int | None = None) -> dict[str, Any] | None:
        order = self.current_level if order is None else order
        for level in self.levels:
            if level["order"] == order:
                return level
        return None

    def next_level_after(self, order: int) -> dict[str, Any] | None:
        later = [level for level in self.levels if level["order"] > order]
        return min(later, key=lambda level: level["order"]) if later else None

    def clean(self) -> None:
        if self.content_type_id and not self.object_id:
            raise ValidationError({"object_id": "A task with a target type needs the target's id."})

    # Transitions: the services check who may call them; these only guard the states.

    @transition(field=state, source=TaskState.PENDING, target=TaskState.PENDING)
    def advance(self, *, level: dict[str, Any]) -> None:
        self.current_level = level["order"]
        self.current_role_id = level["role_id"]

    @transition(field=state, source=[TaskState.PENDING, TaskState.FAILED], target=TaskState.APPROVED)
    def approve(self) -> None:
        self.current_level = None
        self.current_role = None
        self.error = ""

    @transition(field=state, source=TaskState.PENDING, target=TaskState.REJECTED)
    def reject(self) -> None:
        self.current_level = None
        self.current_role = None

    @transition(field=state, source=[TaskState.PENDING, TaskState.FAILED], target=TaskState.CANCELLED)
    def cancel(self) -> None:
        self.current_level = None
        self.current_role = None

    @transition(field=state, source=TaskState.APPROVED, target=TaskState.EXECUTING)
    def start_background(self, *, job: Any) -> None:
        self.job = job

    @transition(field=state, source=[TaskState.APPROVED, TaskState.EXECUTING], target=TaskState.EXECUTED)
    def finish(self, *, result: dict[str, Any] | None, at: Any) -> None:
        self.result = result or {}
        self.executed_at = at
        self.error = ""

    @transition(
        field=state,
        source=[TaskState.PENDING, TaskState.APPROVED, TaskState.EXECUTING],
        target=TaskState.FAILED,
    )
    def fail(self, *, error: str) -> None:
        self.error = error
        self.current_level = None
        self.current_role = None


class Decision(models.TextChoices):
    APPROVE = "approve", "Approved"
    REJECT = "reject", "Rejected"
    CANCEL = "cancel", "Cancelled"
    RETRY = "retry", "Retried"


class Approval(models.Model):
    """One decision on a task: who, at which level, what, why, when."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="approvals")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approval_decisions"
    )
    level = models.PositiveSmallIntegerField(null=True, blank=True)
    decision = models.CharField(max_length=16, choices=Decision.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            # The same person never fills two approvals of one task.
            models.UniqueConstraint(
                fields=["task", "user"], condition=Q(decision="approve"), name="approval_one_approve_per_user"
            ),
        ]
        indexes = [models.Index(fields=["user", "decision"], name="approval_user_idx")]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} by {self.user} (level {self.level})"
