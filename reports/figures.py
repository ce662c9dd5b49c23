"""A report's result as a Plotly figure (for json_script and the static chart script) and as CSV or XLSX."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go

from files.spreadsheets import XLSX_CONTENT_TYPE, Sheet, csv_text, xlsx_bytes
from reports.models import ChartType
from reports.selectors import ReportResult

XLSX_TYPE = XLSX_CONTENT_TYPE


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def report_figure(result: ReportResult, *, height: int = 380) -> dict[str, Any] | None:
    """The Plotly figure of a result, or None for a table-only report, an error or no data."""
    chart = result.report.chart_type
    if chart == ChartType.TABLE or result.error or result.empty:
        return None
    groups = list(dict.fromkeys(row.label for row in result.rows))
    fig = go.Figure()
    if chart == ChartType.PIE:
        fig.add_trace(
            go.Pie(labels=[r.label for r in result.rows], values=[_plain(r.value) or 0 for r in result.rows])
        )
    else:
        by_series: dict[str, dict[str, Any]] = {}
        for row in result.rows:
            by_series.setdefault(row.series, {})[row.label] = _plain(row.value)
        for series, values in by_series.items():
            x = groups
            y = [values.get(label) for label in groups]
            name = series or result.measure_label
            if chart == ChartType.LINE:
                fig.add_trace(go.Scatter(x=x, y=y, name=name, mode="lines+markers"))
            else:
                fig.add_trace(go.Bar(x=x, y=y, name=name))
        fig.update_layout(
            barmode="group",
            xaxis={"type": "category", "title": result.group_label},
            yaxis={"title": result.measure_label},
            showlegend=bool(result.series_label),
        )
    fig.update_layout(
        margin={"l": 60, "r": 20, "t": 20, "b": 60}, height=height, legend={"orientation": "h", "y": -0.25}
    )
    return json.loads(fig.to_json())


def report_csv(result: ReportResult) -> str:
    return csv_text(result.headers, result.table(), bom=False)


def report_xlsx(result: ReportResult) -> bytes:
    """A small workbook: results are grouped, so at most MAX_GROUPS rows."""
    return xlsx_bytes([Sheet("Report", result.headers, result.table())])
