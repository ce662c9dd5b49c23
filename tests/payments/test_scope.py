"""Payroll generation scoped to the officer's locations; approval only by checkers who see those locations."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from access.roles import APPROVER, PAYMENT_OFFICER
from approvals.selectors import tasks_awaiting, user_can_see_target
from approvals.services import task_approve
from payments.models import Benefit, PaymentPlan, PaymentPoint, PaymentPointType, Payroll, PayrollStatus
from payments.selectors import payroll_decidable_list
from payments.services import payment_plan_preview, payroll_create, payroll_submit
from tests.conftest import Tree, make_user
from tests.payments.conftest import World, enrol_household, household_with, make_payment_plan
from tests.programs.conftest import approve, grant


@dataclass
class Regions:
    world: World
    payment_plan: PaymentPlan
    south_officer: User
    south_approver: User
    south_codes: set[str]


@pytest.fixture
def regions(world: World, tree: Tree) -> Regions:
    """The world's three North households, plus two in the South and a South officer and approver."""
    south = [household_with(f"S{i}", tree.south, size) for i, size in enumerate([2, 4])]
    for household in south:
        enrol_household(world.plan, household, data={"school_attendance": 0.9, "children": 1})
    officer = grant(
        make_user("south-payer", roles=(PAYMENT_OFFICER,), locations=(tree.south,)),
        world.plan,
        "view_benefitplan",
        "request_payments",
    )
    approver = make_user("south-approver", roles=(APPROVER,), locations=(tree.south,))
    return Regions(world, make_payment_plan(world), officer, approver, {h.code for h in south})


def codes(payroll: Payroll) -> set[str]:
    return set(Benefit.objects.filter(payroll=payroll).values_list("beneficiary__household__code", flat=True))


def create(user: User, regions: Regions, point: PaymentPoint | None = None) -> Payroll:
    payroll = payroll_create(
        user=user,
        payment_plan=regions.payment_plan,
        cycle=regions.world.cycle,
        payment_point=point,
        background=False,
    )
    payroll.refresh_from_db()
    return payroll


def test_the_south_officer_generates_only_south_lines_and_the_payroll_records_it(
    regions: Regions, tree: Tree
) -> None:
    payroll = create(regions.south_officer, regions)
    assert codes(payroll) == regions.south_codes
    assert list(payroll.locations.all()) == [tree.south]
    assert payroll.scope_label() == "South" and "(South)" in payroll.name
    assert set(Benefit.objects.filter(payroll=payroll).values_list("location_id", flat=True)) == {
        tree.south.pk
    }


def test_the_north_officer_and_the_south_officer_each_pay_their_own_region_in_one_cycle(
    regions: Regions,
) -> None:
    north = create(regions.world.officer, regions)
    south = create(regions.south_officer, regions)
    assert codes(north) == {"H0", "H1", "H2"} and codes(south) == regions.south_codes
    with pytest.raises(ValidationError, match="already pays"):
        create(regions.south_officer, regions)


def test_an_officer_who_sees_everywhere_generates_plan_wide(regions: Regions, administrator: User) -> None:
    payroll = create(administrator, regions)
    assert codes(payroll) == {"H0", "H1", "H2"} | regions.south_codes
    assert not payroll.locations.exists() and payroll.scope_label() == "every location of the plan"


def test_the_scope_is_intersected_with_the_payment_points_locations(regions: Regions, tree: Tree) -> None:
    everywhere = PaymentPoint.objects.create(name="National bank", point_type=PaymentPointType.BANK)
    everywhere.locations.set([tree.north, tree.south])
    assert codes(create(regions.south_officer, regions, everywhere)) == regions.south_codes
    north_only = PaymentPoint.objects.create(name="Bank North A", point_type=PaymentPointType.BANK)
    north_only.locations.set([tree.north_a])
    with pytest.raises(ValidationError, match="serves none of your locations \\(South\\)"):
        create(regions.south_officer, regions, north_only)
    assert not Payroll.objects.filter(payment_point=north_only).exists()


def test_the_preview_shows_the_same_scope_and_says_it(regions: Regions, administrator: User) -> None:
    south = payment_plan_preview(user=regions.south_officer, payment_plan=regions.payment_plan)
    assert south.count == 2 and south.scope == "limited to your locations: South"
    assert {row["who"] for row in south.sample} == regions.south_codes
    everywhere = payment_plan_preview(user=administrator, payment_plan=regions.payment_plan)
    assert everywhere.count == 5 and everywhere.scope == "every location of the plan"


