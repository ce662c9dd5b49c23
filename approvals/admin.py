"""Approvals in the admin: my approvals, my requests, all tasks, the task page and its decisions, policies."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import OperationalError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html

from access.history import ScopedHistoryAdmin
from access.roles import user_holds_every_role, user_role_ids
from approvals.actions import action_find, actions_registered
from approvals.models import ApprovalLevel, ApprovalPolicy, Task, TaskState
from approvals.selectors import (
    task_cancel_refusal,
    task_decision_refusal,
    task_list,
    task_retry_refusal,
    tasks_awaiting,
    user_can_see_target,
    user_sees_all_tasks,
)
from approvals.services import error_text, task_approve, task_cancel, task_reject, task_retry

BULK_APPROVE_LIMIT = 500


class CappedCountPaginator(Paginator):
    """Counts at most `cap` + 1 tasks: the task table only grows, and a full COUNT(*) would scan it."""

    cap = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by().values("pk")[: self.cap + 1].count()


class MakerFilter(admin.SimpleListFilter):
    """Choices from the staff, not a DISTINCT over the task table."""

    title = "maker"
    parameter_name = "maker"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        users = get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")
        return [(str(pk), username) for pk, username in users.values_list("pk", "username")[:500]]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Task]) -> QuerySet[Task]:
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            raise IncorrectLookupParameters(f"maker={value!r} is not a user id")
        return queryset.filter(maker_id=int(value))


class MineFilter(admin.SimpleListFilter):
    title = "whose"
    parameter_name = "mine"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("awaiting", "Waiting for my approval"), ("requested", "My requests")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Task]) -> QuerySet[Task]:
        if self.value() == "awaiting":
            if getattr(request, "_tasks_awaiting_listed", False):
                return queryset  # TaskAdmin.get_queryset already lists them
            return queryset.filter(pk__in=tasks_awaiting(request.user).values("pk"))
        if self.value() == "requested":
            return queryset.filter(maker=request.user)
        return queryset


class ActionFilter(admin.SimpleListFilter):
    """Choices from the registered actions and the policies, never a DISTINCT over the task table."""

    title = "action"
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        names = set(actions_registered()) | set(ApprovalPolicy.objects.values_list("action", flat=True))
        return sorted(((name, str(action_label_for(name))) for name in names), key=lambda item: item[1])

    def queryset(self, request: HttpRequest, queryset: QuerySet[Task]) -> QuerySet[Task]:
        return queryset.filter(action=self.value()) if self.value() else queryset


def action_label_for(name: str) -> str:
    action = action_find(name)
    return action.label if action else name


def admin_url_of(obj: Any) -> str:
    if obj is None:
        return ""
    try:
        return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return ""


@admin.register(Task)
class TaskAdmin(ScopedHistoryAdmin):
    list_display = [
        "number",
        "action_display",
        "target_display",
        "state",
        "waiting_level",
        "maker",
        "created_at",
    ]
    list_display_links = ["number", "target_display"]
    list_filter = [
        MineFilter,
        ActionFilter,
        "state",
        MakerFilter,
        "created_at",
    ]
    list_select_related = ["maker", "current_role"]
    search_fields = ["=id", "target_repr"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    show_facets = admin.ShowFacets.NEVER  # facet counts would scan the whole task table
    list_per_page = 50
    actions = ["approve_selected"]
    detail_template = "approvals/task_detail.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Task]:
        if request.GET.get(MineFilter.parameter_name) == "awaiting":
            # The tasks waiting for me are among those I may see: listed straight, without the visibility
            # SQL of every registered action that task_list would add around them.
            request._tasks_awaiting_listed = True  # type: ignore[attr-defined]
            tasks = tasks_awaiting(request.user)
        else:
            tasks = task_list(user=request.user)
        return tasks.select_related("maker", "current_role", "job")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tasks are requested through the services of the app that owns the action

    def has_change_permission(self, request: HttpRequest, obj: Task | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Task | None = None) -> bool:
        return False  # the audit trail keeps every task

    def has_approve_permission(self, request: HttpRequest) -> bool:
        cached = getattr(request, "_approvals_may_approve", None)
        if cached is None:
            user = request.user
            cached = user.is_active and (
                user_holds_every_role(user)
                or ApprovalLevel.objects.filter(role__in=user_role_ids(user)).exists()
            )
            request._approvals_may_approve = cached
        return cached

    @admin.display(description="Task", ordering="pk")
    def number(self, obj: Task) -> str:
        return f"#{obj.pk}"

    @admin.display(description="Action", ordering="action")
    def action_display(self, obj: Task) -> str:
        return obj.action_label

    @admin.display(description="Target", ordering="target_repr")
    def target_display(self, obj: Task) -> str:
        return obj.target_repr or "—"

    @admin.display(description="Waiting for")
    def waiting_level(self, obj: Task) -> str:
        if obj.state != TaskState.PENDING or obj.current_level is None:
            return "—"
        return f"Level {obj.current_level}: {obj.current_role.name if obj.current_role else '?'}"

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("my-approvals/", view(self.awaiting_view), name="approvals_task_awaiting"),
            path("my-requests/", view(self.requested_view), name="approvals_task_requested"),
            path("<path:object_id>/progress.json", view(self.progress_view), name="approvals_task_progress"),
            path(
                "<path:object_id>/approve/",
                view(self.decision_view),
                {"verb": "approve"},
                name="approvals_task_approve",
            ),
            path(
                "<path:object_id>/reject/",
                view(self.decision_view),
                {"verb": "reject"},
                name="approvals_task_reject",
            ),
            path(
                "<path:object_id>/cancel/",
                view(self.decision_view),
                {"verb": "cancel"},
                name="approvals_task_cancel",
            ),
            path(
                "<path:object_id>/retry/",
                view(self.decision_view),
                {"verb": "retry"},
                name="approvals_task_retry",
            ),
            *super().get_urls(),
        ]

    def awaiting_view(self, request: HttpRequest) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:approvals_task_changelist") + "?mine=awaiting")

    def requested_view(self, request: HttpRequest) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:approvals_task_changelist") + "?mine=requested")

    def _task_or_404(self, request: HttpRequest, object_id: str) -> Task:
        task = self.get_object(request, unquote(object_id))
        if task is None or not self.has_view_permission(request, task):
            raise Http404("No such task, or not one you may see.")
        if task.maker_id != request.user.pk and not user_can_see_target(task=task, user=request.user):
            raise Http404("No such task, or not one you may see.")
        return task

    def progress_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        """The task's job progress for everyone who may see the task (the jobs list shows only one's own)."""
        task = self._task_or_404(request, object_id)
        if task.job is None:
            raise Http404("This task runs no background job.")
        return JsonResponse({**task.job.as_progress(), "task_state": task.state})

    def decision_view(self, request: HttpRequest, object_id: str, verb: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        task = self._task_or_404(request, object_id)
        comment = request.POST.get("comment", "")
        services = {
            "approve": task_approve,
            "reject": task_reject,
            "cancel": task_cancel,
            "retry": task_retry,
        }
        try:
            task = services[verb](task=task, user=request.user, comment=comment)
        except ValidationError as exc:
            self.message_user(request, error_text(exc), messages.ERROR)
        except OperationalError:
            # SQLite lets one writer in; the other is told to try again rather than shown an error page.
            self.message_user(
                request,
                "The database was busy with another decision: reload the task and try again.",
                messages.ERROR,
            )
        else:
            self._report(request, task, verb)
        return HttpResponseRedirect(reverse("admin:approvals_task_change", args=[task.pk]))

    def _report(self, request: HttpRequest, task: Task, verb: str) -> None:
        if task.state == TaskState.FAILED:
            self.message_user(request, f"Task #{task.pk} failed: {task.error}", messages.ERROR)
        elif task.state == TaskState.EXECUTED:
            self.message_user(request, f"Task #{task.pk} was approved and executed.", messages.SUCCESS)
        elif task.state == TaskState.EXECUTING:
            self.message_user(
                request, f"Task #{task.pk} was approved; it is executing in the background.", messages.SUCCESS
            )
        elif verb == "approve":
            self.message_user(
                request,
                f"Your approval of task #{task.pk} is recorded; it waits for level {task.current_level}.",
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request, f"Task #{task.pk} is {task.get_state_display().lower()}.", messages.SUCCESS
            )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method != "GET":
            # Tasks are never edited by hand: decisions go through the endpoints and their services.
            raise PermissionDenied
        task = self._task_or_404(request, object_id)
        user = request.user
        registered = action_find(task.action)
        target = task.target if task.content_type_id else None
        description, description_error, description_when = None, "", ""
        target_deleted = bool(task.content_type_id) and target is None
        live = (
            task.state in (TaskState.PENDING, TaskState.FAILED)
            and registered is not None
            and not target_deleted
        )
        if live:
            description_when = "as it would apply now"
            try:
                description = registered.describe(target=target, payload=task.payload)
            except Exception as exc:  # a describer's failure must not hide the task
                description_error = error_text(exc)
        else:
            # A decided task shows the change as it ran (or was asked for), not as the record reads today.
            for key, when in (("executed", "as it was when executed"), ("requested", "as it was requested")):
                if task.description.get(key):
                    description, description_when = task.description[key], when
                    description_error = description.get("error", "")
                    break
        decisions = list(task.approvals.select_related("user"))
        levels = [
            {
                **level,
                "approvals": [d for d in decisions if d.level == level["order"] and d.decision == "approve"],
            }
            for level in task.levels
        ]
        refusal = task_decision_refusal(task=task, user=user)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Task #{task.pk}: {task.action_label}",
            "subtitle": None,
            "opts": self.opts,
            "original": task,
            "task": task,
            "target": target,
            "target_url": admin_url_of(target),
            "target_deleted": target_deleted,
            "description_when": description_when,
            "registered": registered,
            "description": description,
            "description_error": description_error,
            "decisions": decisions,
            "levels": levels,
            "can_decide": refusal is None,
            "decide_refusal": refusal if task.state == TaskState.PENDING else "",
            "can_cancel": task_cancel_refusal(task=task, user=user) is None,
            "can_retry": task_retry_refusal(task=task, user=user) is None,
            "has_view_permission": True,
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.detail_template, context)

    @admin.action(description="Approve selected tasks", permissions=["approve"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Task]) -> HttpResponse | None:
        tasks = list(
            queryset.filter(state=TaskState.PENDING).select_related("maker", "current_role")[
                : BULK_APPROVE_LIMIT + 1
            ]
        )
        if len(tasks) > BULK_APPROVE_LIMIT:
            self.message_user(
                request, f"Select at most {BULK_APPROVE_LIMIT} tasks to approve at once.", messages.ERROR
            )
            return None
        if request.POST.get("post") == "yes":
            comment = request.POST.get("comment", "")
            done, refused = [], []
            for task in tasks:
                try:
                    task = task_approve(task=task, user=request.user, comment=comment)
                except ValidationError as exc:
                    refused.append(error_text(exc))
                    continue
                if task.state == TaskState.FAILED:
                    refused.append(f"Task #{task.pk} failed: {task.error}")
                else:
                    done.append(task)
            if done:
                self.message_user(
                    request,
                    f"Approved {len(done)} task(s): {', '.join(f'#{t.pk}' for t in done)}.",
                    messages.SUCCESS,
                )
            for message in refused:
                self.message_user(request, message, messages.ERROR)
            if not tasks:
                self.message_user(request, "None of the selected tasks is pending.", messages.WARNING)
            return None
        rows = [(task, task_decision_refusal(task=task, user=request.user)) for task in tasks]
        context = {
            **self.admin_site.each_context(request),
            "title": "Approve the selected tasks?",
            "subtitle": None,
            "opts": self.opts,
            "rows": rows,
            "approvable": sum(1 for _, refusal in rows if refusal is None),
            "queryset": queryset,
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across", "0"),
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "approvals/approve_selected_confirmation.html", context)


class ApprovalLevelFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if not getattr(self.instance, "requires_approval", False):
            return
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if not any(level.get("applies_above_amount") is None for level in kept):
            raise ValidationError(
                "A policy that requires approval needs at least one level that always applies "
                "(leave “applies above amount” empty on it), or untick “requires approval”."
            )


class ApprovalLevelInline(admin.TabularInline):
    model = ApprovalLevel
    formset = ApprovalLevelFormSet
    extra = 0
    min_num = 0
    fields = ["order", "role", "approvers_required", "applies_above_amount"]

    def has_add_permission(self, request: HttpRequest, obj: ApprovalPolicy | None = None) -> bool:
        return user_sees_all_tasks(request.user) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: ApprovalPolicy | None = None) -> bool:
        return user_sees_all_tasks(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: ApprovalPolicy | None = None) -> bool:
        return user_sees_all_tasks(request.user) and super().has_delete_permission(request, obj)


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(ScopedHistoryAdmin):
    list_display = ["action", "label", "registered", "requires_approval", "levels_summary", "updated_at"]
    list_filter = ["requires_approval"]
    search_fields = ["action"]
    inlines = [ApprovalLevelInline]
    fields = ["action", "requires_approval", "notes"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApprovalPolicy]:
        return super().get_queryset(request).prefetch_related("levels__role")

    # Approvers hold "change" on the approvals app for their tasks; who approves what is
    # still the administrators' call alone, or an approver could waive their own checks.
    def _may_edit(self, request: HttpRequest) -> bool:
        return user_sees_all_tasks(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._may_edit(request) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: ApprovalPolicy | None = None) -> bool:
        return self._may_edit(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: ApprovalPolicy | None = None) -> bool:
        return self._may_edit(request) and super().has_delete_permission(request, obj)

    @admin.display(description="Label")
    def label(self, obj: ApprovalPolicy) -> str:
        return action_label_for(obj.action)

    @admin.display(description="Registered", boolean=True)
    def registered(self, obj: ApprovalPolicy) -> bool:
        return action_find(obj.action) is not None

    @admin.display(description="Levels")
    def levels_summary(self, obj: ApprovalPolicy) -> str:
        if not obj.requires_approval:
            return "No approval: runs at once"
        return format_html("{}", "; ".join(str(level) for level in obj.levels.all()) or "None (runs at once)")
