"""Who sees what: figures scoped to the viewer's locations and plans, reports kept to roles, forged URLs."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from guardian.shortcuts import assign_perm

from access.roles import AUDITOR
from reports.selectors import report_list, report_result
from tests.reports.conftest import make_report

pytestmark = pytest.mark.django_db


def figures(report, user) -> list[tuple]:  # type: ignore[no-untyped-def]
    result = report_result(report=report, user=user)
    assert not result.error, result.error
    return [(row.label, row.value) for row in result.rows]


def test_south_officer_counts_only_the_south(data, south_officer, maker):
    people = make_report(dataset="individuals", group_by="location:0")
    assert figures(people, south_officer) == [("South", 2)]
    assert figures(people, maker) == [("North", 4)]
    households = make_report(dataset="households", group_by="location:1", measure="sum", measure_field="size")
    assert figures(households, south_officer) == [("South (no level 1)", 2)]


def test_beneficiaries_and_benefits_follow_plan_permission_and_locations(data, south_officer):
    by_plan = make_report(dataset="beneficiaries", group_by="plan")
    paid = make_report(dataset="benefits", group_by="cycle", measure="sum", measure_field="amount")
    assert figures(by_plan, south_officer) == []  # no plan granted yet
    assert figures(paid, south_officer) == []
    assign_perm("programs.view_benefitplan", south_officer, data.cash)
    assert figures(by_plan, south_officer) == [("Cash transfer (CASH)", 1)]  # f2000 only
    assert figures(paid, south_officer) == [("2026-01", 100)]


def test_a_report_limited_to_a_role_is_hidden_from_others(client, data, maker, auditor):
    limited = make_report(
        name="Auditors only", dataset="individuals", group_by="sex", roles=[Group.objects.get(name=AUDITOR)]
    )
    open_to_all = make_report(name="Everyone", dataset="individuals", group_by="sex")
    assert list(report_list(user=maker)) == [open_to_all]
    assert set(report_list(user=auditor)) == {limited, open_to_all}

    client.force_login(maker)
    changelist = client.get(reverse("admin:reports_report_changelist"))
    assert list(changelist.context["cl"].result_list) == [open_to_all]
    assert client.get(reverse("admin:reports_report_view", args=[limited.pk])).status_code == 404
    for file_format in ("csv", "xlsx"):
        url = reverse("admin:reports_report_export", args=[limited.pk, file_format])
        assert client.get(url).status_code == 404
    change = client.get(reverse("admin:reports_report_change", args=[limited.pk]))
    assert change.status_code == 302  # "does not exist", like any object outside the user's queryset
    assert (
        client.post(reverse("admin:reports_report_delete", args=[limited.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert report_list(user=auditor).filter(pk=limited.pk).exists()
    history = reverse("admin:reports_report_history", args=[limited.pk])
    assert client.get(history).status_code == 404
    version = limited.history.latest().history_id
    assert client.get(f"{history}{version}/").status_code == 404

    client.force_login(auditor)
    assert client.get(reverse("admin:reports_report_view", args=[limited.pk])).status_code == 200


def test_users_without_the_view_permission_see_no_report(client, data, tree):
    from tests.conftest import make_user

    nobody = make_user("nobody", locations=(tree.north,))
    make_report(dataset="individuals", group_by="sex")
    assert not report_list(user=nobody).exists()
    client.force_login(nobody)
    assert client.get(reverse("admin:reports_report_changelist")).status_code == 403


def test_pinning_needs_the_change_permission_on_the_report(client, data, maker, administrator):
    theirs = make_report(name="Theirs", dataset="individuals", group_by="sex", created_by=administrator)
    mine = make_report(name="Mine", dataset="individuals", group_by="sex", created_by=maker)
    client.force_login(maker)
    url = reverse("admin:reports_report_changelist")
    client.post(url, {"action": "pin_to_dashboard", "_selected_action": [theirs.pk, mine.pk]})
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert not theirs.pinned and not mine.pinned  # all or nothing
    client.post(url, {"action": "pin_to_dashboard", "_selected_action": [mine.pk]})
    mine.refresh_from_db()
    assert mine.pinned


def query_count(client, url: str) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_report_page_runs_one_aggregate_and_a_fixed_number_of_queries(client, data, maker):
    report = make_report(dataset="individuals", group_by="location:1", series_by="sex")
    client.force_login(maker)
    url = reverse("admin:reports_report_view", args=[report.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    aggregates = [q["sql"] for q in queries if "GROUP BY" in q["sql"] and "registry_individual" in q["sql"]]
    assert len(aggregates) == 1
    assert len(queries) <= 15, "\n".join(q["sql"] for q in queries)
    # More people do not mean more queries: the grouping is done in SQL.
    from registry.models import Individual

    for n in range(20):
        Individual.objects.create(
            given_name=f"p{n}", family_name="x", sex="F", location=data.people["f1990"].location
        )
    assert query_count(client, url) == len(queries)


def test_the_changelist_query_count_does_not_grow_with_the_reports(client, data, maker):
    for n in range(2):
        make_report(name=f"r{n}", dataset="individuals", group_by="sex", created_by=maker)
    client.force_login(maker)
    url = reverse("admin:reports_report_changelist")
    client.get(url)
    few = query_count(client, url)
    for n in range(2, 12):
        make_report(
            name=f"r{n}", dataset="households", group_by="size", series_by="location:0", created_by=maker
        )
    assert query_count(client, url) == few
    assert few <= 12


def test_reports_have_their_menu_in_the_sidebar(client, data, maker):
    client.force_login(maker)
    response = client.get(reverse("admin:reports_report_changelist"))
    sections = {
        app["name"]: [m["object_name"] for m in app["models"]] for app in response.context["available_apps"]
    }
    assert sections["Reports"] == ["Report"]
