"""Background jobs in the admin: list, a progress bar that updates itself, the outcome; retry or cancel."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from access.roles import ADMINISTRATOR, AUDITOR, user_in_roles
from jobs.models import Job
from jobs.recovery import job_cancel, job_cancel_refusal, job_retry, job_retry_refusal

SEE_ALL_JOBS_ROLES = (ADMINISTRATOR, AUDITOR)


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["label", "state", "progress_bar", "created_by", "created_at", "finished_at"]
    list_filter = ["state", "kind"]
    list_select_related = ["created_by"]
    search_fields = ["label"]
    readonly_fields = [
        "kind",
        "label",
        "state",
        "progress_bar",
        "done",
        "total",
        "message",
        "error",
        "result",
        "task_id",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "worker",
        "heartbeat_at",
        "lease_expires_at",
        "retried_as",
    ]
    exclude = ["task_args", "db_session"]
    show_full_result_count = False
    change_form_template = "jobs/job_change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        qs = super().get_queryset(request)
        if user_in_roles(request.user, SEE_ALL_JOBS_ROLES):
            return qs
        return qs.filter(created_by=request.user)

    @admin.display(description="Progress")
    def progress_bar(self, obj: Job) -> str:
        return format_html(
            '<div class="progress" data-job-progress="{}">'
            '<div class="progress-bar" style="width: {}%"></div></div>'
            '<span class="progress-text" data-job-text="{}">{}</span>',
            obj.pk,
            obj.percent,
            obj.pk,
            f"{obj.done:,} / {obj.total:,}" if obj.total else f"{obj.done:,}",
        )

    def get_urls(self):  # type: ignore[no-untyped-def]
        urls = [
            path(
                "<int:job_id>/progress.json",
                self.admin_site.admin_view(self.progress_view),
                name="jobs_job_progress",
            ),
            path("<int:job_id>/retry/", self.admin_site.admin_view(self.retry_view), name="jobs_job_retry"),
            path(
                "<int:job_id>/cancel/", self.admin_site.admin_view(self.cancel_view), name="jobs_job_cancel"
            ),
        ]
        return urls + super().get_urls()

    def progress_view(self, request: HttpRequest, job_id: int) -> JsonResponse:
        job = get_object_or_404(self.get_queryset(request), pk=job_id)
        if not self.has_view_permission(request, job):
            raise Http404
        return JsonResponse(job.as_progress())

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        job = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if job is not None:
            # The buttons show only to whom the services would allow it; the POST checks again.
            extra_context["job_may_retry"] = job_retry_refusal(job=job, user=request.user) is None
            extra_context["job_may_cancel"] = job_cancel_refusal(job=job, user=request.user) is None
        return super().change_view(request, object_id, form_url, extra_context)

    def _act(self, request: HttpRequest, job_id: int, act: Any, done: str) -> HttpResponse:
        job = get_object_or_404(self.get_queryset(request), pk=job_id)
        if not self.has_view_permission(request, job):
            raise Http404
        try:
            result = act(job=job, user=request.user)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            result = job
        else:
            self.message_user(request, done % {"job": job.pk, "new": result.pk}, messages.SUCCESS)
        target = result if self.get_queryset(request).filter(pk=result.pk).exists() else job
        return HttpResponseRedirect(reverse("admin:jobs_job_change", args=[target.pk]))

    @method_decorator(require_POST)
    def retry_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        return self._act(request, job_id, job_retry, _("Job #%(job)s is retried as job #%(new)s."))

    @method_decorator(require_POST)
    def cancel_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        return self._act(request, job_id, job_cancel, _("Job #%(job)s is cancelled."))
