"""A small registry, two plans, two payrolls and some tasks: every figure in the tests is counted by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User

from approvals.models import Task
from payments.models import Benefit, PaymentCycle, PaymentPlan, Payroll
from programs.models import Beneficiary, BenefitPlan
from registry.models import Household, Individual
from reports.models import Report
from tests.conftest import Tree


@dataclass
class ReportData:
    cash: BenefitPlan
    pension: BenefitPlan
    people: dict[str, Individual]


CASH_SCHEMA = {
    "type": "object",
    "properties": {"score": {"type": "integer", "title": "Score"}, "note": {"type": "string"}},
    "required": [],
}


@pytest.fixture
def data(tree: Tree, admin_user: User) -> ReportData:
    """
    person  location  sex  born        band   registered  education  attendance  plans
    f1990   North A   F    1990-01-01  30-39  2026-01-10  secondary  0.5         cash active (score 10)
    m2020   North A   M    2020-05-01  0-9    2026-01-20  none       0.9         cash potential (score 20)
    f1950   North A   F    1950-01-01  70-79  2026-03-05  primary    -           pension active
    m1940   North B   M    1940-01-01  80+    2015-03-01  primary    -           cash exited, pension susp.
    f2000   South     F    2000-06-16  20-29  2026-03-31  tertiary   1           cash active (score 30)
    x       South     X    -           unkn.  2026-03-01  -          -           -

    household  location  size  monthly_income
    H-N-1      North A   3     300
    H-N-2      North B   1     100
    H-S-1      South     2     250

    benefits (cash): payroll 2026-01 reconciled: f1990 100 paid, m2020 50 pending, f2000 100 failed;
                     payroll 2026-02 draft: f1990 999 pending.
    tasks (made by root): 2 pending, 1 rejected, 1 executed (amount 10, 20, -, 30).
    """

    def person(
        code: str, location, sex: str, born: date | None, registered: date, **extra: Any
    ) -> Individual:  # type: ignore[no-untyped-def]
        return Individual.objects.create(
            given_name=code,
            family_name="Test",
            sex=sex,
            birth_date=born,
            location=location,
            registration_date=registered,
            data=extra,
        )

    people = {
        "f1990": person(
            "f1990",
            tree.north_a,
            "F",
            date(1990, 1, 1),
            date(2026, 1, 10),
            education="secondary",
            school_attendance=0.5,
        ),
        "m2020": person(
            "m2020",
            tree.north_a,
            "M",
            date(2020, 5, 1),
            date(2026, 1, 20),
            education="none",
            school_attendance=0.9,
        ),
        "f1950": person("f1950", tree.north_a, "F", date(1950, 1, 1), date(2026, 3, 5), education="primary"),
        "m1940": person("m1940", tree.north_b, "M", date(1940, 1, 1), date(2015, 3, 1), education="primary"),
        "f2000": person(
            "f2000",
            tree.south,
            "F",
            date(2000, 6, 16),
            date(2026, 3, 31),
            education="tertiary",
            school_attendance=1,
        ),
        "x": person("x", tree.south, "X", None, date(2026, 3, 1)),
    }
    for code, location, size, income in (
        ("H-N-1", tree.north_a, 3, 300),
        ("H-N-2", tree.north_b, 1, 100),
        ("H-S-1", tree.south, 2, 250),
    ):
        Household.objects.create(
            code=code,
            location=location,
            size=size,
            registration_date=date(2026, 2, 1),
            data={"monthly_income": income, "dwelling_type": "permanent"},
        )

    cash = BenefitPlan.objects.create(
        code="CASH",
        name="Cash transfer",
        plan_type="individual",
        start_date=date(2015, 1, 1),
        beneficiary_schema=CASH_SCHEMA,
    )
    pension = BenefitPlan.objects.create(
        code="PENSION", name="Old age pension", plan_type="individual", start_date=date(2015, 1, 1)
    )

    def enrol(plan: BenefitPlan, who: str, status: str, enrolled: date, **extra: Any) -> None:
        at = datetime(enrolled.year, enrolled.month, enrolled.day, 10, tzinfo=UTC)
        individual = people[who]
        Beneficiary.objects.create(
            benefit_plan=plan,
            individual=individual,
            location=individual.location,
            status=status,
            status_changed_at=at,
            enrolled_at=at,
            data=extra,
        )

    enrol(cash, "f1990", "active", date(2026, 2, 1), score=10)
    enrol(cash, "m2020", "potential", date(2026, 2, 1), score=20)
    enrol(cash, "m1940", "exited", date(2015, 4, 1))
    enrol(cash, "f2000", "active", date(2026, 4, 2), score=30)
    enrol(pension, "f1950", "active", date(2026, 3, 10))
    enrol(pension, "m1940", "suspended", date(2015, 5, 1))

    payment_plan = PaymentPlan.objects.create(benefit_plan=cash, name="Monthly", amount_formula="100")
    for code, month, status, lines in (
        (
            "2026-01",
            1,
            "reconciled",
            (("f1990", "100", "paid"), ("m2020", "50", "pending"), ("f2000", "100", "failed")),
        ),
        ("2026-02", 2, "draft", (("f1990", "999", "pending"),)),
    ):
        cycle = PaymentCycle.objects.create(
            code=code, start_date=date(2026, month, 1), end_date=date(2026, month, 28)
        )
        payroll = Payroll.objects.create(
            payment_plan=payment_plan, cycle=cycle, status=status, payment_date=date(2026, month, 1)
        )
        for who, amount, line_status in lines:
            individual = people[who]
            Benefit.objects.create(
                payroll=payroll,
                beneficiary=Beneficiary.objects.get(benefit_plan=cash, individual=individual),
                cycle=cycle,
                recipient=individual,
                location=individual.location,
                reference=f"{code}-{who}",
                amount=Decimal(amount),
                amount_paid=Decimal(amount) if line_status == "paid" else None,
                status=line_status,
            )

    for state, amount in (("pending", "10"), ("pending", "20"), ("rejected", None), ("executed", "30")):
        Task.objects.create(action="reports_test_action", maker=admin_user, state=state, amount=amount)
    return ReportData(cash=cash, pension=pension, people=people)


def make_report(**fields: Any) -> Report:
    """A report saved without the form (its definition still checked)."""
    roles = fields.pop("roles", ())
    report = Report(**{"name": "Report", "chart_type": "bar", **fields})
    report.full_clean()
    report.save()
    report.roles.set(roles)
    return report
