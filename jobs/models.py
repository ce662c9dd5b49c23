"""Background jobs as people see them: what runs, for whom, how far it is, how it ended."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED_STATES = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


class Job(models.Model):
    """One run of a background task (django-tasks), with its progress.

    The task itself is queued with django-tasks; this row is what the portal
    shows: a progress bar, the rate, the time left, the outcome.
    """

    kind = models.CharField(max_length=100, help_text="Dotted name of the task function")
    label = models.CharField(max_length=255)
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    done = models.BigIntegerField(default=0)
    total = models.BigIntegerField(null=True, blank=True)
    message = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    task_id = models.CharField(max_length=64, blank=True, help_text="django-tasks result id")
    task_args = models.JSONField(
        default=list, blank=True, help_text="The task's arguments after the job id, for a retry"
    )
    # The lease: the worker running the job renews it; a running job whose lease expired is dead.
    worker = models.CharField(max_length=100, blank=True, help_text="host:process of the worker running it")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    db_session = models.CharField(
        max_length=100, blank=True, help_text="The worker's PostgreSQL session (pid@start), ended if it dies"
    )
    retried_as = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The job retrying it",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "created_at"], name="job_state_idx")]

    def __str__(self) -> str:
        return self.label

    @property
    def percent(self) -> int:
        if self.state == JobState.SUCCEEDED:
            return 100
        if not self.total:
            return 0
        return min(100, int(self.done * 100 / self.total))

    @property
    def elapsed(self) -> timedelta | None:
        if not self.started_at:
            return None
        return (self.finished_at or timezone.now()) - self.started_at

    @property
    def rate(self) -> float | None:
        """Units done per second."""
        elapsed = self.elapsed
        if not elapsed or not self.done:
            return None
        return self.done / max(elapsed.total_seconds(), 0.001)

    @property
    def seconds_left(self) -> float | None:
        rate = self.rate
        if not rate or not self.total or self.state != JobState.RUNNING:
            return None
        return max(self.total - self.done, 0) / rate

    def as_progress(self) -> dict[str, object]:
        return {
            "id": self.pk,
            "state": self.state,
            "state_label": self.get_state_display(),
            "done": self.done,
            "total": self.total,
            "percent": self.percent,
            "rate": round(self.rate, 1) if self.rate else None,
            "seconds_left": round(self.seconds_left) if self.seconds_left is not None else None,
            "message": self.message,
            "error": self.error,
            "finished": self.state in FINISHED_STATES,
        }
