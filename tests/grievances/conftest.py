"""Grievance test builders: categories, a team per region, named officers (grace in the North, sam for
sensitive cases, south in the South)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group, User

from access.roles import GRIEVANCE_OFFICER, SENSITIVE_CASE_OFFICER
from grievances.models import Category, Priority, Team
from registry.models import Individual
from tests.conftest import Tree, make_user


@dataclass
class World:
    tree: Tree
    payments: Category
    late_payment: Category
    gbv: Category
    north_team: Team
    south_team: Team
    grace: User  # grievance officer, North, member of the North team
    gina: User  # grievance officer and team supervisor, North
    sam: User  # sensitive-case officer, North
    south: User  # grievance officer, South
    person: Individual


@pytest.fixture
def world(tree: Tree) -> World:
    grace = make_user("grace", roles=(GRIEVANCE_OFFICER,), locations=(tree.north,))
    gina = make_user("gina", roles=(GRIEVANCE_OFFICER, "Grievance supervisor"), locations=(tree.north,))
    sam = make_user("sam", roles=(SENSITIVE_CASE_OFFICER,), locations=(tree.north,))
    south = make_user("southg", roles=(GRIEVANCE_OFFICER,), locations=(tree.south,))
    supervisor, _ = Group.objects.get_or_create(name="Grievance supervisor")
    gina.groups.add(supervisor)
    gina = User.objects.get(pk=gina.pk)
    north_team = Team.objects.create(name="North desk", supervisor_role=supervisor)
    north_team.members.set([grace, gina, sam])
    north_team.locations.set([tree.north])
    south_team = Team.objects.create(name="South desk")
    south_team.members.set([south])
    south_team.locations.set([tree.south])
    payments = Category.objects.create(code="payments", name="Payments", sla_days=10)
    late = Category.objects.create(
        code="late-payment", name="Late payment", parent=payments, sla_days=5, default_priority=Priority.HIGH
    )
    north_team.categories.add(payments)
    south_team.categories.add(payments)
    gbv = Category.objects.create(code="gbv", name="Gender-based violence", sensitive=True, sla_days=2)
    gbv.team = north_team
    gbv.save()
    person = Individual.objects.create(
        given_name="Amina", family_name="Otieno", sex="F", location=tree.north_a
    )
    return World(tree, payments, late, gbv, north_team, south_team, grace, gina, sam, south, person)
