"""The refresh driver runs each concern's summaries in order and reports every step to its job."""

from __future__ import annotations

from datetime import date

import portal.summaries as summaries
from portal.models import RegistrySummary, SummaryGrain, SummaryKind
from registry.models import Individual, Location


def test_refresh_reports_its_steps_in_order_and_counts_people(db):
    location = Location.objects.create(code="R1", name="Region")
    Individual.objects.create(given_name="Ada", family_name="Bello", sex="F", location=location)
    steps = []

    def progress(*, done, total, message):
        steps.append((done, total, message))

    summaries.summaries_refresh(today=date(2026, 6, 30), progress=progress)
    assert [done for done, _, _ in steps] == [0, 1, 2, 3, 4]
    assert {total for _, total, _ in steps} == {summaries.REFRESH_STEPS}
    people = RegistrySummary.objects.filter(kind=SummaryKind.INDIVIDUAL, grain=SummaryGrain.LOCATION)
    assert [(row.location_id, row.sex, row.count) for row in people] == [(location.pk, "F", 1)]
