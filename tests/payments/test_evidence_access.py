"""Evidence photos are served only by a view that checks permission; never from a public media URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import models
from django.test import Client
from django.urls import Resolver404, resolve, reverse

from access.roles import AUDITOR, REGISTRY_OFFICER
from payments.models import Benefit
from tests.conftest import Tree, make_user
from tests.payments.conftest import World, sent_payroll
from tests.programs.conftest import grant

PNG = b"\x89PNG\r\n\x1a\n0000"


@pytest.fixture
def photographed(world: World, settings, tmp_path) -> Benefit:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path
    line = Benefit.objects.filter(payroll=sent_payroll(world)).first()
    line.evidence_photo.save("x.png", ContentFile(PNG), save=True)
    return line


@pytest.mark.parametrize("debug", [False, True])
def test_no_url_serves_the_media_folder(photographed: Benefit, client: Client, settings, debug: bool) -> None:
    settings.DEBUG = debug
    public = f"/{settings.MEDIA_URL.strip('/')}/{photographed.evidence_photo.name}"
    with pytest.raises(Resolver404):
        resolve(public)
    client.force_login(make_user("root", superuser=True))
    assert client.get(public).status_code == 404


def test_the_photo_view_checks_permission_and_area(
    photographed: Benefit, client: Client, world: World, tree: Tree
) -> None:
    url = reverse("admin:payments_benefit_photo", args=[photographed.pk])
    assert client.get(url).status_code == 302  # to the sign-in page
    client.force_login(world.officer)
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PNG
    client.force_login(make_user("north-auditor", roles=(AUDITOR,), locations=(tree.north,)))
    assert client.get(url).status_code == 200
    client.force_login(make_user("south-auditor", roles=(AUDITOR,), locations=(tree.south,)))
    assert client.get(url).status_code == 404  # a line outside the user's area
    no_payments = grant(
        # Registry officers see the plan but not its payment lines (grievance officers now do: they look
        # into complaints about payments).
        make_user("registry-clerk", roles=(REGISTRY_OFFICER,), locations=(tree.north,)),
        world.plan,
        "view_benefitplan",
    )
    client.force_login(no_payments)
    assert client.get(url).status_code == 403  # no permission to view payment lines


def test_no_template_links_to_the_url_of_an_uploaded_file() -> None:
    """Every FileField's `.url` would point at MEDIA_URL, which nothing serves: templates must use views."""
    names = {
        field.name
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.FileField)
    }
    assert "evidence_photo" in names
    root = Path(settings.BASE_DIR)
    offending = [
        f"{template.relative_to(root)}: {name}.url"
        for template in root.glob("*/templates/**/*.html")
        for name in names
        if f"{name}.url" in template.read_text(encoding="utf-8")
    ]
    assert offending == []
