"""A complaint may concern an upload batch, if the person filing it may see that batch."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from grievances.services import ticket_create
from programs.models import PlanType
from tests.conftest import make_user
from tests.uploads.conftest import PLAN_SCHEMA, csv_bytes, household_rows, plan_make, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    root = make_user("root", superuser=True)
    plan = plan_make("CASH", PlanType.HOUSEHOLD, PLAN_SCHEMA)
    return upload(root, plan, csv_bytes(household_rows()))


def test_a_ticket_about_an_upload_batch(world, batch):
    root = make_user("root2", superuser=True)
    ticket = ticket_create(
        user=root, channel="walk_in", category=world.payments, description="My row was refused", subject=batch
    )
    assert ticket.subject == batch


def test_a_batch_outside_the_users_plans_cannot_be_linked(world, batch):
    with pytest.raises(ValidationError):
        ticket_create(
            user=world.grace, channel="walk_in", category=world.payments, description="x", subject=batch
        )
