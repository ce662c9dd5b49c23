"""A plan's custom fields through the form: a draft plan's change is saved, an active plan's is queued for
approval (`programs.plan_update`), and a change its beneficiaries' stored data would break is refused."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from approvals.models import Task, TaskState
from programs.models import Beneficiary, PlanStatus, PlanType
from programs.services import plan_update
from tests.programs.conftest import approve, grant, make_plan
from tests.registry.test_custom_fields_admin import form_data, row

pytestmark = pytest.mark.django_db

SCHEMA = {
    "type": "object",
    "properties": {"score": {"type": "integer", "title": "Score", "minimum": 0}},
    "required": [],
    "x-order": ["score"],
}


def url(plan) -> str:
    return reverse("admin:programs_benefitplan_fields", args=[plan.pk])


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_draft_plan_saves_its_fields_at_once(maker) -> None:
    plan = make_plan(
        "DRAFT", plan_type=PlanType.INDIVIDUAL, status=PlanStatus.DRAFT, beneficiary_schema=SCHEMA
    )
    client = _client(grant(maker, plan, "view_benefitplan", "change_benefitplan", "manage_beneficiaries"))
    data = form_data(client, url(plan))
    data.update({"fields-1-key": "school", "fields-1-type": "boolean", "fields-1-label_en": "In school"})
    response = client.post(url(plan), data)
    assert response.status_code == 302, response.context["formset"].errors
    plan.refresh_from_db()
    assert plan.beneficiary_schema["properties"]["school"]["type"] == "boolean"
    assert not Task.objects.exists()


def test_an_active_plan_queues_the_change_for_approval(officer, approver, individual_plan, registry) -> None:
    individual_plan.beneficiary_schema = SCHEMA
    individual_plan.save()
    client = _client(officer)
    data = form_data(client, url(individual_plan))
    data[f"{row(data, 'score')}-label_fr"] = "Note"
    response = client.post(url(individual_plan), data, follow=True)
    assert response.status_code == 200
    task = Task.objects.get(action="programs.plan_update")
    assert task.state == TaskState.PENDING
    assert task.payload["changes"]["beneficiary_schema"]["properties"]["score"]["x-labels"]["fr"] == "Note"
    assert any("waits for approval" in str(m) for m in response.context["messages"])
    individual_plan.refresh_from_db()
    assert "x-labels" not in individual_plan.beneficiary_schema["properties"]["score"]
    approve(task, approver)
    individual_plan.refresh_from_db()
    assert individual_plan.beneficiary_schema["properties"]["score"]["x-labels"]["fr"] == "Note"


def test_a_change_the_beneficiaries_data_breaks_is_refused_with_the_count(
    officer, individual_plan, registry
) -> None:
    individual_plan.beneficiary_schema = SCHEMA
    individual_plan.save()
    for person, score in zip(registry.north_people, (1, 5, 9), strict=False):
        Beneficiary.objects.create(
            benefit_plan=individual_plan,
            individual=person,
            location=person.location,
            data={"score": score},
            status_changed_at=timezone.now(),
            enrolled_at=timezone.now(),
        )
    client = _client(officer)
    data = form_data(client, url(individual_plan))
    data[f"{row(data, 'score')}-maximum"] = "4"
    response = client.post(url(individual_plan), data)
    assert response.status_code == 200
    errors = response.context["formset"].forms[0].errors
    assert errors["maximum"][0].startswith("2 stored record(s) hold a value of score")
    assert not Task.objects.exists()
    # The service refuses it too, when asked and again when approved.
    changed = {**SCHEMA, "properties": {"score": {"type": "string", "title": "Score"}}}
    with pytest.raises(ValidationError) as error:
        plan_update(user=officer, plan=individual_plan, changes={"beneficiary_schema": changed})
    assert "score: 3 stored record(s)" in error.value.message_dict["beneficiary_schema"][0]


def test_a_viewer_sees_the_fields_read_only_and_cannot_post(approver, individual_plan) -> None:
    individual_plan.beneficiary_schema = SCHEMA
    individual_plan.save()
    client = _client(approver)
    page = client.get(url(individual_plan))
    assert page.status_code == 200 and 'id="custom-fields-save"' not in page.content.decode()
    assert client.post(url(individual_plan), {}).status_code == 403
