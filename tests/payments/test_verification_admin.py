"""The verification screens: a plan made and started from a paid payroll's page, the verifier's list and
record form (mobile-friendly, POST only writes), forged POSTs refused, the payroll page's summary."""

from __future__ import annotations

import pytest
from django.urls import reverse

from access.roles import PAYMENT_OFFICER
from payments.models import VerificationPlan, VerificationPlanStatus, VerificationRecord
from tests.conftest import make_user
from tests.payments.verification_world import paid_payroll, started_plan

pytestmark = pytest.mark.django_db


def test_plan_made_and_started_from_the_payroll_page(client, world, tree):
    paid = paid_payroll(world, tree)
    client.force_login(world.officer)
    page = client.get(reverse("admin:payments_payroll_change", args=[paid.payroll.pk]))
    create_url = reverse("admin:payments_verificationplan_create", args=[paid.payroll.pk])
    assert page.status_code == 200 and create_url in page.content.decode()
    form = client.get(create_url)
    assert form.status_code == 200 and not VerificationPlan.objects.exists()
    response = client.post(
        create_url,
        {
            "confidence_level": "0.950",
            "margin_of_error": "0.05",
            "expected_proportion": "0.5",
            "finite_population_correction": "on",
            "strata_depth": "1",
            "verifiers": [paid.verifier.pk, paid.verifier_2.pk],
        },
    )
    plan = VerificationPlan.objects.get()
    assert response.status_code == 302 and plan.status == VerificationPlanStatus.DRAFT
    assert (
        client.get(reverse("admin:payments_verificationplan_step", args=[plan.pk, "activate"])).status_code
        == 405
    )
    client.post(reverse("admin:payments_verificationplan_step", args=[plan.pk, "activate"]))
    plan.refresh_from_db()
    assert plan.status == VerificationPlanStatus.ACTIVE and plan.sample_size >= 80
    summary = client.get(reverse("admin:payments_payroll_change", args=[paid.payroll.pk])).content.decode()
    assert f'id="verification-summary-{plan.pk}"' in summary and 'data-summary="drawn"' in summary


def test_a_bad_plan_is_refused_on_its_form(client, world, tree):
    paid = paid_payroll(world, tree)
    south_payer = make_user("south_payer", roles=(PAYMENT_OFFICER,), locations=(tree.south,))
    client.force_login(world.officer)
    response = client.post(
        reverse("admin:payments_verificationplan_create", args=[paid.payroll.pk]),
        {"confidence_level": "0.950", "expected_proportion": "0.5", "verifiers": [south_payer.pk]},
    )
    body = response.content.decode()
    assert response.status_code == 200 and not VerificationPlan.objects.exists()
    assert "does not cover every location" in body and "Give a margin of error" in body


def test_the_verifier_records_on_the_form(client, world, tree, django_assert_max_num_queries):
    paid = paid_payroll(world, tree)
    plan = started_plan(paid, fixed_size=6, verifiers=[paid.verifier, paid.verifier_2])
    mine = plan.records.filter(verifier=paid.verifier).order_by("pk").first()
    client.force_login(paid.verifier)
    listing = reverse("admin:payments_verificationrecord_changelist") + f"?plan__id__exact={plan.pk}"
    with django_assert_max_num_queries(12):
        page = client.get(listing)
    assert page.status_code == 200
    record_url = reverse("admin:payments_verificationrecord_record", args=[mine.pk])
    assert record_url in page.content.decode()
    form = client.get(record_url)
    assert form.status_code == 200 and 'type="date"' in form.content.decode()
    bad = client.post(record_url, {"received": "yes", "amount_received": "-4", "method": "phone"})
    assert bad.status_code == 400 and "cannot be negative" in bad.content.decode()
    mine.refresh_from_db()
    assert mine.status == "pending"
    good = client.post(
        record_url,
        {"received": "yes", "amount_received": "100.00", "received_on": "2026-01-20", "method": "visit"},
    )
    assert good.status_code == 302
    mine.refresh_from_db()
    assert mine.status == "recorded" and mine.recorded_by == paid.verifier and mine.method == "visit"


def test_forged_posts_are_refused(client, world, tree):
    paid = paid_payroll(world, tree)
    plan = started_plan(paid, fixed_size=6, verifiers=[paid.verifier, paid.verifier_2])
    theirs = plan.records.filter(verifier=paid.verifier_2).first()
    body = {"received": "no", "method": "phone"}
    client.force_login(paid.verifier)  # another verifier's line: listed for neither, refused
    response = client.post(reverse("admin:payments_verificationrecord_record", args=[theirs.pk]), body)
    assert response.status_code == 404
    # The verifier may not start, finish or plan.
    step = client.post(reverse("admin:payments_verificationplan_step", args=[plan.pk, "finish"]))
    assert step.status_code == 302
    plan.refresh_from_db()
    assert plan.status == VerificationPlanStatus.ACTIVE
    south_payer = make_user("south_payer", roles=(PAYMENT_OFFICER,), locations=(tree.south,))
    client.force_login(south_payer)
    assert (
        client.post(reverse("admin:payments_verificationrecord_record", args=[theirs.pk]), body).status_code
        == 404
    )
    assert (
        client.post(reverse("admin:payments_verificationplan_step", args=[plan.pk, "finish"])).status_code
        == 404
    )
    create = client.post(
        reverse("admin:payments_verificationplan_create", args=[paid.payroll.pk]),
        {
            "confidence_level": "0.950",
            "fixed_size": "3",
            "expected_proportion": "0.5",
            "verifiers": [south_payer.pk],
        },
    )
    assert create.status_code == 404
    assert VerificationRecord.objects.filter(status="recorded").count() == 0
    assert VerificationPlan.objects.count() == 1


def test_after_finish_the_form_says_why(client, world, tree):
    from payments.services.verification import verification_plan_finish

    paid = paid_payroll(world, tree)
    plan = started_plan(paid, fixed_size=1)
    verification_plan_finish(user=world.officer, plan=plan)
    record = plan.records.get()
    client.force_login(paid.verifier)
    url = reverse("admin:payments_verificationrecord_record", args=[record.pk])
    page = client.get(url)
    assert page.status_code == 200 and 'id="refusal"' in page.content.decode()
    assert client.post(url, {"received": "no", "method": "phone"}).status_code == 403
    record.refresh_from_db()
    assert record.status == "pending"
