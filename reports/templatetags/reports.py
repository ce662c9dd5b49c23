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
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"pinned": []}
    pinned = []
    for report in report_pinned_list(user=user):
        result = report_result_cached(report=report, user=user)
        pinned.append(
            {
                "report": report,
                "result": result,
                "figure": report_figure(result, height=300),
                "element_id": f"pinned-report-{report.pk}",
                "more_rows": max(0, len(result.rows) - TABLE_ROWS),
            }
        )
    return {"pinned": pinned, "table_rows": TABLE_ROWS}
