"""Saved reports: dataset, grouping, measure, chart and filter, rendered as a chart with a table and
exports, pinned on the dashboard.

Owns `Report`, written only by `reports.services`; its figures are read through the owning apps'
selectors, scoped to the viewer.

May import: access, files, jobs, identity, approvals, notifications, registry, programs, payments.
"""
