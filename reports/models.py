"""Saved reports: a dataset grouped one or two ways, a measure, a chart type, a filter, who sees it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from reports.datasets import DATASET_CHOICES


class Measure(models.TextChoices):
    COUNT = "count", "Count of rows"
    SUM = "sum", "Sum of a number field"
    AVG = "avg", "Average of a number field"


class ChartType(models.TextChoices):
    BAR = "bar", "Bar chart"
    LINE = "line", "Line chart"
    PIE = "pie", "Pie chart"
    TABLE = "table", "Table only"


class Report(models.Model):
    """A chart and table over one dataset, computed by one GROUP BY on what the viewer may see."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    dataset = models.CharField(max_length=16, choices=DATASET_CHOICES)
    benefit_plan = models.ForeignKey(
        "programs.BenefitPlan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="benefit plan",
        help_text="Beneficiaries and benefits only: limit the report to one plan (and use its data fields)",
    )
    group_by = models.CharField(max_length=100)
    series_by = models.CharField(
        "second grouping",
        max_length=100,
        blank=True,
        help_text="Optional: one bar, line or table row per value of this second grouping",
    )
    measure = models.CharField(max_length=8, choices=Measure.choices, default=Measure.COUNT)
    measure_field = models.CharField(
        max_length=100, blank=True, help_text="For a sum or an average: a number field of the dataset"
    )
    chart_type = models.CharField(max_length=8, choices=ChartType.choices, default=ChartType.BAR)
    filter_expression = models.TextField(
        "filter",
        blank=True,
        help_text='Which rows count, e.g. sex == "F" and age >= 60; empty: all the rows you may see',
    )
    roles = models.ManyToManyField(
        "auth.Group",
        blank=True,
        related_name="+",
        help_text="Roles that may see the report; empty: everyone who may view reports",
    )
    pinned = models.BooleanField("pinned to the dashboard", default=False)
    pin_order = models.PositiveSmallIntegerField(default=0, help_text="Lower first on the dashboard")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(m2m_fields=[roles])

    class Meta:
        ordering = ["name", "pk"]
        indexes = [
            models.Index(fields=["pin_order", "name"], condition=Q(pinned=True), name="report_pinned_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from reports.validation import report_definition_check

        report_definition_check(self)
