"""The summaries' coarser grains: rows summed up to districts and regions, and the grain each view reads."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from guardian.shortcuts import assign_perm

from access.roles import PROGRAMME_OFFICER
from portal.dashboard import coverage_areas, reconciliation_by_cycle, registry_rollup
from portal.models import RegistrySummary, SummaryGrain
from portal.summaries import SummaryFilters, summaries_refresh, summary_grain
from programs.models import Beneficiary, BenefitPlan
from registry.models import Individual, Location
from tests.conftest import make_user

TODAY = date(2026, 6, 15)


@pytest.fixture
def villages(tree):  # type: ignore[no-untyped-def]
    """A third level: villages A1 and A2 in North A, B1 in North B."""
    return {
        code: Location.objects.create(code=code, name=f"Village {code}", parent=parent)
        for code, parent in (("A1", tree.north_a), ("A2", tree.north_a), ("B1", tree.north_b))
    }


@pytest.fixture
def people(tree, villages):  # type: ignore[no-untyped-def]
    """Two women of 30-39 registered in January in two villages of North A; others elsewhere and higher up."""
    plan = BenefitPlan.objects.create(
        code="CASH", name="Cash", plan_type="individual", start_date=date(2020, 1, 1)
    )

    def person(location, sex: str, born: date, registered: date, status: str = "") -> None:  # type: ignore[no-untyped-def]
        individual = Individual.objects.create(
            given_name="P",
            family_name="Q",
            sex=sex,
            birth_date=born,
            location=location,
            registration_date=registered,
        )
        if status:
            at = datetime(2026, 2, 1, 9, tzinfo=UTC)
            Beneficiary.objects.create(
                benefit_plan=plan,
                individual=individual,
                location=location,
                status=status,
                status_changed_at=at,
                enrolled_at=at,
            )

    person(villages["A1"], "F", date(1990, 1, 1), date(2026, 1, 10), "active")
    person(villages["A2"], "F", date(1991, 3, 1), date(2026, 1, 25), "active")
    person(villages["B1"], "M", date(2000, 1, 1), date(2026, 2, 1), "suspended")
    person(tree.north_a, "M", date(1950, 1, 1), date(2025, 5, 5), "exited")  # registered at district level
    person(tree.north, "F", date(2010, 1, 1), date(2026, 3, 3))  # registered at region level
    person(tree.south, "F", date(1990, 1, 1), date(2026, 1, 10), "active")
    summaries_refresh(today=TODAY)
    return plan


def rows(grain: int) -> dict[tuple[str, str, str, date | None], tuple[int, int]]:
    """{(path, sex, band, month): (location id, count)} of the individuals' rows at one grain."""
    return {
        (r.location_path, r.sex, r.age_band, r.registered_month): (r.location_id, r.count)
        for r in RegistrySummary.objects.filter(kind="individual", grain=grain)
    }


def test_rows_are_summed_up_to_each_ancestor(tree, villages, people):
    january = date(2026, 1, 1)
    fine = rows(SummaryGrain.LOCATION)
    assert fine[(villages["A1"].path, "F", "30-39", january)] == (villages["A1"].pk, 1)
    assert fine[(villages["A2"].path, "F", "30-39", january)] == (villages["A2"].pk, 1)
    districts = rows(SummaryGrain.SECOND)
    assert districts[(tree.north_a.path, "F", "30-39", january)] == (tree.north_a.pk, 2)
    assert districts[(tree.north_b.path, "M", "20-29", date(2026, 2, 1))] == (tree.north_b.pk, 1)
    # Registered above the grain's level: the row keeps its own location.
    assert districts[(tree.north.path, "F", "10-19", date(2026, 3, 1))] == (tree.north.pk, 1)
    assert len(districts) == 5 and len(fine) == 6
    regions = rows(SummaryGrain.TOP)
    assert regions[(tree.north.path, "F", "30-39", january)] == (tree.north.pk, 2)
    assert regions[(tree.south.path, "F", "30-39", january)] == (tree.south.pk, 1)
    assert sum(count for _, count in regions.values()) == 6 and len(regions) == 5


def test_the_coarsest_grain_that_answers_is_chosen(tree, villages, people, administrator, south_officer):
    def grain(user, location=None, depth=0):  # type: ignore[no-untyped-def]
        filters = SummaryFilters(location_path=location.path if location else "")
        return summary_grain(user=user, filters=filters, depth=depth)

    assert grain(administrator) == SummaryGrain.TOP
    assert grain(administrator, tree.north, depth=1) == SummaryGrain.SECOND
    assert grain(administrator, tree.north_a, depth=2) == SummaryGrain.LOCATION
    assert grain(south_officer) == SummaryGrain.TOP  # scoped to a region
    district_officer = make_user("district", roles=(PROGRAMME_OFFICER,), locations=(tree.north_a,))
    assert grain(district_officer) == SummaryGrain.SECOND
    village_officer = make_user("village", roles=(PROGRAMME_OFFICER,), locations=(villages["A1"],))
    assert grain(village_officer) == SummaryGrain.LOCATION


def test_every_grain_that_answers_gives_the_figures_of_the_finest(
    tree, villages, people, administrator, south_officer
):
    district_officer = make_user("district", roles=(PROGRAMME_OFFICER,), locations=(tree.north_a,))
    assign_perm("programs.view_benefitplan", district_officer, people)
    assign_perm("programs.view_benefitplan", south_officer, people)
    cases = [
        (administrator, None, 0),
        (administrator, tree.north, 1),
        (administrator, tree.north_a, 2),
        (south_officer, None, 0),
        (district_officer, None, 0),
        (district_officer, tree.north, 1),
    ]
    for user, location, depth in cases:
        for since in (None, date(2026, 1, 1)):
            filters = SummaryFilters(location_path=location.path if location else "", since=since)
            chosen = summary_grain(user=user, filters=filters, depth=depth)
            for grain in {chosen, SummaryGrain.LOCATION}:
                rollup = registry_rollup(user=user, filters=filters, depth=depth, grain=grain)
                got = (
                    rollup.total("individual"),
                    (
                        rollup.by_area("individual"),
                        rollup.by_month("individual"),
                        rollup.by_sex_band("individual"),
                    ),
                    coverage_areas(user=user, filters=filters, rollup=rollup, grain=grain),
                    reconciliation_by_cycle(user=user, filters=filters, grain=grain),
                )
                if grain == SummaryGrain.LOCATION:
                    finest = got
                else:
                    coarse = got
            if chosen != SummaryGrain.LOCATION:
                assert coarse[0] == finest[0], (user, location, since)
                assert coarse[2] == finest[2], (user, location, since)
                # Same totals per area, per month, per sex and band once areas are cut at `depth`.
                assert coarse[1] == finest[1], (user, location, since)
    # The district officer sees North A's three people (the two women and the man registered at the district).
    filters = SummaryFilters()
    rollup = registry_rollup(user=district_officer, filters=filters, depth=0, grain=SummaryGrain.SECOND)
    assert rollup.total("individual") == 3
    (north,) = coverage_areas(
        user=district_officer, filters=filters, rollup=rollup, grain=SummaryGrain.SECOND
    )
    assert (north.name, north.people, north.current) == ("North", 3, 2)  # the exited man is not current
