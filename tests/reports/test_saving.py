"""Saving a report through the admin form: the creator is kept, and bad definitions get field errors."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from access.roles import AUDITOR, PROGRAMME_OFFICER
from reports.models import Report
from reports.services import report_save
from tests.reports.conftest import make_report

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:reports_report_add")


def form_data(**fields: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "People by region",
        "description": "",
        "dataset": "individuals",
        "benefit_plan": "",
        "group_by": "location:0",
        "series_by": "",
        "measure": "count",
        "measure_field": "",
        "chart_type": "bar",
        "filter_expression": "",
        "pin_order": "0",
    }
    data.update(fields)
    return data


def errors_of(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.status_code
    form = response.context["adminform"].form
    return {field: [str(e) for e in errors] for field, errors in form.errors.items()}


def test_officer_saves_a_report_with_roles_and_lands_on_its_page(client, data, maker):
    client.force_login(maker)
    officers = Group.objects.get(name=PROGRAMME_OFFICER)
    response = client.post(
        ADD_URL, form_data(roles=[officers.pk], pinned="on", filter_expression='sex == "F"')
    )
    report = Report.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:reports_report_view", args=[report.pk])
    assert report.created_by == maker
    assert list(report.roles.all()) == [officers]
    assert report.pinned
    assert report.history.exists()


def test_a_sum_over_a_text_field_is_refused_on_the_field(client, data, admin_user):
    client.force_login(admin_user)
    response = client.post(ADD_URL, form_data(measure="sum", measure_field="given_name"))
    errors = errors_of(response)
    assert list(errors) == ["measure_field"]
    assert '"given_name" is text, and a sum needs a number field' in errors["measure_field"][0]
    assert not Report.objects.exists()


def test_an_unknown_number_field_suggests_close_names(client, data, admin_user):
    client.force_login(admin_user)
    response = client.post(ADD_URL, form_data(measure="avg", measure_field="data.school_attendence"))
    message = errors_of(response)["measure_field"][0]
    assert message.startswith('Unknown field "data.school_attendence" — did you mean')
    assert '"data.school_attendance"' in message


def test_a_sum_needs_a_field(client, data, admin_user):
    client.force_login(admin_user)
    response = client.post(ADD_URL, form_data(measure="sum"))
    assert "A sum needs a number field" in errors_of(response)["measure_field"][0]


def test_an_unknown_grouping_is_refused(client, data, admin_user):
    client.force_login(admin_user)
    response = client.post(ADD_URL, form_data(dataset="households", group_by="sex"))
    errors = errors_of(response)
    assert list(errors) == ["group_by"]
    assert 'Households cannot be grouped by "sex"' in errors["group_by"][0]


def test_a_bad_filter_is_refused_with_the_place_of_the_error(client, data, admin_user):
    client.force_login(admin_user)
    response = client.post(ADD_URL, form_data(filter_expression='sex == "F" and agee > 3'))
    message = errors_of(response)["filter_expression"][0]
    assert 'Unknown field "agee" at column 16: agee' in message
    assert 'did you mean "age"' in message
    response = client.post(ADD_URL, form_data(filter_expression="age + 1"))
    assert "must give a true/false, but it gives a number" in errors_of(response)["filter_expression"][0]


def test_a_pie_with_a_second_grouping_and_a_plan_on_people_are_refused(client, data, admin_user):
    client.force_login(admin_user)
    response = client.post(ADD_URL, form_data(chart_type="pie", series_by="sex", benefit_plan=data.cash.pk))
    errors = errors_of(response)
    assert set(errors) == {"chart_type", "benefit_plan"}
    assert "A pie chart shows one grouping" in errors["chart_type"][0]
    assert "Individuals are not in a benefit plan" in errors["benefit_plan"][0]


def test_custom_fields_of_beneficiaries_need_the_plan(data):
    with pytest.raises(ValidationError) as caught:
        make_report(dataset="beneficiaries", group_by="custom:score")
    assert "Custom fields of beneficiaries need a plan" in caught.value.message_dict["group_by"][0]
    make_report(dataset="beneficiaries", group_by="custom:score", benefit_plan=data.cash)  # fine with it


def test_only_roles_that_may_create_reports_do(data, auditor, maker):
    report = Report(name="Mine", dataset="individuals", group_by="sex")
    with pytest.raises(PermissionDenied):
        report_save(user=auditor, report=report)
    report_save(user=maker, report=report)
    assert report.created_by == maker


def test_officers_change_their_own_reports_only(client, data, maker, administrator):
    theirs = make_report(
        name="Administrator's", dataset="individuals", group_by="sex", created_by=administrator
    )
    client.force_login(maker)
    url = reverse("admin:reports_report_change", args=[theirs.pk])
    assert client.get(url).status_code == 200  # read-only view
    assert client.post(url, form_data(name="Taken over")).status_code == 403
    theirs.refresh_from_db()
    assert theirs.name == "Administrator's"
    with pytest.raises(PermissionDenied):
        report_save(user=maker, report=theirs)


def test_the_auditor_sees_but_does_not_add(client, data, auditor):
    client.force_login(auditor)
    assert client.get(reverse("admin:reports_report_changelist")).status_code == 200
    assert client.get(ADD_URL).status_code == 403
    assert Group.objects.get(name=AUDITOR).permissions.filter(codename="view_report").exists()
