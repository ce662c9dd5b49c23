"""What the payment admin pages answer besides their page: a service's refusal as a message, a 403 with
the reason, the task a request queued, and the payroll a view names."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from approvals.models import Task
from approvals.services import error_text
from payments.models import Payroll


def refusal_report(request: HttpRequest, admin_obj: admin.ModelAdmin, exc: ValidationError) -> None:
    admin_obj.message_user(request, error_text(exc), messages.ERROR)


def refused(request: HttpRequest, admin_obj: admin.ModelAdmin, message: str) -> HttpResponse:
    """403 with the reason, on an admin page."""
    context = {
        **admin_obj.admin_site.each_context(request),
        "opts": admin_obj.opts,
        "title": _("Refused"),
        "message": message,
    }
    return TemplateResponse(request, "payments/refused.html", context, status=403)


def queued(request: HttpRequest, admin_obj: admin.ModelAdmin, task: Task, what: str) -> None:
    url = reverse("admin:approvals_task_change", args=[task.pk])
    level = messages.ERROR if task.state == "failed" else messages.SUCCESS
    admin_obj.message_user(
        request,
        format_html(
            '{}: task <a href="{}">#{}</a> is {}.', what, url, task.pk, task.get_state_display().lower()
        ),
        level,
    )


def any_payroll_or_404(payroll_id: int) -> Payroll:
    """Any payroll, for the views that answer 403 with the reason (the refusal checks the scope)."""
    payroll = Payroll.objects.select_related("payment_plan__benefit_plan", "payment_point").filter(
        pk=payroll_id
    )
    found = payroll.first()
    if found is None:
        raise Http404("No such payroll.")
    return found
