"""Figures shown on the dashboard (the admin index), scoped to the viewer."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.urls import reverse

from approvals.selectors import pending_approvals_count
from registry.selectors import household_list, individual_list


@dataclass(frozen=True)
class KeyFigure:
    label: str
    value: int
    url: str = ""


def dashboard_figures(*, user: AbstractBaseUser | AnonymousUser) -> list[KeyFigure]:
    figures = [
        KeyFigure("People registered", individual_list(user=user).count(), reverse("admin:registry_individual_changelist")),
        KeyFigure("Households registered", household_list(user=user).count(), reverse("admin:registry_household_changelist")),
    ]
    if user.is_authenticated and user.has_perm("approvals.view_task"):
        figures.append(
            KeyFigure("Approvals waiting for me", pending_approvals_count(user), reverse("admin:approvals_task_awaiting"))
        )
    return figures
