"""API keys, one door for every holder: IP ranges, expiry, rotation with an overlap, last used, the key trail,
and the admin's key page (POST only) shared by payment points, grievance partners and registry API clients."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from grievances.partners import GrievancePartner, partner_key_rotate
from identity.apikeys import ApiKeyEvent, ApiKeyEventKind, address_allowed, api_key_authenticate
from payments.models import PaymentPoint, PaymentPointType
from payments.services import payment_point_key_rotate
from registry.api_clients import RegistryApiClient
from tests.conftest import make_user


@pytest.fixture(autouse=True)
def _fresh_throttle(db) -> None:
    caches["throttle"].clear()


@pytest.fixture
def root(db):  # type: ignore[no-untyped-def]
    return make_user("keys-root", superuser=True)


@pytest.fixture
def point(db) -> PaymentPoint:
    return PaymentPoint.objects.create(name="Provider", point_type=PaymentPointType.MOBILE_MONEY)


def holders():  # type: ignore[no-untyped-def]
    return PaymentPoint.objects.filter(is_active=True)


def test_ranges_are_checked_and_refuse_outside_addresses(point, root, caplog) -> None:
    assert address_allowed("10.1.2.3", "")
    assert address_allowed("10.1.2.3", "192.168.0.0/16, 10.1.0.0/16")
    assert address_allowed("2001:db8::1", "10.0.0.0/8\n2001:db8::/32")
    assert not address_allowed("10.2.0.1", "10.1.0.0/16")
    assert not address_allowed("not-an-address", "10.1.0.0/16")
    point.allowed_networks = "10.1.0.0/16, nonsense"
    with pytest.raises(ValidationError) as refused:
        point.full_clean()
    assert "nonsense" in str(refused.value.message_dict["allowed_networks"])

    key = payment_point_key_rotate(user=root, payment_point=point)
    PaymentPoint.objects.filter(pk=point.pk).update(allowed_networks="10.1.0.0/16")
    assert api_key_authenticate(holders(), key, "10.1.9.9") == point
    caplog.set_level(logging.WARNING, logger="portal.security.api_key")
    assert api_key_authenticate(holders(), key, "10.2.0.1") is None
    assert "outside the allowed IP ranges" in caplog.text and key not in caplog.text
    event = ApiKeyEvent.objects.filter(kind=ApiKeyEventKind.REFUSED).get()
    assert (event.holder_id, event.ip_address) == (point.pk, "10.2.0.1")


def test_an_expired_key_is_refused(point, root) -> None:
    key = payment_point_key_rotate(user=root, payment_point=point)
    PaymentPoint.objects.filter(pk=point.pk).update(key_expires_at=timezone.now() + timedelta(hours=1))
    assert api_key_authenticate(holders(), key, "10.0.0.1") == point
    PaymentPoint.objects.filter(pk=point.pk).update(key_expires_at=timezone.now() - timedelta(seconds=1))
    assert api_key_authenticate(holders(), key, "10.0.0.1") is None
    assert ApiKeyEvent.objects.filter(kind=ApiKeyEventKind.REFUSED, detail__contains="expired").exists()


def test_rotation_keeps_the_old_key_until_the_overlap_ends(point, root) -> None:
    first = payment_point_key_rotate(user=root, payment_point=point)
    second = payment_point_key_rotate(user=root, payment_point=point, overlap=timedelta(hours=2))
    assert api_key_authenticate(holders(), first, "10.0.0.1") == point
    assert api_key_authenticate(holders(), second, "10.0.0.1") == point
    PaymentPoint.objects.filter(pk=point.pk).update(previous_key_until=timezone.now() - timedelta(seconds=1))
    assert api_key_authenticate(holders(), first, "10.0.0.1") is None
    assert api_key_authenticate(holders(), second, "10.0.0.1") == point
    # Without an overlap the old key stops at once.
    third = payment_point_key_rotate(user=root, payment_point=point)
    assert api_key_authenticate(holders(), second, "10.0.0.1") is None
    assert api_key_authenticate(holders(), third, "10.0.0.1") == point
    kinds = list(
        ApiKeyEvent.objects.filter(holder_id=point.pk)
        .exclude(kind=ApiKeyEventKind.REFUSED)
        .order_by("pk")
        .values_list("kind", "actor__username")
    )
    assert kinds == [("created", "keys-root"), ("rotated", "keys-root"), ("rotated", "keys-root")]


def test_last_used_is_written_at_most_once_a_minute(point, root, django_assert_num_queries) -> None:
    key = payment_point_key_rotate(user=root, payment_point=point)
    with django_assert_num_queries(2):  # find the holder, write its last-used time
        api_key_authenticate(holders(), key, "10.0.0.1")
    with django_assert_num_queries(1):
        api_key_authenticate(holders(), key, "10.0.0.1")
    point.refresh_from_db()
    assert point.key_last_used_at is not None


def test_the_trail_is_one_for_every_holder_and_filterable_per_holder(point, root) -> None:
    partner = GrievancePartner.objects.create(name="Partner")
    client = RegistryApiClient.objects.create(name="Registry partner")
    payment_point_key_rotate(user=root, payment_point=point)
    partner_key_rotate(user=root, partner=partner)
    from registry.api_clients import registry_api_client_key_rotate

    registry_api_client_key_rotate(user=root, client=client)
    assert ApiKeyEvent.objects.filter(kind=ApiKeyEventKind.CREATED).count() == 3
    http = Client()
    http.force_login(root)
    holder_type = ContentType.objects.get_for_model(GrievancePartner)
    page = http.get(
        reverse("admin:identity_apikeyevent_changelist"),
        {"holder_type__id__exact": holder_type.pk, "holder_id": partner.pk},
    )
    assert page.status_code == 200
    assert "Partner" in page.content.decode() and "Registry partner" not in page.content.decode()


@pytest.mark.parametrize("holder_kind", ["point", "partner", "client"])
def test_the_admin_key_page_makes_a_key_only_on_post_and_shows_it_once(holder_kind, point, root) -> None:
    holder = {
        "point": point,
        "partner": GrievancePartner.objects.create(name="Partner"),
        "client": RegistryApiClient.objects.create(name="Registry partner"),
    }[holder_kind]
    opts = holder._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_key", args=[holder.pk])
    http = Client()
    http.force_login(root)
    assert http.get(url).status_code == 200
    holder.refresh_from_db()
    assert holder.api_key_hash == "" and not ApiKeyEvent.objects.exists()  # nothing changes on GET
    first = http.post(url)
    key = first.context["key"]
    assert key and key in first.content.decode()
    assert api_key_authenticate(type(holder).objects.all(), key, "10.0.0.1") == holder
    second = http.post(url, {"overlap_hours": 12})
    new_key = second.context["key"]
    holder.refresh_from_db()
    assert holder.previous_key_until is not None
    assert holder.previous_key_until > timezone.now() + timedelta(hours=11)
    assert api_key_authenticate(type(holder).objects.all(), key, "10.0.0.1") == holder
    assert api_key_authenticate(type(holder).objects.all(), new_key, "10.0.0.1") == holder
    assert key not in http.get(url).content.decode()  # shown once


def test_the_admin_action_leads_to_the_confirmation_page(point, root) -> None:
    http = Client()
    http.force_login(root)
    page = http.post(
        reverse("admin:payments_paymentpoint_changelist"),
        {"action": "make_new_api_key", "_selected_action": [point.pk]},
    )
    assert page.status_code == 200 and 'id="make-key"' in page.content.decode()
    point.refresh_from_db()
    assert point.api_key_hash == ""  # the key is made only by the confirmation's own POST


def test_a_user_without_the_permission_cannot_make_a_key(point, tree) -> None:
    from access.roles import AUDITOR

    auditor = make_user("auditor-keys", roles=(AUDITOR,), locations=(tree.north,))
    http = Client()
    http.force_login(auditor)
    url = reverse("admin:payments_paymentpoint_key", args=[point.pk])
    http.post(url)
    point.refresh_from_db()
    assert point.api_key_hash == "" and not ApiKeyEvent.objects.exists()


def test_the_apis_refuse_out_of_range_calls_with_401(point, root) -> None:
    key = payment_point_key_rotate(user=root, payment_point=point)
    PaymentPoint.objects.filter(pk=point.pk).update(allowed_networks="192.0.2.0/24")
    answer = Client().post(
        "/api/payments/reconciliations",
        {},
        content_type="application/json",
        HTTP_X_API_KEY=key,
        REMOTE_ADDR="198.51.100.7",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert answer.status_code == 401
    assert "range" not in answer.content.decode().lower()  # nothing revealing