def test_the_preview_page_says_the_scope(client: Client, regions: Regions) -> None:
    client.force_login(regions.south_officer)
    url = reverse("admin:payments_paymentplan_preview", args=[regions.payment_plan.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert "limited to your locations: South" in response.content.decode()


def test_a_forged_generation_post_cannot_reach_out_of_scope(regions: Regions, tree: Tree) -> None:
    """The form has no scope field; a payment point of another region is refused, extra fields ignored."""
    north_point = regions.world.point  # serves the North
    client = Client()
    client.force_login(regions.south_officer)
    url = reverse("admin:payments_paymentplan_preview", args=[regions.payment_plan.pk])
    page = client.get(url).content.decode()
    points = page.split('name="payment_point"', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{north_point.pk}"' not in points  # not offered: it would only end in a refusal
    response = client.post(url, {"cycle": regions.world.cycle.pk, "payment_point": north_point.pk})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Payroll.objects.exists()
    response = client.post(
        url, {"cycle": regions.world.cycle.pk, "locations": [tree.north.pk], "scope": "everywhere"}
    )
    assert response.status_code == 302
    payroll = Payroll.objects.get()
    assert list(payroll.locations.all()) == [tree.south]


def test_an_officer_without_locations_cannot_generate(regions: Regions) -> None:
    nowhere = grant(
        make_user("nowhere", roles=(PAYMENT_OFFICER,)),
        regions.world.plan,
        "view_benefitplan",
        "request_payments",
    )
    with pytest.raises(ValidationError, match="No location is on your profile"):
        create(nowhere, regions)
    assert not Payroll.objects.exists()


def test_only_checkers_who_see_the_payrolls_locations_may_decide(
    regions: Regions, tree: Tree, administrator: User
) -> None:
    north_checker = regions.world.approver
    south = create(regions.south_officer, regions)
    task = payroll_submit(user=regions.south_officer, payroll=south)
    assert task not in tasks_awaiting(north_checker)
    assert not user_can_see_target(task=task, user=north_checker)
    with pytest.raises(ValidationError, match="outside what you can see"):
        task_approve(task=task, user=north_checker)
    assert task in tasks_awaiting(regions.south_approver)
    assert approve(task, regions.south_approver).state == "executed"
    south.refresh_from_db()
    assert south.status == PayrollStatus.APPROVED


def test_a_plan_wide_payroll_needs_a_checker_who_sees_everywhere(
    regions: Regions, administrator: User
) -> None:
    payroll = create(administrator, regions)
    north_checker = regions.world.approver
    assert not payroll_decidable_list(user=north_checker).filter(pk=payroll.pk).exists()
    assert not payroll_decidable_list(user=regions.south_approver).filter(pk=payroll.pk).exists()
    both = make_user("both", roles=(APPROVER,), locations=(regions.world.point.locations.get(),))
    assert not payroll_decidable_list(user=both).filter(pk=payroll.pk).exists()
    boss = make_user("boss", roles=(APPROVER,), superuser=True)
    assert payroll_decidable_list(user=boss).filter(pk=payroll.pk).exists()


def test_a_plan_wide_payroll_through_a_point_is_decided_within_the_points_locations(
    regions: Regions, administrator: User, tree: Tree
) -> None:
    payroll = create(administrator, regions, regions.world.point)  # the point serves the North
    assert codes(payroll) == {"H0", "H1", "H2"}
    assert payroll_decidable_list(user=regions.world.approver).filter(pk=payroll.pk).exists()
    assert not payroll_decidable_list(user=regions.south_approver).filter(pk=payroll.pk).exists()


def test_a_checker_covering_a_wider_region_sees_a_district_payroll(regions: Regions, tree: Tree) -> None:
    district_officer = grant(
        make_user("district", roles=(PAYMENT_OFFICER,), locations=(tree.north_a,)),
        regions.world.plan,
        "view_benefitplan",
        "request_payments",
    )
    payroll = create(district_officer, regions)
    assert codes(payroll) == {"H0", "H1", "H2"}
    assert payroll_decidable_list(user=regions.world.approver).filter(pk=payroll.pk).exists()
    district_checker = make_user("district-checker", roles=(APPROVER,), locations=(tree.north_b,))
    assert not payroll_decidable_list(user=district_checker).filter(pk=payroll.pk).exists()


def test_the_decidable_list_is_one_query(regions: Regions, django_assert_num_queries) -> None:
    create(regions.south_officer, regions)
    checker = regions.south_approver
    payroll_decidable_list(user=checker)  # the user's roles and locations, cached on the user
    with django_assert_num_queries(1):
        assert len(list(payroll_decidable_list(user=checker))) == 1


def test_the_checker_and_the_auditor_see_the_scope(client: Client, regions: Regions, auditor: User) -> None:
    from approvals.actions import action_get
    from payments.services import APPROVE_ACTION

    payroll = create(regions.south_officer, regions)
    task = payroll_submit(user=regions.south_officer, payroll=payroll)
    summary = action_get(APPROVE_ACTION).describe(target=payroll, payload=task.payload).summary
    assert summary.endswith("Generated for South.")
    client.force_login(auditor)
    page = client.get(reverse("admin:payments_payroll_change", args=[payroll.pk])).content.decode()
    assert "Generated for" in page and "South" in page


def test_the_generate_form_offers_the_points_serving_the_officers_locations(
    regions: Regions, administrator
) -> None:
    from payments.services import payment_points_usable

    north_point = regions.world.point
    assert north_point not in payment_points_usable(user=regions.south_officer)
    assert north_point in payment_points_usable(user=administrator)


def test_the_payroll_list_shows_payrolls_paying_in_the_officers_area_only(
    regions: Regions, administrator: User, tree: Tree
) -> None:
    from payments.selectors import payroll_list

    north = create(regions.world.officer, regions)
    south = create(regions.south_officer, regions)
    Payroll.objects.filter(pk__in=[north.pk, south.pk]).update(status=PayrollStatus.CANCELLED)
    plan_wide = create(administrator, regions)
    assert set(payroll_list(user=regions.south_officer)) == {south, plan_wide}
    assert set(payroll_list(user=regions.world.officer)) == {north, plan_wide}
    assert set(payroll_list(user=administrator)) == {north, south, plan_wide}
    # An officer of a district sees the payroll of the region around it, not the other region's.
    district = grant(
        make_user("north-a-payer", roles=(PAYMENT_OFFICER,), locations=(tree.north_a,)),
        regions.world.plan,
        "view_benefitplan",
    )
    assert list(north.locations.all()) == [tree.north]
    assert set(payroll_list(user=district)) == {north, plan_wide}


def test_the_payroll_changelist_lists_only_the_officers_payrolls(
    client: Client, regions: Regions, administrator: User
) -> None:
    north = create(regions.world.officer, regions)
    south = create(regions.south_officer, regions)
    client.force_login(regions.south_officer)
    page = client.get(reverse("admin:payments_payroll_changelist")).content.decode()
    assert south.name in page and north.name not in page
