"""The dashboard's key figures and charts: from the summary tables, hand-counted, scoped to the viewer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm

from access.roles import PAYMENT_OFFICER, REGISTRY_OFFICER
from jobs.models import Job, JobState
from payments.models import Benefit, PaymentCycle, PaymentPlan, Payroll
from portal.models import BeneficiarySummary, RegistrySummary, SummaryGrain, SummaryRefresh
from portal.summaries import summaries_refresh
from programs.models import Beneficiary, BenefitPlan
from registry.models import Household, Individual
from tests.conftest import Tree, make_user

TODAY = date(2026, 6, 15)  # the refresh's "today": it fixes the age bands below


@dataclass
class Plans:
    cash: BenefitPlan
    pension: BenefitPlan


def dashboard_data(tree: Tree) -> Plans:
    """Six people, one household, two plans; every number in the tests below is counted from this by hand.

    person            location  sex  born        age on TODAY  registered  in plans
    f1990             North A   F    1990-01-01  36 (30-39)    2026-01-10  cash: active
    m2020             North A   M    2020-05-01  6 (0-9)       2026-01-20  cash: potential
    f1950             North A   F    1950-01-01  76 (70-79)    2026-03-05  pension: active
    m1940             North B   M    1940-01-01  86 (80+)      2015-03-01  cash: exited, pension: suspended
    f2000             South     F    2000-06-16  25 (20-29)    2026-03-31  cash: active
    x                 South     X    unknown     -             2026-03-01  -
    household H-S-1   South                                    2026-03-01
    """

    def person(code: str, location, sex: str, born: date | None, registered: date) -> Individual:  # type: ignore[no-untyped-def]
        return Individual.objects.create(
            given_name=code,
            family_name="Test",
            sex=sex,
            birth_date=born,
            location=location,
            registration_date=registered,
        )

    f1990 = person("f1990", tree.north_a, "F", date(1990, 1, 1), date(2026, 1, 10))
    m2020 = person("m2020", tree.north_a, "M", date(2020, 5, 1), date(2026, 1, 20))
    f1950 = person("f1950", tree.north_a, "F", date(1950, 1, 1), date(2026, 3, 5))
    m1940 = person("m1940", tree.north_b, "M", date(1940, 1, 1), date(2015, 3, 1))
    f2000 = person("f2000", tree.south, "F", date(2000, 6, 16), date(2026, 3, 31))
    person("x", tree.south, "X", None, date(2026, 3, 1))
    Household.objects.create(code="H-S-1", location=tree.south, registration_date=date(2026, 3, 1))

    plans = Plans(
        cash=BenefitPlan.objects.create(
            code="CASH", name="Cash transfer", plan_type="individual", start_date=date(2015, 1, 1)
        ),
        pension=BenefitPlan.objects.create(
            code="PENSION", name="Old age pension", plan_type="individual", start_date=date(2015, 1, 1)
        ),
    )

    def enrol(plan: BenefitPlan, individual: Individual, status: str, enrolled: date) -> None:
        at = datetime(enrolled.year, enrolled.month, enrolled.day, 10, tzinfo=UTC)
        Beneficiary.objects.create(
            benefit_plan=plan,
            individual=individual,
            location=individual.location,
            status=status,
            status_changed_at=at,
            enrolled_at=at,
        )

    enrol(plans.cash, f1990, "active", date(2026, 2, 1))
    enrol(plans.cash, m2020, "potential", date(2026, 2, 1))
    enrol(plans.cash, m1940, "exited", date(2015, 4, 1))
    enrol(plans.cash, f2000, "active", date(2026, 4, 2))
    enrol(plans.pension, f1950, "active", date(2026, 3, 10))
    enrol(plans.pension, m1940, "suspended", date(2015, 5, 1))

    # Payments: cycle 2026-01 reconciled (counted), cycle 2026-02 still a draft (not issued: left out).
    #   f1990 100 paid, m2020 50 pending, f2000 (South) 100 failed; the draft pays f1990 999.
    payment_plan = PaymentPlan.objects.create(benefit_plan=plans.cash, name="Monthly", amount_formula="100")
    for code, month, status, lines in (
        (
            "2026-01",
            1,
            "reconciled",
            ((f1990, "100", "paid"), (m2020, "50", "pending"), (f2000, "100", "failed")),
        ),
        ("2026-02", 2, "draft", ((f1990, "999", "pending"),)),
    ):
        cycle = PaymentCycle.objects.create(
            code=code, start_date=date(2026, month, 1), end_date=date(2026, month, 28)
        )
        payroll = Payroll.objects.create(
            payment_plan=payment_plan, cycle=cycle, status=status, payment_date=date(2026, month, 1)
        )
        for individual, amount, line_status in lines:
            Benefit.objects.create(
                payroll=payroll,
                beneficiary=Beneficiary.objects.get(benefit_plan=plans.cash, individual=individual),
                cycle=cycle,
                location=individual.location,
                reference=f"{code}-{individual.given_name}",
                amount=Decimal(amount),
                amount_paid=Decimal(amount) if line_status == "paid" else None,
                status=line_status,
            )
    return plans


def dashboard_data_refreshed(tree: Tree, maker, south_officer) -> Plans:  # type: ignore[no-untyped-def]
    """The data above, the maker's and the south officer's plans granted, the summaries refreshed."""
    plans = dashboard_data(tree)
    for plan in (plans.cash, plans.pension):
        assign_perm("programs.view_benefitplan", maker, plan)
    assign_perm("programs.view_benefitplan", south_officer, plans.cash)  # not the pension
    summaries_refresh(today=TODAY)
    return plans


@pytest.fixture
def plans(tree, maker, south_officer) -> Plans:  # type: ignore[no-untyped-def]
    return dashboard_data_refreshed(tree, maker, south_officer)


def dashboard(client, user, query: str = ""):  # type: ignore[no-untyped-def]
    client.force_login(user)
    response = client.get(f"/admin/{query}")
    assert response.status_code == 200
    return response


def figures(response) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {figure.label: figure.value for figure in response.context["key_figures"]}


def chart(response, key: str) -> dict:  # type: ignore[no-untyped-def]
    charts = {c.key: c.figure for c in response.context["charts"]}
    return charts[key]


def traces(figure: dict) -> dict[str, dict[str, int]]:
    """{trace name: {x (or y for horizontal bars): value}}."""
    out = {}
    for trace in figure["data"]:
        horizontal = trace.get("orientation") == "h"
        keys, values = (trace["y"], trace["x"]) if horizontal else (trace["x"], trace["y"])
        out[trace["name"]] = dict(zip(keys, values, strict=True))
    return out


def test_summary_rows_are_grouped_counts(plans):
    # People: f1990/m2020 share nothing but location and month; every person is their own group here.
    people = RegistrySummary.objects.filter(kind="individual", grain=SummaryGrain.LOCATION)
    assert people.count() == 6
    assert sum(people.values_list("count", flat=True)) == 6
    assert RegistrySummary.objects.get(kind="household", grain=SummaryGrain.LOCATION).count == 1
    assert (
        sum(BeneficiarySummary.objects.filter(grain=SummaryGrain.LOCATION).values_list("count", flat=True))
        == 6
    )
    row = people.get(sex="F", age_band="20-29")
    assert row.registered_month == date(2026, 3, 1) and row.location_path.endswith(".")
    # Each coarser grain counts the same people again, under their region (or district).
    for grain in (SummaryGrain.SECOND, SummaryGrain.TOP):
        rows = RegistrySummary.objects.filter(kind="individual", grain=grain)
        assert sum(rows.values_list("count", flat=True)) == 6
        assert sum(BeneficiarySummary.objects.filter(grain=grain).values_list("count", flat=True)) == 6
    assert SummaryRefresh.objects.count() == 1
    summaries_refresh(today=TODAY)  # a second refresh replaces, never adds
    assert sum(people.values_list("count", flat=True)) == 6
    assert RegistrySummary.objects.filter(kind="individual").count() == 18


def test_key_figures_by_user(client, plans, maker, south_officer, administrator):
    everyone = figures(dashboard(client, administrator))
    assert everyone["People registered"] == 6 and everyone["Households registered"] == 1
    assert everyone["Beneficiaries active"] == 3
    assert everyone["Beneficiaries potential"] == 1
    assert everyone["Beneficiaries suspended"] == 1
    assert everyone["Beneficiaries exited"] == 1
    assert everyone["Beneficiaries graduated"] == 0

    north = figures(dashboard(client, maker))
    assert north["People registered"] == 4 and north["Households registered"] == 0
    assert (
        north["Beneficiaries active"],
        north["Beneficiaries potential"],
        north["Beneficiaries suspended"],
    ) == (2, 1, 1)

    south = figures(dashboard(client, south_officer))
    assert south["People registered"] == 2 and south["Households registered"] == 1
    # Only the cash transfer is the south officer's plan; f2000 is its one South beneficiary.
    assert south["Beneficiaries active"] == 1 and south["Beneficiaries suspended"] == 0


def test_figures_wait_for_a_refresh(client, tree, administrator):
    Individual.objects.create(given_name="New", family_name="Person", sex="F", location=tree.north_a)
    response = dashboard(client, administrator)
    assert figures(response)["People registered"] == 0
    assert "Figures not computed yet" in response.content.decode()
    summaries_refresh()
    response = dashboard(client, administrator)
    assert figures(response)["People registered"] == 1
    assert "Data as of" in response.content.decode()
    # The page's rollup is cached until the next refresh, and only until then.
    Individual.objects.create(given_name="Other", family_name="Person", sex="M", location=tree.south)
    assert figures(dashboard(client, administrator))["People registered"] == 1
    summaries_refresh()
    assert figures(dashboard(client, administrator))["People registered"] == 2


def test_registrations_by_month(client, plans, administrator):
    figure = chart(dashboard(client, administrator), "registrations")
    assert traces(figure) == {
        "People": {"2015-03": 1, "2026-01": 2, "2026-03": 3},
        "Households": {"2026-03": 1},
    }


def test_beneficiaries_by_plan_and_status(client, plans, administrator, south_officer):
    figure = traces(chart(dashboard(client, administrator), "beneficiaries"))
    assert figure["Active"] == {"Cash transfer": 2, "Old age pension": 1}
    assert figure["Potential"] == {"Cash transfer": 1, "Old age pension": 0}
    assert figure["Suspended"] == {"Cash transfer": 0, "Old age pension": 1}
    assert figure["Exited"] == {"Cash transfer": 1, "Old age pension": 0}
    south = traces(chart(dashboard(client, south_officer), "beneficiaries"))
    assert south["Active"] == {"Cash transfer": 1}


def test_coverage_by_location_and_drill_down(client, plans, administrator, tree):
    figure = traces(chart(dashboard(client, administrator), "coverage"))
    # Current = potential, active, suspended: m1940's exit from the cash transfer does not count.
    assert figure == {
        "People registered": {"North": 4, "South": 2},
        "Current beneficiaries": {"North": 4, "South": 1},
    }
    north = traces(chart(dashboard(client, administrator, f"?location={tree.north.pk}"), "coverage"))
    assert north == {
        "People registered": {"North A": 3, "North B": 1},
        "Current beneficiaries": {"North A": 3, "North B": 1},
    }


def test_age_sex_pyramid(client, plans, administrator):
    figure = chart(dashboard(client, administrator), "pyramid")
    men, women = traces(figure)["Men"], traces(figure)["Women"]
    assert {band: -n for band, n in men.items() if n} == {"0-9": 1, "80+": 1}
    assert {band: n for band, n in women.items() if n} == {"20-29": 1, "30-39": 1, "70-79": 1}
    assert list(men) == ["0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80+"]


def test_filters_apply_to_every_figure(client, plans, administrator, tree):
    response = dashboard(client, administrator, f"?plan={plans.pension.pk}")
    assert (
        figures(response)["Beneficiaries active"] == 1 and figures(response)["Beneficiaries suspended"] == 1
    )
    assert traces(chart(response, "beneficiaries"))["Active"] == {"Old age pension": 1}
    assert traces(chart(response, "coverage"))["Current beneficiaries"] == {"North": 2, "South": 0}

    response = dashboard(client, administrator, f"?location={tree.south.pk}")
    assert figures(response)["People registered"] == 2 and figures(response)["Beneficiaries active"] == 1
    assert traces(chart(response, "registrations"))["People"] == {"2026-03": 2}

    # The last five years leave out m1940 (registered 2015) and his 2015 enrolments.
    response = dashboard(client, administrator, "?period=60")
    assert figures(response)["People registered"] == 5
    assert (
        figures(response)["Beneficiaries suspended"] == 0 and figures(response)["Beneficiaries exited"] == 0
    )
    assert -traces(chart(response, "pyramid"))["Men"]["80+"] == 0


def test_south_user_sees_only_the_south_even_when_asking_for_the_north(client, plans, south_officer, tree):
    response = dashboard(client, south_officer, f"?location={tree.north.pk}&plan={plans.pension.pk}")
    assert figures(response)["People registered"] == 2
    assert figures(response)["Beneficiaries active"] == 1
    assert traces(chart(response, "coverage"))["People registered"] == {"South": 2}
    assert traces(chart(response, "registrations"))["People"] == {"2026-03": 2}
    women = traces(chart(response, "pyramid"))["Women"]
    assert {band: n for band, n in women.items() if n} == {"20-29": 1}
    options = response.context["filter_form"].fields["location"].queryset
    assert list(options) == [tree.south]
    assert list(response.context["filter_form"].fields["plan"].queryset) == [plans.cash]


def test_payments_by_cycle(client, plans, administrator, tree):
    figure = traces(chart(dashboard(client, administrator), "payments"))
    assert figure == {"Issued": {"2026-01": 250.0}, "Paid": {"2026-01": 100.0}}
    north = traces(chart(dashboard(client, administrator, f"?location={tree.north.pk}"), "payments"))
    assert north == {"Issued": {"2026-01": 150.0}, "Paid": {"2026-01": 100.0}}
    only_pension = traces(chart(dashboard(client, administrator, f"?plan={plans.pension.pk}"), "payments"))
    assert only_pension == {"Issued": {}, "Paid": {}}

    payer = make_user("south-payer", roles=(PAYMENT_OFFICER,), locations=(tree.south,))
    assign_perm("programs.view_benefitplan", payer, plans.cash)
    assert traces(chart(dashboard(client, payer), "payments")) == {
        "Issued": {"2026-01": 100.0},
        "Paid": {"2026-01": 0.0},
    }


def test_payments_chart_needs_the_payments_permission(client, plans, maker, tree):
    # The North programme officer sees the North lines of the plans granted to them.
    assert traces(chart(dashboard(client, maker), "payments")) == {
        "Issued": {"2026-01": 150.0},
        "Paid": {"2026-01": 100.0},
    }
    registrar = make_user("registrar", roles=(REGISTRY_OFFICER,), locations=(tree.north,))
    response = dashboard(client, registrar)
    assert "payments" not in {c.key for c in response.context["charts"]}
    assert figures(response)["Beneficiaries active"] == 0  # no plan granted


def test_dashboard_never_reads_the_big_tables(client, plans, administrator):
    client.force_login(administrator)
    client.get("/admin/")  # warm caches (permissions, content types)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/admin/").status_code == 200
    big = re.compile(r'FROM "(registry_individual|registry_household|programs_beneficiary|payments_benefit)"')
    # The approvals count may probe a beneficiary by primary key per open task (its scope), never scan.
    approvals = re.compile(r'^SELECT COUNT\("approvals_task"')
    read = [
        q["sql"] for q in queries.captured_queries if big.search(q["sql"]) and not approvals.match(q["sql"])
    ]
    assert not read
    assert len(queries) < 40


def test_page_has_no_inline_script(client, plans, administrator):
    response = dashboard(client, administrator)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    html = response.content.decode()
    tags = re.findall(r"<script\b[^>]*>", html)
    assert tags
    for tag in tags:
        assert " src=" in tag or 'type="application/json"' in tag, tag
    for key in ("registrations", "beneficiaries", "coverage", "pyramid", "payments", "reconciliation"):
        assert f'<script id="chart-{key}" type="application/json">' in html
        assert f'data-chart="chart-{key}"' in html
    assert "portal/vendor/plotly.min.js" in html and "portal/charts.js" in html


def test_refresh_button_starts_one_job(client, tree, administrator, maker):
    client.force_login(maker)
    assert client.get("/admin/dashboard/refresh/").status_code == 405
    response = client.post("/admin/dashboard/refresh/")
    assert response.status_code == 302 and response.url == "/admin/"
    response = client.post("/admin/dashboard/refresh/", {"query": "location=3&period=12"})
    assert response.url == "/admin/?location=3&period=12"
    response = client.post("/admin/dashboard/refresh/", {"query": "//evil.example/"})
    assert response.url.startswith("/admin/?")
    client.post("/admin/dashboard/refresh/")  # a second click while it waits reuses the job
    jobs = Job.objects.filter(kind="portal.tasks.summaries_refresh_task")
    assert jobs.count() == 1
    job = jobs.get()
    assert job.created_by == maker and job.state == JobState.QUEUED

    from portal.tasks import summaries_refresh_task

    Individual.objects.create(given_name="A", family_name="B", sex="F", location=tree.south)
    summaries_refresh_task.func(job.pk)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and "refreshed_at" in job.result
    assert (job.done, job.total) == (6, 6)
    assert figures(dashboard(client, administrator))["People registered"] == 1


def test_refresh_needs_a_staff_login(client, db):
    response = client.post("/admin/dashboard/refresh/")
    assert response.status_code == 302 and "/admin/login/" in response.url
    assert not Job.objects.exists()
