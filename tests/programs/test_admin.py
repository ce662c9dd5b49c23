"""The programmes' admin: plan page, enrolment screen, beneficiary list and page, bulk actions, forgeries."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from access.plans import user_can_manage_plan
from approvals.models import Task
from programs.models import Beneficiary, BeneficiaryStatus, BenefitPlan, PlanStatus
from programs.services import EnrolmentSelection, plan_enrol
from registry.models import HouseholdMember, Individual
from tests.programs.conftest import beneficiaries, grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolled(officer, household_plan, registry) -> list[Beneficiary]:
    plan_enrol(plan=household_plan, user=officer, selection=EnrolmentSelection())
    return beneficiaries(household_plan)


def test_plan_page_shows_counts_and_links(
    client, officer, household_plan, enrolled, django_assert_max_num_queries
):
    client.force_login(officer)
    url = reverse("admin:programs_benefitplan_change", args=[household_plan.pk])
    with django_assert_max_num_queries(40):
        response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["counts"].by_status["potential"] == 6
    assert 'id="plan-counts"' in html
    assert reverse("admin:programs_benefitplan_enrol", args=[household_plan.pk]) in html
    assert f"?benefit_plan={household_plan.pk}" in html
    assert f"/admin/uploads/importbatch/?benefit_plan__id__exact={household_plan.pk}" in html
    assert f"/admin/payments/paymentplan/?benefit_plan__id__exact={household_plan.pk}" in html
    assert "Officers (object permissions)" not in html  # only administrators assign officers


def test_plan_list_only_assigned_plans(client, officer, south_officer, household_plan, individual_plan):
    other = BenefitPlan.objects.create(code="OTHER", name="Other", start_date=timezone.now().date())
    client.force_login(officer)
    response = client.get(reverse("admin:programs_benefitplan_changelist"))
    codes = {plan.code for plan in response.context["cl"].result_list}
    assert codes == {"CASH", "PENSION"}
    client.force_login(south_officer)
    assert (
        client.get(reverse("admin:programs_benefitplan_change", args=[other.pk])).status_code == 302
    )  # "doesn't exist" redirect


def test_add_plan_through_admin_assigns_creator(client, maker):
    client.force_login(maker)
    response = client.post(
        reverse("admin:programs_benefitplan_add"),
        {
            "code": "SCH",
            "name": "School grant",
            "description": "",
            "plan_type": "household",
            "start_date": "2026-02-01",
            "end_date": "",
            "max_beneficiaries": "1000",
            "ceiling_per_beneficiary": "",
            "institution": "Ministry",
            "beneficiary_schema": '{"type": "object", "properties": '
            '{"school_enrolment_confirmed": {"type": "boolean"}}}',
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    plan = BenefitPlan.objects.get(code="SCH")
    assert plan.status == PlanStatus.DRAFT
    assert user_can_manage_plan(maker, plan)


def test_bad_schema_in_admin_is_a_form_error(client, maker):
    client.force_login(maker)
    response = client.post(
        reverse("admin:programs_benefitplan_add"),
        {
            "code": "SCH",
            "name": "School grant",
            "plan_type": "household",
            "start_date": "2026-02-01",
            "beneficiary_schema": '{"type": "object", "properties": {"x": {"type": "blob"}}}',
        },
    )
    assert response.status_code == 200
    assert "beneficiary_schema" in response.context["adminform"].form.errors
    assert not BenefitPlan.objects.exists()


def test_active_plan_change_in_admin_queues_task(client, officer, household_plan):
    client.force_login(officer)
    url = reverse("admin:programs_benefitplan_change", args=[household_plan.pk])
    response = client.post(
        url,
        {
            "name": "Cash transfer",
            "description": "",
            "start_date": "2026-01-01",
            "end_date": "",
            "max_beneficiaries": "10",
            "ceiling_per_beneficiary": "",
            "institution": "",
            "beneficiary_schema": "{}",
        },
        follow=True,
    )
    assert response.status_code == 200
    task = Task.objects.get(action="programs.plan_update")
    assert task.payload["changes"]["max_beneficiaries"] == 10
    household_plan.refresh_from_db()
    assert household_plan.max_beneficiaries is None
    assert any("waits for approval" in str(m) for m in response.context["messages"])


def test_enrol_screen_previews_and_requests(client, officer, household_plan, registry):
    client.force_login(officer)
    url = reverse("admin:programs_benefitplan_enrol", args=[household_plan.pk])
    response = client.get(url, {"code": "N-00", "preview": "1"})
    assert response.status_code == 200
    preview = response.context["preview"]
    assert (preview.selected, preview.to_enrol) == (6, 6)
    assert len(response.context["preview"].sample) == 6
    response = client.post(
        url, {"filters": "code=N-00", "expression": "", "status": "active", "reason": "wave 1", "data": ""}
    )
    assert response.status_code == 302
    task = Task.objects.get(action="programs.enrol")
    assert (task.payload["filters"], task.payload["status"], task.maker_id) == (
        "code=N-00",
        "active",
        officer.pk,
    )
    assert not Beneficiary.objects.exists()


def test_enrol_screen_reports_bad_input(client, officer, household_plan, registry):
    household_plan.max_beneficiaries = 2
    household_plan.save()
    client.force_login(officer)
    url = reverse("admin:programs_benefitplan_enrol", args=[household_plan.pk])
    response = client.get(url, {"preview": "1"})
    assert response.context["preview"].exceeds_maximum
    assert 'id="enrol-request-button"' not in response.content.decode()
    response = client.post(url, {"filters": "", "status": "active", "data": "{}"}, follow=True)
    assert any("exceed the maximum of 2" in str(m) for m in response.context["messages"])
    assert not Task.objects.exists()


def test_forged_posts_by_unassigned_officer(client, south_officer, household_plan, enrolled):
    client.force_login(south_officer)
    plan_urls = ["enrol", "activate", "close"]
    for name in plan_urls:
        response = client.post(
            reverse(f"admin:programs_benefitplan_{name}", args=[household_plan.pk]),
            {"reason": "x", "status": "active"},
        )
        assert response.status_code == 404, name
    response = client.post(
        reverse("admin:programs_beneficiary_status", args=[enrolled[0].pk]),
        {"transition": "exit", "reason": "x"},
    )
    assert response.status_code == 404
    assert not Task.objects.exists()


def test_forged_status_post_by_view_only_user(client, checker, household_plan, enrolled):
    viewer = grant(checker, household_plan, "view_benefitplan")
    client.force_login(viewer)
    response = client.post(
        reverse("admin:programs_beneficiary_status", args=[enrolled[0].pk]),
        {"transition": "activate", "reason": "x"},
        follow=True,
    )
    assert any("may not manage" in str(m) for m in response.context["messages"])
    assert not Task.objects.exists()


def test_forged_fsm_post_on_change_form_does_not_move_status(client, officer, household_plan, enrolled):
    client.force_login(officer)
    row = enrolled[0]
    url = reverse("admin:programs_beneficiary_change", args=[row.pk])
    client.post(
        url,
        {
            "status": "graduated",
            "_fsmtransition-status-graduate": "Graduate",
            "data": "{}",
            "status_changes-TOTAL_FORMS": "0",
            "status_changes-INITIAL_FORMS": "0",
        },
    )
    row.refresh_from_db()
    assert row.status == BeneficiaryStatus.POTENTIAL
    assert not Task.objects.exists()


def test_forged_plan_status_post_does_not_close(client, officer, household_plan):
    client.force_login(officer)
    url = reverse("admin:programs_benefitplan_change", args=[household_plan.pk])
    client.post(
        url,
        {
            "name": "Plan CASH",
            "start_date": "2026-01-01",
            "status": "closed",
            "_fsmtransition-status-close": "Close",
            "beneficiary_schema": "{}",
        },
    )
    household_plan.refresh_from_db()
    assert household_plan.status == PlanStatus.ACTIVE


def test_status_button_queues_task(client, officer, household_plan, enrolled):
    client.force_login(officer)
    row = enrolled[0]
    page = client.get(reverse("admin:programs_beneficiary_change", args=[row.pk])).content.decode()
    assert 'id="status-form-activate"' in page and 'id="status-form-suspend"' not in page
    client.post(
        reverse("admin:programs_beneficiary_status", args=[row.pk]),
        {"transition": "activate", "reason": "visited"},
    )
    task = Task.objects.get(action="programs.beneficiary_status")
    assert (task.object_id, task.payload["ids"], task.payload["reason"]) == (row.pk, [row.pk], "visited")


def test_bulk_action_confirms_then_queues(client, officer, household_plan, enrolled):
    client.force_login(officer)
    url = reverse("admin:programs_beneficiary_changelist") + f"?benefit_plan={household_plan.pk}"
    ids = [str(r.pk) for r in enrolled[:4]]
    response = client.post(url, {"action": "request_activate", "_selected_action": ids})
    assert response.status_code == 200
    assert "activate 4 beneficiaries" in response.content.decode()
    response = client.post(
        url, {"action": "request_activate", "_selected_action": ids, "post": "yes", "reason": "verified"}
    )
    assert response.status_code == 302
    task = Task.objects.get(action="programs.beneficiary_status")
    assert task.object_id == household_plan.pk
    assert task.payload["ids"] == sorted(int(pk) for pk in ids)


def test_bulk_action_over_two_plans_refused(
    client, officer, household_plan, individual_plan, enrolled, registry
):
    plan_enrol(plan=individual_plan, user=officer, selection=EnrolmentSelection())
    client.force_login(officer)
    ids = [str(enrolled[0].pk), str(beneficiaries(individual_plan)[0].pk)]
    response = client.post(
        reverse("admin:programs_beneficiary_changelist"),
        {"action": "request_exit", "_selected_action": ids},
        follow=True,
    )
    assert any("one benefit plan" in str(m) for m in response.context["messages"])
    assert not Task.objects.exists()


def test_beneficiary_list_scoped_without_n_plus_one(
    client, officer, auditor, south_officer, household_plan, enrolled, tree, django_assert_max_num_queries
):
    url = reverse("admin:programs_beneficiary_changelist")
    client.force_login(officer)
    with django_assert_max_num_queries(20) as small:
        response = client.get(url)
    assert len(response.context["cl"].result_list) == 6
    from registry.models import Household

    for i in range(20):
        Household.objects.create(code=f"N-2{i:02d}", location=tree.north_a)
    plan_enrol(plan=household_plan, user=officer, selection=EnrolmentSelection())
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert len(response.context["cl"].result_list) == 26
    client.force_login(south_officer)  # no plan assigned
    assert len(client.get(url).context["cl"].result_list) == 0
    south = grant(south_officer, household_plan, "view_benefitplan")
    client.force_login(south)  # the plan, but only the South: none enrolled there
    assert len(client.get(url).context["cl"].result_list) == 0


def test_beneficiary_list_filters(client, officer, individual_plan, registry, tree):
    plan_enrol(plan=individual_plan, user=officer, selection=EnrolmentSelection())
    client.force_login(officer)
    url = reverse("admin:programs_beneficiary_changelist")
    women = client.get(url, {"sex": "F"}).context["cl"].result_list
    assert {b.individual.sex for b in women} == {"F"} and len(women) == 2
    old = client.get(url, {"age": "60+"}).context["cl"].result_list
    assert {b.individual.pk for b in old} == {p.pk for p in registry.north_people if p.age() >= 60}
    here = client.get(url, {"location": tree.north_b.pk}).context["cl"].result_list
    assert len(here) == 0
    assert (
        client.get(url, {"status__exact": "potential", "benefit_plan": individual_plan.pk}).status_code == 200
    )


def test_household_members_on_beneficiary_page(client, officer, household_plan, enrolled, registry):
    household = enrolled[0].household
    person = Individual.objects.create(
        given_name="Ada", family_name="Member", sex="F", location=household.location
    )
    HouseholdMember.objects.create(household=household, individual=person, role="head")
    client.force_login(officer)
    response = client.get(reverse("admin:programs_beneficiary_change", args=[enrolled[0].pk]))
    assert [m.individual for m in response.context["household_members"]] == [person]
    assert "Ada Member" in response.content.decode()


def test_only_administrators_assign_officers(client, officer, administrator, south_officer, household_plan):
    url = reverse("admin:programs_benefitplan_permissions", args=[household_plan.pk])
    client.force_login(officer)
    assert client.get(url).status_code == 404
    manage = reverse(
        "admin:programs_benefitplan_permissions_manage_user", args=[household_plan.pk, south_officer.pk]
    )
    assert (
        client.post(manage, {"permissions": ["view_benefitplan", "manage_beneficiaries"]}).status_code == 404
    )
    assert not user_can_manage_plan(south_officer, household_plan)
    client.force_login(administrator)
    assert client.get(url).status_code == 200
    response = client.post(manage, {"permissions": ["view_benefitplan", "manage_beneficiaries"]})
    assert response.status_code == 302
    from django.contrib.auth.models import User

    assert user_can_manage_plan(User.objects.get(pk=south_officer.pk), household_plan)


def test_export_is_the_filtered_scoped_list(client, officer, south_officer, household_plan, enrolled):
    from programs.services import beneficiary_status_change

    beneficiary_status_change(
        user=officer, plan=household_plan, transition="activate", reason="=HYPERLINK()", ids=[enrolled[0].pk]
    )
    client.force_login(officer)
    url = reverse("admin:programs_beneficiary_export")
    lines = b"".join(client.get(url).streaming_content).decode().lstrip("\ufeff").splitlines()
    assert lines[0].startswith("id,plan,household") and len(lines) == 7
    active = b"".join(client.get(url, {"status__exact": "active"}).streaming_content).decode().splitlines()
    assert len(active) == 2 and "'=HYPERLINK()" in active[1]
    list_page = client.get(reverse("admin:programs_beneficiary_changelist"), {"status__exact": "active"})
    assert f"{url}?status__exact=active" in list_page.content.decode()
    client.force_login(south_officer)
    assert len(b"".join(client.get(url).streaming_content).decode().splitlines()) == 1


def test_enrol_screen_expression_on_individual_plan(client, officer, individual_plan, registry):
    client.force_login(officer)
    url = reverse("admin:programs_benefitplan_enrol", args=[individual_plan.pk])
    response = client.get(url, {"sex": "M", "expression": "age >= 60", "preview": "1"})
    expected = {p.pk for p in registry.north_people if p.sex == "M" and p.age() >= 60}
    assert {row.pk for row in response.context["preview"].sample} == expected
    response = client.get(url, {"expression": "age >= ", "preview": "1"})
    assert response.context["preview"] is None
    assert "expression" in response.context["error"]
    assert 'id="enrol-error"' in response.content.decode()


def test_plan_links_open_filtered_lists(client, admin_user, household_plan):
    client.force_login(admin_user)
    for url in (
        f"/admin/uploads/importbatch/?benefit_plan__id__exact={household_plan.pk}",
        f"/admin/payments/paymentplan/?benefit_plan__id__exact={household_plan.pk}",
    ):
        response = client.get(url)
        assert response.status_code == 200, url  # an unknown filter would redirect to ?e=1
