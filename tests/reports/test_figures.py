"""Report figures against the fixture's hand-counted numbers, per dataset, grouping and measure kind."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reports.selectors import report_result
from tests.reports.conftest import make_report

pytestmark = pytest.mark.django_db


def figures(report, user) -> list[tuple]:  # type: ignore[no-untyped-def]
    result = report_result(report=report, user=user)
    assert not result.error, result.error
    if result.series_label:
        return [(row.label, row.series, row.value) for row in result.rows]
    return [(row.label, row.value) for row in result.rows]


def test_individuals_by_region(data, admin_user):
    report = make_report(dataset="individuals", group_by="location:0")
    assert figures(report, admin_user) == [("North", 4), ("South", 2)]


def test_individuals_by_district_names_rows_kept_above_it(data, admin_user):
    report = make_report(dataset="individuals", group_by="location:1")
    assert figures(report, admin_user) == [("North A", 3), ("North B", 1), ("South (no level 1)", 2)]


def test_individuals_by_sex(data, admin_user):
    report = make_report(dataset="individuals", group_by="sex", chart_type="pie")
    assert figures(report, admin_user) == [("Female", 3), ("Male", 2), ("Other / not stated", 1)]


def test_individuals_by_age_band_in_band_order(data, admin_user):
    report = make_report(dataset="individuals", group_by="age_band")
    assert figures(report, admin_user) == [
        ("0-9", 1),
        ("20-29", 1),
        ("30-39", 1),
        ("70-79", 1),
        ("80+", 1),
        ("unknown", 1),
    ]


def test_individuals_by_month(data, admin_user):
    report = make_report(dataset="individuals", group_by="month:registration_date", chart_type="line")
    assert figures(report, admin_user) == [("2015-03", 1), ("2026-01", 2), ("2026-03", 3)]


def test_individuals_by_custom_field(data, admin_user):
    report = make_report(dataset="individuals", group_by="custom:education")
    assert figures(report, admin_user) == [
        ("none", 1),
        ("primary", 2),
        ("secondary", 1),
        ("tertiary", 1),
        ("(not set)", 1),
    ]


def test_average_and_sum_of_a_custom_number(data, admin_user):
    average = make_report(
        dataset="individuals", group_by="sex", measure="avg", measure_field="data.school_attendance"
    )
    assert figures(average, admin_user) == [
        ("Female", Decimal("0.75")),
        ("Male", Decimal("0.90")),
        ("Other / not stated", None),
    ]
    total = make_report(
        dataset="individuals", group_by="location:0", measure="sum", measure_field="data.school_attendance"
    )
    assert figures(total, admin_user) == [("North", Decimal("1.40")), ("South", 1)]


def test_filter_expression(data, admin_user):
    report = make_report(
        dataset="individuals", group_by="location:0", filter_expression='sex == "F" and age >= 30'
    )
    assert figures(report, admin_user) == [("North", 2)]


def test_households_sum_and_average(data, admin_user):
    income = make_report(
        dataset="households", group_by="location:0", measure="sum", measure_field="data.monthly_income"
    )
    assert figures(income, admin_user) == [("North", 400), ("South", 250)]
    size = make_report(dataset="households", group_by="location:0", measure="avg", measure_field="size")
    assert figures(size, admin_user) == [("North", 2), ("South", 2)]
    by_size = make_report(dataset="households", group_by="size")
    assert figures(by_size, admin_user) == [("1", 1), ("2", 1), ("3", 1)]


def test_beneficiaries_by_plan_and_status(data, admin_user):
    report = make_report(dataset="beneficiaries", group_by="plan", series_by="status")
    assert figures(report, admin_user) == [
        ("Cash transfer (CASH)", "Potential", 1),
        ("Cash transfer (CASH)", "Active", 2),
        ("Cash transfer (CASH)", "Exited", 1),
        ("Old age pension (PENSION)", "Active", 1),
        ("Old age pension (PENSION)", "Suspended", 1),
    ]


def test_beneficiaries_of_one_plan_by_its_data(data, admin_user):
    report = make_report(
        dataset="beneficiaries",
        benefit_plan=data.cash,
        group_by="status",
        measure="sum",
        measure_field="data.score",
    )
    assert figures(report, admin_user) == [("Potential", 20), ("Active", 40), ("Exited", None)]
    by_score = make_report(dataset="beneficiaries", benefit_plan=data.cash, group_by="custom:score")
    assert figures(by_score, admin_user) == [("10", 1), ("20", 1), ("30", 1), ("(not set)", 1)]


def test_benefits_sum_by_cycle_and_month(data, admin_user):
    by_cycle = make_report(dataset="benefits", group_by="cycle", measure="sum", measure_field="amount")
    assert figures(by_cycle, admin_user) == [("2026-01", 250), ("2026-02", 999)]
    issued = make_report(
        dataset="benefits",
        group_by="month:payroll__payment_date",
        measure="sum",
        measure_field="amount",
        filter_expression='payroll_status != "draft"',
    )
    assert figures(issued, admin_user) == [("2026-01", 250)]
    paid = make_report(dataset="benefits", group_by="status", measure="sum", measure_field="amount_paid")
    assert figures(paid, admin_user) == [("Pending", None), ("Paid", 100), ("Failed", None)]


def test_approvals_by_state(data, admin_user):
    report = make_report(dataset="approvals", group_by="state")
    assert figures(report, admin_user) == [("Pending approval", 2), ("Executed", 1), ("Rejected", 1)]
    amounts = make_report(dataset="approvals", group_by="state", measure="sum", measure_field="amount")
    assert figures(amounts, admin_user) == [("Pending approval", 30), ("Executed", 30), ("Rejected", None)]


def test_a_filter_with_no_rows_gives_no_rows(data, admin_user):
    report = make_report(dataset="individuals", group_by="sex", filter_expression='given_name == "nobody"')
    result = report_result(report=report, user=admin_user)
    assert result.error == ""
    assert result.empty


def test_benefits_by_plan_and_payroll_status_through_the_payroll(data, admin_user):
    report = make_report(
        dataset="benefits", group_by="plan", series_by="payroll_status", measure="avg", measure_field="amount"
    )
    assert figures(report, admin_user) == [
        ("Cash transfer (CASH)", "Draft", 999),
        ("Cash transfer (CASH)", "Reconciled", Decimal("83.33")),
    ]
    by_region = make_report(
        dataset="benefits", group_by="location:0", series_by="month:payroll__payment_date"
    )
    assert figures(by_region, admin_user) == [
        ("North", "2026-01", 2),
        ("North", "2026-02", 1),
        ("South", "2026-01", 1),
    ]
