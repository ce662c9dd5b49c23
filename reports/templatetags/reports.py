"""`{% pinned_reports %}`: the reports pinned to the dashboard that the viewer may see, drawn client-side."""

from __future__ import annotations

from typing import Any

from django import template

from reports.figures import report_figure
from reports.selectors import report_pinned_list, report_result_cached

register = template.Library()

TABLE_ROWS = 12  # a pinned table shows its first rows; the report page has them all


@register.inclusion_tag("reports/pinned_reports.html", takes_context=True)
def pinned_reports(context: template.Context) -> dict[str, Any]:
    """The boxes only: each fetches its chart after the page has loaded, so a report that is slow to
    compute (a cache miss at national scale takes a second or more) never delays the dashboard."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"pinned": []}
    return {"pinned": list(report_pinned_list(user=user))}


def pinned_report_context(*, report: Any, user: Any) -> dict[str, Any]:
    """What one pinned box shows, computed (or read from the cache) when the box asks for it."""
    result = report_result_cached(report=report, user=user)
    return {
        "item": {
            "report": report,
            "result": result,
            "figure": report_figure(result, height=300),
            "element_id": f"pinned-report-{report.pk}",
            "more_rows": max(0, len(result.rows) - TABLE_ROWS),
        },
        "table_rows": TABLE_ROWS,
    }
