"""Where the apps above payments plug into a payment line's page, filled in their `AppConfig.ready()`.

Payments imports none of them (`.importlinter`): the grievance module registers the complaints about a
line (scoped by its own selectors), so a complaint about a payment shows on that payment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse


@dataclass(frozen=True)
class BenefitPanel:
    """A short list on a payment line's page: `records(benefit=, user=)` gives the records about the line
    that the user may see, newest first; each is linked to its admin page, described by `describe`."""

    title: Any
    records: Callable[..., QuerySet]
    describe: Callable[[Any], str]
    limit: int = 10


_panels: dict[str, BenefitPanel] = {}


def benefit_panel_register(panel: BenefitPanel) -> None:
    _panels[str(panel.title)] = panel


def benefit_panels(*, benefit: Any, user: Any) -> list[dict[str, Any]]:
    """Each registered panel with its rows (admin url, record, description); empty panels left out."""
    panels = []
    for panel in _panels.values():
        rows = []
        for record in panel.records(benefit=benefit, user=user)[: panel.limit]:
            opts = record._meta
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[record.pk])
            rows.append((url, record, panel.describe(record)))
        if rows:
            panels.append({"title": panel.title, "rows": rows})
    return panels
