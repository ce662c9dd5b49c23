"""The beneficiary list's search: a household by its code, people by the beginning of their family name."""

from __future__ import annotations

from django.urls import reverse

from programs.services import EnrolmentSelection, plan_enrol


def _found(client, term: str) -> set[int]:
    response = client.get(reverse("admin:programs_beneficiary_changelist"), {"q": term})
    assert response.status_code == 200
    return {row.pk for row in response.context["cl"].result_list}


def test_search_by_household_code_is_exact(client, officer, household_plan, registry):
    plan_enrol(plan=household_plan, user=officer, selection=EnrolmentSelection())
    client.force_login(officer)
    household = registry.north_households[2]  # code N-002
    assert _found(client, "N-002") == {household.beneficiaries.get().pk}
    assert _found(client, "n-002") == {household.beneficiaries.get().pk}  # typed in lower case
    assert _found(client, "N-00") == set()  # a code matches whole, not as a prefix


def test_search_by_family_name_prefix(client, officer, individual_plan, registry):
    plan_enrol(plan=individual_plan, user=officer, selection=EnrolmentSelection())
    client.force_login(officer)
    north = {b.pk for b in individual_plan.beneficiaries.filter(individual__family_name="North")}
    assert len(north) == 5
    assert _found(client, "nor") == north
    assert _found(client, "orth") == set()  # the beginning of the name, as the registry searches
