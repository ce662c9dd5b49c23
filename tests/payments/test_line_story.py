"""Every change of a payment line's status or amount is on its story, set-based, with who and when;
the plan's ceiling per beneficiary caps or holds lines at generation."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from payments.models import (
    Benefit,
    BenefitEvent,
    BenefitEventKind,
    BenefitStatus,
    PaymentCycle,
    Payroll,
    PayrollStatus,
)
from payments.services import (
    benefit_release_request,
    payroll_cancel,
    payroll_carry_over,
    payroll_send,
    payroll_submit,
)
from programs.models import BenefitPlan, CeilingAction
from tests.conftest import Tree, make_user
from tests.payments.conftest import (
    World,
    approve,
    enrol_household,
    generate,
    household_with,
    make_payment_plan,
    sent_payroll,
)


def story(line: Benefit) -> list[tuple[str, str, str]]:
    return [
        (event.kind, event.from_status, event.to_status)
        for event in BenefitEvent.objects.filter(benefit=line).order_by("at", "pk")
    ]


def amounts(payroll: Payroll) -> list[tuple[Decimal, str]]:
    return list(Benefit.objects.filter(payroll=payroll).order_by("amount").values_list("amount", "status"))


# --- the ceiling per beneficiary ------------------------------------------------------------------


def ceiling(world: World, value: str | None, action: str = CeilingAction.CAP) -> None:
    BenefitPlan.objects.filter(pk=world.plan.pk).update(
        ceiling_per_beneficiary=None if value is None else Decimal(value), ceiling_action=action
    )
    world.plan.refresh_from_db()


def test_without_a_ceiling_the_formula_pays_as_written(world: World) -> None:
    # 150 + 25 * min(household_size, 6) for households of 1, 3 and 8 people
    payroll = generate(world, make_payment_plan(world))
    assert amounts(payroll) == [
        (Decimal("175.00"), "pending"),
        (Decimal("225.00"), "pending"),
        (Decimal("300.00"), "pending"),
    ]


def test_the_plan_caps_lines_above_its_ceiling(world: World) -> None:
    ceiling(world, "200.00", CeilingAction.CAP)
    payroll = generate(world, make_payment_plan(world))
    assert amounts(payroll) == [
        (Decimal("175.00"), "pending"),
        (Decimal("200.00"), "pending"),
        (Decimal("200.00"), "pending"),
    ]
    capped = Benefit.objects.filter(payroll=payroll, amount=Decimal("200.00")).first()
    assert "ceiling per beneficiary of 200.00" in BenefitEvent.objects.get(benefit=capped).note


def test_the_plan_holds_lines_above_its_ceiling_and_a_release_pays_them(world: World) -> None:
    ceiling(world, "200.00", CeilingAction.HOLD)
    payroll = generate(world, make_payment_plan(world))
    assert amounts(payroll) == [
        (Decimal("175.00"), "pending"),
        (Decimal("225.00"), "held"),
        (Decimal("300.00"), "held"),
    ]
    held = Benefit.objects.filter(payroll=payroll, status=BenefitStatus.HELD).order_by("amount").first()
    assert "ceiling per beneficiary of 200.00" in held.hold_reason
    task = approve(benefit_release_request(user=world.officer, payroll=payroll), world.approver)
    held.refresh_from_db()
    assert held.status == BenefitStatus.PENDING
    released = BenefitEvent.objects.get(benefit=held, kind=BenefitEventKind.RELEASED)
    assert (released.user, released.task_id) == (world.approver, task.pk)
    assert "ceiling" in released.note and released.from_status == "held"


def test_the_cap_comes_before_the_per_transaction_limit(world: World) -> None:
    ceiling(world, "200.00", CeilingAction.CAP)
    payroll = generate(world, make_payment_plan(world, limit=Decimal("210.00")))
    assert {status for _, status in amounts(payroll)} == {"pending"}


# --- the story of a line, path by path ------------------------------------------------------------


def test_generation_approval_and_provider_results_are_on_the_story(client: Client, world: World) -> None:
    before = timezone.now()
    payroll = sent_payroll(world)
    line = Benefit.objects.filter(payroll=payroll).order_by("pk").first()
    client.post(
        "/api/payments/reconciliations",
        data=json.dumps(
            {
                "lines": [
                    {
                        "reference": line.reference,
                        "status": "paid",
                        "amount_paid": str(line.amount),
                        "paid_at": (timezone.now() - timedelta(hours=1)).isoformat(),
                        "transaction_id": "MP-1",
                    }
                ]
            }
        ),
        content_type="application/json",
        HTTP_X_API_KEY=world.key,
        HTTP_IDEMPOTENCY_KEY="one",
    )
    assert story(line) == [
        ("generated", "", "pending"),
        ("approved", "pending", "pending"),
        ("paid", "pending", "paid"),
    ]
    generated, approved, paid = BenefitEvent.objects.filter(benefit=line).order_by("at", "pk")
    assert generated.user == world.officer and generated.amount == line.amount
    assert approved.user == world.approver and approved.task_id is not None
    assert paid.payment_point == world.point and paid.user is None and paid.note == "Transaction MP-1"
    assert paid.amount_paid == line.amount
    assert all(before <= event.at <= timezone.now() for event in (generated, approved, paid))


def test_cancel_is_on_the_story_with_who_and_why(world: World) -> None:
    payroll = generate(world, make_payment_plan(world))
    payroll_cancel(user=world.officer, payroll=payroll, reason="Wrong cycle")
    for line in Benefit.objects.filter(payroll=payroll):
        event = BenefitEvent.objects.get(benefit=line, kind=BenefitEventKind.CANCELLED)
        assert (event.from_status, event.to_status, event.user, event.note) == (
            "pending",
            "cancelled",
            world.officer,
            "Wrong cycle",
        )


def test_carry_over_is_on_the_story_of_both_lines(world: World) -> None:
    from payments.services import reconciliation_apply

    payroll = sent_payroll(world)
    line = Benefit.objects.filter(payroll=payroll).order_by("pk").first()
    reconciliation_apply(
        payment_point=world.point,
        idempotency_key="fail-1",
        lines=[{"reference": line.reference, "status": "failed", "reason": "No agent"}],
    )
    new = payroll_carry_over(user=world.officer, payroll=payroll)
    assert story(line)[-2:] == [("failed", "pending", "failed"), ("carried", "failed", "carried")]
    assert f"#{new.pk}" in BenefitEvent.objects.get(benefit=line, kind="carried").note
    copy = Benefit.objects.get(payroll=new)
    assert story(copy) == [("carried_in", "", "pending")]
    event = BenefitEvent.objects.get(benefit=copy)
    assert event.user == world.officer and f"#{payroll.pk}" in event.note


# --- set-based: a constant number of queries ------------------------------------------------------


def add_households(world: World, tree: Tree, count: int, prefix: str) -> None:
    for index in range(count):
        enrol_household(world.plan, household_with(f"{prefix}{index}", tree.north_b, 1))


def queries(action) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured)


def next_cycle(world: World, code: str) -> None:
    world.cycle = PaymentCycle.objects.create(
        code=code, start_date=world.cycle.start_date, end_date=world.cycle.end_date
    )


@pytest.mark.parametrize("step", ["cancel", "approve", "release", "reconcile"])
def test_a_set_based_change_of_n_lines_runs_a_constant_number_of_queries(
    world: World, tree: Tree, step: str
) -> None:
    from payments.services import reconciliation_apply

    payment_plan = make_payment_plan(world, limit=Decimal("1.00") if step == "release" else None)
    counts = []
    total = 3
    # The first round warms the caches (content types, permissions); the next two must cost the same.
    for size, code in ((0, "2026-02"), (1, "2026-03"), (12, "2026-04")):
        add_households(world, tree, size, f"C{code}-")
        total += size
        next_cycle(world, code)
        payroll = generate(world, payment_plan)
        lines = Benefit.objects.filter(payroll=payroll)
        if step == "cancel":
            counts.append(queries(partial(payroll_cancel, user=world.officer, payroll=payroll, reason="x")))
        elif step == "approve":
            task = payroll_submit(user=world.officer, payroll=payroll)
            counts.append(queries(partial(approve, task, world.approver)))
        elif step == "release":
            task = benefit_release_request(user=world.officer, payroll=payroll)
            counts.append(queries(partial(approve, task, world.approver)))
        else:
            Payroll.objects.filter(pk=payroll.pk).update(status=PayrollStatus.SENT)
            body = [
                {"reference": reference, "status": "failed", "reason": "Closed"}
                for reference in lines.values_list("reference", flat=True)
            ]
            counts.append(
                queries(
                    partial(reconciliation_apply, payment_point=world.point, idempotency_key=code, lines=body)
                )
            )
        changed = BenefitEvent.objects.filter(payroll=payroll).exclude(kind="generated")
        assert changed.count() == lines.count() == total
    assert counts[1] == counts[2], counts


# --- shown on the line's page ---------------------------------------------------------------------


def test_the_line_page_shows_its_story_to_an_auditor(client: Client, world: World, tree: Tree) -> None:
    from access.roles import AUDITOR

    payroll = generate(world, make_payment_plan(world))
    payroll_cancel(user=world.officer, payroll=payroll, reason="Wrong cycle")
    line = Benefit.objects.filter(payroll=payroll).first()
    client.force_login(make_user("auditor", roles=(AUDITOR,), locations=(tree.north,)))
    page = client.get(reverse("admin:payments_benefit_change", args=[line.pk])).content.decode()
    assert 'id="benefit-story"' in page
    assert "Generated" in page and "Cancelled" in page and "Wrong cycle" in page and "payer" in page


def test_sending_keeps_the_lines_as_they_were(world: World) -> None:
    payroll = generate(world, make_payment_plan(world))
    approve(payroll_submit(user=world.officer, payroll=payroll), world.approver)
    before = BenefitEvent.objects.count()
    payroll_send(user=world.officer, payroll=payroll)
    assert BenefitEvent.objects.count() == before  # a payroll-level step: on the payroll's history


def test_the_preview_counts_the_lines_above_the_ceiling(client: Client, world: World) -> None:
    from payments.services import payment_plan_preview

    ceiling(world, "200.00", CeilingAction.HOLD)
    payment_plan = make_payment_plan(world)
    assert payment_plan_preview(user=world.officer, payment_plan=payment_plan).above_ceiling == 2
    client.force_login(world.officer)
    page = client.get(reverse("admin:payments_paymentplan_preview", args=[payment_plan.pk])).content.decode()
    assert 'id="preview-above-ceiling">2<' in page and "Hold the line for approval" in page
