"""A person's page lists only the enrolments the viewer may see: in person or through the household."""

from django.utils import timezone

from programs.models import Beneficiary, BeneficiaryStatus
from registry.models import HouseholdMember, HouseholdRole
from tests.programs.conftest import grant, make_plan

NOW = timezone.now()


def test_person_page_shows_enrolments_of_the_viewers_plans_only(client, maker, registry, household_plan):
    person = registry.north_people[0]
    household = registry.north_households[0]
    HouseholdMember.objects.create(household=household, individual=person, role=HouseholdRole.HEAD)
    pension = make_plan("PENSION", plan_type="individual")
    secret = make_plan("SECRET", plan_type="individual")
    Beneficiary.objects.create(
        benefit_plan=pension,
        individual=person,
        location=person.location,
        status=BeneficiaryStatus.ACTIVE,
        status_changed_at=NOW,
        enrolled_at=NOW,
    )
    Beneficiary.objects.create(
        benefit_plan=secret,
        individual=person,
        location=person.location,
        status=BeneficiaryStatus.ACTIVE,
        status_changed_at=NOW,
        enrolled_at=NOW,
    )
    Beneficiary.objects.create(
        benefit_plan=household_plan,
        household=household,
        location=household.location,
        status=BeneficiaryStatus.POTENTIAL,
        status_changed_at=NOW,
        enrolled_at=NOW,
    )
    grant(maker, pension, "view_benefitplan")
    viewer = grant(maker, household_plan, "view_benefitplan")
    client.force_login(viewer)
    page = client.get(f"/admin/registry/individual/{person.pk}/change/").content.decode()
    assert "Plan PENSION — Active" in page
    assert "Plan CASH — Potential" in page  # through the household
    assert "Plan SECRET" not in page  # a plan the officer is not assigned to


def test_person_page_says_when_no_visible_enrolment(client, maker, registry):
    person = registry.north_people[1]
    secret = make_plan("SECRET", plan_type="individual")
    Beneficiary.objects.create(
        benefit_plan=secret,
        individual=person,
        location=person.location,
        status=BeneficiaryStatus.ACTIVE,
        status_changed_at=NOW,
        enrolled_at=NOW,
    )
    client.force_login(maker)
    page = client.get(f"/admin/registry/individual/{person.pk}/change/").content.decode()
    assert "Not enrolled in any programme you can see." in page
    assert "Plan SECRET" not in page
