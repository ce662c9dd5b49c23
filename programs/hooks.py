"""Where the apps above the programmes plug into a benefit plan's page, filled in their `AppConfig.ready()`.

The programmes app imports none of them (`.importlinter`): uploads and payments register the links to
their pages about a plan, and payments the plan's latest payrolls, scoped by its own selectors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse

User = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class PlanLink:
    """A link from the plan page to another app's list, filtered on the plan by `param`."""

    label: str
    url_name: str
    param: str


@dataclass(frozen=True)
class PlanPanel:
    """A short list on the plan page: `records(plan=, user=)` gives the plan's records the user may see,
    newest first; each is linked to its admin page and described by `describe(record)`."""

    title: str
    records: Callable[..., QuerySet]
    describe: Callable[[Any], str]
    limit: int = 5


_links: dict[str, PlanLink] = {}
_panels: dict[str, PlanPanel] = {}


def plan_link_register(link: PlanLink) -> None:
    _links[link.url_name] = link


def plan_panel_register(panel: PlanPanel) -> None:
    _panels[str(panel.title)] = panel


def plan_links(*, plan: Any) -> list[tuple[str, str]]:
    """(label, url) of the registered links whose page is installed."""
    links = []
    for link in _links.values():
        try:
            links.append((str(link.label), f"{reverse(link.url_name)}?{link.param}={plan.pk}"))
        except NoReverseMatch:
            continue
    return links


def plan_panels(*, plan: Any, user: User) -> list[dict[str, Any]]:
    """Each registered panel with its rows: (admin url, record, description); panels without rows left out."""
    panels = []
    for panel in _panels.values():
        rows = []
        for record in panel.records(plan=plan, user=user)[: panel.limit]:
            opts = record._meta
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[record.pk])
            rows.append((url, record, panel.describe(record)))
        if rows:
            panels.append({"title": panel.title, "rows": rows})
    return panels
