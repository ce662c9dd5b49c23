"""Background jobs in the admin: list, progress bar that updates itself, outcome."""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404, HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.html import format_html

from jobs.models import Job
from jobs.roles import user_in_roles

# portal.roles.ADMINISTRATOR and AUDITOR: jobs sits below portal and cannot import it
# (tests/jobs keeps them equal).
SEE_ALL_JOBS_ROLES = ("Administrator", "Auditor")


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
    ]
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
        ]
        return urls + super().get_urls()

    def progress_view(self, request: HttpRequest, job_id: int) -> JsonResponse:
        job = get_object_or_404(self.get_queryset(request), pk=job_id)
        if not self.has_view_permission(request, job):
            raise Http404
        return JsonResponse(job.as_progress())
