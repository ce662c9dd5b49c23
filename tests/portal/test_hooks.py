"""The apps above plug into the lower ones through hooks filled in their AppConfig.ready(), not imports:
the programmes' enrolment filters in the registry's search, a person's enrolments and upload record on the
registry's page, the uploads' and payments' links and the latest payrolls on a plan's page."""

from __future__ import annotations

import pytest
from django.test import Client

import programs.hooks
import registry.hooks
from access.roles import PROGRAMME_OFFICER
from payments.selectors import payroll_list
from registry.filters import household_filterset, individual_filterset
from tests.conftest import Tree, make_user
from tests.payments.conftest import generate, make_payment_plan, world_build
from tests.programs.conftest import grant

pytestmark = pytest.mark.django_db


def test_the_registry_search_has_the_programmes_filters_only_through_the_hook(
    tree: Tree, admin_user, monkeypatch
) -> None:
    world = world_build(tree)
    enrolled = world.households[1]
    search = household_filterset({"benefit_plan": world.plan.pk}, user=admin_user)
    assert {"benefit_plan", "enrolment_status"} <= set(search.filters)
    assert set(search.qs) == set(world.households)
    search = household_filterset({"enrolment_status": ["active"]}, user=admin_user)
    assert enrolled in search.qs
    people = individual_filterset({"benefit_plan": world.plan.pk}, user=admin_user).qs
    assert set(people) == {m.individual for h in world.households for m in h.memberships.all()}

    monkeypatch.setattr(registry.hooks, "_search_extensions", {})
    search = individual_filterset({"benefit_plan": world.plan.pk}, user=admin_user)
    assert "benefit_plan" not in search.filters  # the registry alone knows nothing of plans
    assert search.qs.count() == sum(h.size for h in world.households)


def test_the_plan_filter_offers_only_the_plans_the_user_sees(tree: Tree) -> None:
    world = world_build(tree)
    stranger = make_user("stranger", roles=(PROGRAMME_OFFICER,), locations=(tree.north,))
    search = individual_filterset({}, user=stranger)
    assert list(search.form.fields["benefit_plan"].queryset) == []
    assert list(individual_filterset({}, user=world.officer).form.fields["benefit_plan"].queryset) == [
        world.plan
    ]


def test_a_persons_page_shows_enrolments_through_the_hook(tree: Tree, admin_user, monkeypatch) -> None:
    world = world_build(tree)
    person = world.households[0].memberships.get().individual
    client = Client()
    client.force_login(admin_user)
    url = f"/admin/registry/individual/{person.pk}/change/"
    assert f"{world.plan} — Active" in client.get(url).content.decode()
    monkeypatch.setattr(registry.hooks, "_individual_page", {})
    assert f"{world.plan} — Active" not in client.get(url).content.decode()


def test_the_plan_page_shows_the_links_and_payrolls_the_apps_above_register(tree: Tree, admin_user) -> None:
    world = world_build(tree)
    payroll = generate(world, make_payment_plan(world))
    assert {"admin:uploads_importbatch_changelist", "admin:payments_paymentplan_changelist"} <= set(
        programs.hooks._links
    )
    client = Client()
    client.force_login(admin_user)
    page = client.get(f"/admin/programs/benefitplan/{world.plan.pk}/change/").content.decode()
    assert f"/admin/uploads/importbatch/?benefit_plan__id__exact={world.plan.pk}" in page
    assert f"/admin/payments/paymentplan/?benefit_plan__id__exact={world.plan.pk}" in page
    assert "Latest payrolls" in page
    assert f'href="/admin/payments/payroll/{payroll.pk}/change/"' in page


def test_the_plan_page_lists_only_the_payrolls_the_viewer_may_see(tree: Tree) -> None:
    """The panel is the payments app's own scoped list: a viewer of the plan from another region does not
    see the North payroll (it was read unscoped, by model name, before the hook)."""
    world = world_build(tree)
    payroll = generate(world, make_payment_plan(world))
    south = grant(make_user("south-viewer", roles=(PROGRAMME_OFFICER,), locations=(tree.south,)), world.plan)
    assert not payroll_list(user=south).filter(pk=payroll.pk).exists()
    client = Client()
    client.force_login(south)
    response = client.get(f"/admin/programs/benefitplan/{world.plan.pk}/change/")
    assert response.status_code == 200
    assert f"/admin/payments/payroll/{payroll.pk}/change/" not in response.content.decode()
    client.force_login(world.officer)
    page = client.get(f"/admin/programs/benefitplan/{world.plan.pk}/change/").content.decode()
    assert f"/admin/payments/payroll/{payroll.pk}/change/" in page
