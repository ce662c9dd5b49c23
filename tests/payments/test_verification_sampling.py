"""Sample size and intervals against known values; the sample drawn in the database: its size, strata,
only paid lines, the same for the same seed, split among the verifiers."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from payments.models import BenefitStatus, VerificationRecord
from payments.sampling import cochran_n0, sample_size, total_estimate, wilson_interval, z_score
from payments.services.verification import verification_sample_draw
from tests.payments.verification_world import paid_payroll, started_plan

pytestmark = pytest.mark.django_db


def test_cochran_n0_for_95_and_5_points():
    assert cochran_n0(z=1.96, margin_of_error=0.05, proportion=0.5) == pytest.approx(384.16)
    assert sample_size(population=10**9, z=1.96, margin_of_error=0.05) == 385
    assert sample_size(population=10**9, confidence_level=Decimal("0.95"), margin_of_error=0.05) == 385


def test_finite_population_correction():
    assert sample_size(population=1000, z=1.96, margin_of_error=0.05) == 278
    assert (
        sample_size(population=1000, z=1.96, margin_of_error=0.05, finite_population_correction=False) == 385
    )
    assert (
        sample_size(population=100, confidence_level=Decimal("0.95"), margin_of_error=Decimal("0.05")) == 80
    )


def test_other_levels_and_proportions():
    assert z_score(Decimal("0.99")) == pytest.approx(2.5758, abs=1e-4)
    assert z_score(0.90) == pytest.approx(1.6449, abs=1e-4)
    # 99 %, ±3 points, expected 90 % received: 2.5758² × 0.09 / 0.0009 = 663.5 → 664.
    assert sample_size(population=10**9, confidence_level=0.99, margin_of_error=0.03, proportion=0.9) == 664


def test_fixed_size_is_capped_by_the_population():
    assert sample_size(population=50, fixed_size=20) == 20
    assert sample_size(population=10, fixed_size=20) == 10
    assert sample_size(population=0, fixed_size=20) == 0
    with pytest.raises(ValueError):
        sample_size(population=100)


def test_wilson_interval_known_value():
    interval = wilson_interval(8, 10, z=1.96)
    assert interval.estimate == pytest.approx(0.8)
    assert (interval.low, interval.high) == (pytest.approx(0.4902, abs=1e-4), pytest.approx(0.9433, abs=1e-4))
    assert wilson_interval(0, 0, z=1.96) is None
    full = wilson_interval(10, 10, z=1.96)
    assert full.high == 1.0 and full.low == pytest.approx(0.7225, abs=1e-4)


def test_total_estimate_scales_the_mean_with_its_interval():
    # 10 lines sampled of 100: two missed 100.00 each → mean 20, total 2,000.
    estimate = total_estimate(total=200.0, total_of_squares=20000.0, n=10, population=100, z=1.96)
    assert estimate.estimate == pytest.approx(2000.0)
    # s² = (20000 − 10 × 400) / 9 = 1777.8; half = 1.96 × 100 × √(1777.8/10 × 0.9) = 2479.
    assert estimate.high == pytest.approx(2000 + 2479.3, abs=1)
    assert estimate.low == 0.0


def sampled(plan) -> list[int]:
    return sorted(VerificationRecord.objects.filter(plan=plan).values_list("benefit_id", flat=True))


def test_draws_the_computed_size_of_paid_lines_only(world, tree):
    paid = paid_payroll(world, tree)
    plan = started_plan(paid)  # 95 %, ±5 points over 100 paid lines: 80
    assert (plan.population_size, plan.sample_size) == (100, 80)
    statuses = set(VerificationRecord.objects.filter(plan=plan).values_list("benefit__status", flat=True))
    assert statuses == {BenefitStatus.PAID}
    record = VerificationRecord.objects.filter(plan=plan).select_related("benefit").first()
    assert (
        record.location_id == record.benefit.location_id and record.amount_paid == record.benefit.amount_paid
    )


def test_fixed_size_stratified_proportionally(world, tree):
    paid = paid_payroll(world, tree)
    plan = started_plan(paid, fixed_size=10, strata_depth=1)
    strata = Counter(VerificationRecord.objects.filter(plan=plan).values_list("stratum_id", flat=True))
    assert strata == {tree.north_a.pk: 7, tree.north_b.pk: 3}
    top = started_plan(paid, fixed_size=10, strata_depth=0)
    assert Counter(VerificationRecord.objects.filter(plan=top).values_list("stratum_id", flat=True)) == {
        tree.north.pk: 10
    }


def test_each_stratum_rounds_up_its_share(world, tree):
    paid = paid_payroll(world, tree, north_a=95, north_b=5)
    plan = started_plan(paid, fixed_size=10, strata_depth=1)
    strata = Counter(VerificationRecord.objects.filter(plan=plan).values_list("stratum_id", flat=True))
    assert strata == {tree.north_a.pk: 10, tree.north_b.pk: 1}  # 9.5 → 10, 0.5 → 1


def test_same_seed_same_sample_other_seed_other_sample(world, tree):
    paid = paid_payroll(world, tree)
    first = started_plan(paid, fixed_size=15)
    second = started_plan(paid, fixed_size=15)
    assert sampled(first) != sampled(second)  # each plan has its own seed
    type(second).objects.filter(pk=second.pk).update(seed=first.seed)
    second.refresh_from_db()
    VerificationRecord.objects.filter(plan=second).delete()
    assert verification_sample_draw(plan=second, size=15, verifier_ids=[]) == 15
    assert sampled(second) == sampled(first)


def test_the_sample_is_split_among_the_verifiers(world, tree):
    paid = paid_payroll(world, tree)
    plan = started_plan(paid, fixed_size=11, verifiers=[paid.verifier, paid.verifier_2])
    shares = Counter(VerificationRecord.objects.filter(plan=plan).values_list("verifier_id", flat=True))
    assert shares == {paid.verifier.pk: 6, paid.verifier_2.pk: 5}


def test_the_draw_is_one_statement(world, tree, django_assert_num_queries):
    paid = paid_payroll(world, tree)
    plan = started_plan(paid, fixed_size=1)
    VerificationRecord.objects.filter(plan=plan).delete()
    with django_assert_num_queries(1):
        assert verification_sample_draw(plan=plan, size=40, verifier_ids=[paid.verifier.pk]) == 40
