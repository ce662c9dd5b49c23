"""Payroll generation: amounts from the formula in the database, held lines, recipients, one per cycle."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from jobs.models import Job, JobState
from payments.models import Benefit, BenefitStatus, PaymentPlan, PayrollStatus
from payments.services import payment_plan_preview, payment_plan_save, payroll_create
from payments.tasks import payroll_generate_job
from registry.models import HouseholdMember
from tests.payments.conftest import World, generate, make_payment_plan


def lines(payroll) -> dict[str, Benefit]:
    return {
        b.beneficiary.household.code: b
        for b in Benefit.objects.filter(payroll=payroll).select_related("beneficiary__household")
    }


def test_amounts_follow_the_formula_and_the_stored_household_size(world: World) -> None:
    payroll = generate(world, make_payment_plan(world))
    assert payroll.status == PayrollStatus.DRAFT
    by_code = lines(payroll)
    assert {code: b.amount for code, b in by_code.items()} == {
        "H0": Decimal("175.00"),
        "H1": Decimal("225.00"),
        "H2": Decimal("300.00"),
    }
    assert all(b.status == BenefitStatus.PENDING for b in by_code.values())
    assert len({b.reference for b in by_code.values()}) == 3
    primary = HouseholdMember.objects.get(household=world.households[1], is_primary_recipient=True)
    assert by_code["H1"].recipient_id == primary.individual_id
    head = HouseholdMember.objects.get(household=world.households[0], role="head")
    assert by_code["H0"].recipient_id == head.individual_id  # no primary recipient: the head


def test_filter_with_plan_data_selects_the_subgroup(world: World) -> None:
    plan = make_payment_plan(world, condition='status == "active" and data.school_attendance >= 0.8')
    assert set(lines(generate(world, plan))) == {"H0", "H2"}


def test_lines_above_the_limit_are_held_with_the_reason(world: World) -> None:
    payroll = generate(world, make_payment_plan(world, limit=Decimal("250")))
    held = lines(payroll)["H2"]
    assert held.status == BenefitStatus.HELD
    assert "per-transaction limit" in held.hold_reason
    assert lines(payroll)["H0"].status == BenefitStatus.PENDING


def test_division_by_zero_is_held_with_the_reason_from_null_reasons(world: World) -> None:
    payroll = generate(world, make_payment_plan(world, formula="100 + 600 / data.children"))
    by_code = lines(payroll)
    assert by_code["H0"].status == BenefitStatus.HELD and by_code["H0"].amount is None
    assert "division by zero" in by_code["H0"].hold_reason.lower() or "zero" in by_code["H0"].hold_reason
    assert by_code["H1"].amount == Decimal("400.00") and by_code["H1"].status == BenefitStatus.PENDING


def test_negative_amounts_are_held(world: World) -> None:
    payroll = generate(world, make_payment_plan(world, formula="100 - 50 * household_size"))
    assert lines(payroll)["H2"].status == BenefitStatus.HELD
    assert "negative" in lines(payroll)["H2"].hold_reason


def test_generating_twice_for_the_same_cycle_is_refused(world: World) -> None:
    plan = make_payment_plan(world)
    payroll = generate(world, plan)
    with pytest.raises(ValidationError, match="already pays"):
        payroll_create(
            user=world.officer,
            payment_plan=plan,
            cycle=world.cycle,
            payment_point=world.point,
            background=False,
        )
    line = Benefit.objects.filter(payroll=payroll).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Benefit.objects.create(
            payroll=payroll,
            beneficiary=line.beneficiary,
            cycle=world.cycle,
            location=line.location,
            reference="DUPLICATE",
            amount=1,
        )


def test_generation_runs_as_a_job_with_progress(world: World, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        payroll = payroll_create(
            user=world.officer,
            payment_plan=make_payment_plan(world),
            cycle=world.cycle,
            payment_point=world.point,
        )
    assert payroll.status == PayrollStatus.GENERATING and payroll.job_id
    payroll_generate_job.func(payroll.job_id, payroll.pk)
    payroll.refresh_from_db()
    job = Job.objects.get(pk=payroll.job_id)
    assert payroll.status == PayrollStatus.DRAFT
    assert job.state == JobState.SUCCEEDED and job.done == 3 and job.result["lines"] == 3


def test_preview_shows_figures_and_a_sample(world: World) -> None:
    preview = payment_plan_preview(
        user=world.officer, payment_plan=make_payment_plan(world, limit=Decimal("250"))
    )
    assert (preview.count, preview.total) == (3, Decimal("700.00"))
    assert (preview.minimum, preview.maximum) == (Decimal("175.00"), Decimal("300.00"))
    assert preview.average == Decimal("233.33") and preview.held_above_limit == 1
    assert [row["amount"] for row in preview.sample] == [
        Decimal("175.00"),
        Decimal("225.00"),
        Decimal("300.00"),
    ]


@pytest.mark.parametrize(
    ("formula", "condition", "field", "message"),
    [
        ("150 +", 'status == "active"', "amount_formula", ""),
        ("150 + householdsize", 'status == "active"', "amount_formula", "unknown field"),
        ('"a" + 1', 'status == "active"', "amount_formula", ""),
        ("150", "household_size + 1", "filter_expression", ""),
        ("status", 'status == "active"', "amount_formula", ""),
    ],
)
def test_bad_expressions_are_refused_on_save(
    world: World, formula: str, condition: str, field: str, message: str
) -> None:
    plan = PaymentPlan(
        benefit_plan=world.plan, name="Bad", amount_formula=formula, filter_expression=condition
    )
    with pytest.raises(ValidationError) as error:
        payment_plan_save(user=world.officer, payment_plan=plan)
    assert field in error.value.message_dict
    assert message in " ".join(error.value.message_dict[field])
    assert not PaymentPlan.objects.filter(name="Bad").exists()


def test_officer_without_the_plan_permission_cannot_generate(world: World, tree) -> None:
    from access.roles import PAYMENT_OFFICER
    from tests.conftest import make_user

    stranger = make_user("stranger", roles=(PAYMENT_OFFICER,), locations=(tree.north,))
    with pytest.raises(ValidationError, match="may not request payments"):
        payroll_create(
            user=stranger, payment_plan=make_payment_plan(world), cycle=world.cycle, background=False
        )


def test_a_payment_point_pays_only_the_locations_it_serves(world: World, tree, administrator) -> None:
    from payments.models import PaymentPoint, PaymentPointType

    south_bank = PaymentPoint.objects.create(name="Bank South", point_type=PaymentPointType.BANK)
    south_bank.locations.set([tree.south])
    payment_plan = make_payment_plan(world)
    with pytest.raises(ValidationError, match="serves none of your locations"):
        generate(world, payment_plan, point=south_bank)  # the officer pays in the North only
    plan_wide = payroll_create(
        user=administrator,
        payment_plan=payment_plan,
        cycle=world.cycle,
        payment_point=south_bank,
        background=False,
    )
    assert not Benefit.objects.filter(payroll=plan_wide).exists()
    district_bank = PaymentPoint.objects.create(name="Bank North A", point_type=PaymentPointType.BANK)
    district_bank.locations.set([tree.north_a])
    world.cycle = world.cycle.__class__.objects.create(
        code="2026-02", start_date=world.cycle.start_date, end_date=world.cycle.end_date
    )
    payroll = generate(world, PaymentPlan.objects.get(), point=district_bank)
    assert Benefit.objects.filter(payroll=payroll).count() == 3


def test_progress_moves_between_chunks_and_chunks_write_the_same_lines(world: World, tree) -> None:
    from payments.services import payroll_generate
    from tests.payments.conftest import enrol_household, household_with

    for index in range(4):
        enrol_household(world.plan, household_with(f"X{index}", tree.north_b, 2))
    payment_plan = make_payment_plan(world, limit=Decimal("250"))
    whole = generate(world, payment_plan)
    expected = {(b.beneficiary_id, b.amount, b.status) for b in Benefit.objects.filter(payroll=whole)}
    from payments.services import payroll_cancel

    payroll_cancel(user=world.officer, payroll=whole, reason="again, in chunks")
    chunked = payroll_create(
        user=world.officer,
        payment_plan=payment_plan,
        cycle=world.cycle,
        payment_point=world.point,
        background=True,
    )
    calls: list[dict] = []
    result = payroll_generate(payroll=chunked, progress=lambda **kw: calls.append(kw), chunk_size=3)
    assert {
        (b.beneficiary_id, b.amount, b.status) for b in Benefit.objects.filter(payroll=chunked)
    } == expected
    assert result["lines"] == 7
    # 7 beneficiaries in 3 id ranges: progress before, after each range, and before explaining.
    assert [(c["done"], c["total"]) for c in calls] == [(0, 7), (2, 7), (4, 7), (7, 7), (7, 7)]
    assert [c["message"] for c in calls[1:4]] == ["3 lines written", "6 lines written", "7 lines written"]


def test_the_job_reports_progress_per_chunk(
    world: World, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    from payments import services

    monkeypatch.setattr(services, "GENERATION_CHUNK", 1)
    seen: list[tuple[int, int | None]] = []
    real = services.payroll_generate

    def spy(**kwargs):  # type: ignore[no-untyped-def]
        def progress(**kw):  # type: ignore[no-untyped-def]
            kwargs["progress"](**kw)
            job = Job.objects.get(pk=payroll.job_id)
            seen.append((job.done, job.total))

        return real(payroll=kwargs["payroll"], progress=progress, chunk_size=services.GENERATION_CHUNK)

    monkeypatch.setattr(services, "payroll_generate", spy)
    with django_capture_on_commit_callbacks(execute=False):
        payroll = payroll_create(
            user=world.officer,
            payment_plan=make_payment_plan(world),
            cycle=world.cycle,
            payment_point=world.point,
        )
    payroll_generate_job.func(payroll.job_id, payroll.pk)
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3), (3, 3)]
