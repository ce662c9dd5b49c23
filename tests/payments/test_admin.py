"""The payments admin: expressions checked on the form, preview, generate, steps, exports, result files."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from approvals.models import Task
from payments.models import Benefit, BenefitStatus, PaymentPlan, Payroll, PayrollStatus
from tests.payments.conftest import World, approve, generate, make_payment_plan, sent_payroll


def login(client: Client, user) -> Client:
    client.force_login(user)
    return client


def test_a_bad_formula_is_shown_on_the_form(client: Client, world: World) -> None:
    login(client, world.officer)
    response = client.post(
        reverse("admin:payments_paymentplan_add"),
        {
            "benefit_plan": world.plan.pk,
            "name": "Bad",
            "amount_formula": "150 + householdsize",
            "filter_expression": 'status == "active"',
            "currency": "USD",
            "frequency": "monthly",
        },
    )
    assert response.status_code == 200
    assert "unknown field &quot;householdsize&quot;" in response.content.decode()
    assert not PaymentPlan.objects.exists()


def test_add_preview_and_generate(client: Client, world: World, django_capture_on_commit_callbacks) -> None:
    from payments.tasks import payroll_generate_job

    login(client, world.officer)
    response = client.post(
        reverse("admin:payments_paymentplan_add"),
        {
            "benefit_plan": world.plan.pk,
            "name": "Monthly",
            "amount_formula": "150 + 25 * min(household_size, 6)",
            "filter_expression": 'status == "active"',
            "currency": "USD",
            "frequency": "monthly",
        },
    )
    plan = PaymentPlan.objects.get()
    assert response.url == reverse("admin:payments_paymentplan_preview", args=[plan.pk])
    page = client.get(response.url).content.decode()
    assert 'id="preview-count">3<' in page and "700.00" in page
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(response.url, {"cycle": world.cycle.pk, "payment_point": world.point.pk})
    payroll = Payroll.objects.get()
    assert response.url == reverse("admin:payments_payroll_change", args=[payroll.pk])
    assert "data-progress-url" in client.get(response.url).content.decode()
    payroll_generate_job.func(payroll.job_id, payroll.pk)
    page = client.get(response.url).content.decode()
    assert 'data-figure="pending.count">3<' in page and 'id="step-submit"' in page


def test_payroll_steps_through_the_admin_and_a_forged_post(client: Client, world: World) -> None:
    payroll = generate(world, make_payment_plan(world))
    login(client, world.approver)
    client.post(reverse("admin:payments_payroll_step", args=[payroll.pk, "submit"]))
    payroll.refresh_from_db()
    assert payroll.status == PayrollStatus.DRAFT  # the approver may not submit
    client.logout()
    login(client, world.officer)
    client.post(reverse("admin:payments_payroll_step", args=[payroll.pk, "submit"]))
    payroll.refresh_from_db()
    assert payroll.status == PayrollStatus.AWAITING_APPROVAL
    client.post(reverse("admin:payments_payroll_step", args=[payroll.pk, "send"]))  # forged: not approved yet
    payroll.refresh_from_db()
    assert payroll.status == PayrollStatus.AWAITING_APPROVAL
    approve(Task.objects.get(), world.approver)
    client.post(reverse("admin:payments_payroll_step", args=[payroll.pk, "send"]))
    payroll.refresh_from_db()
    assert payroll.status == PayrollStatus.SENT


def test_exports_only_once_approved(client: Client, world: World) -> None:
    draft = generate(world, make_payment_plan(world))
    login(client, world.officer)
    response = client.get(reverse("admin:payments_payroll_export", args=[draft.pk, "csv"]))
    assert response.status_code == 302
    Payroll.objects.filter(pk=draft.pk).update(status=PayrollStatus.APPROVED)
    csv_text = b"".join(
        client.get(reverse("admin:payments_payroll_export", args=[draft.pk, "csv"])).streaming_content
    )
    rows = csv_text.decode().splitlines()
    assert rows[0].startswith("reference,beneficiary") and len(rows) == 4
    xlsx = client.get(reverse("admin:payments_payroll_export", args=[draft.pk, "xlsx"])).content
    sheet = load_workbook(io.BytesIO(xlsx)).active
    values = list(sheet.values)
    assert values[0][0] == "reference" and len(values) == 4
    assert {row[5] for row in values[1:]} == {175, 225, 300}  # amounts are numbers in XLSX
    assert {row.split(",")[5] for row in rows[1:]} == {"175.00", "225.00", "300.00"}


def test_result_file_upload_reconciles_and_a_second_upload_changes_nothing(
    client: Client, world: World
) -> None:
    payroll = sent_payroll(world)
    first, second, third = Benefit.objects.filter(payroll=payroll).order_by("pk")
    at = (timezone.now() - timedelta(hours=2)).isoformat()
    content = (
        "reference,status,amount_paid,paid_at,transaction_id,reason\n"
        f"{first.reference},paid,{first.amount},{at},T1,\n"
        f"{second.reference},failed,,,,No wallet\n"
        f"{third.reference},paid,1.00,{at},T3,\n"
    ).encode()
    login(client, world.officer)
    url = reverse("admin:payments_payroll_results", args=[payroll.pk])
    page = client.post(url, {"file": SimpleUploadedFile("r.csv", content)}).content.decode()
    assert "1 accepted" not in page and "2 accepted, 0 unchanged, 1 rejected" in page
    assert "differs from the amount issued" in page
    again = client.post(url, {"file": SimpleUploadedFile("r.csv", content)}).content.decode()
    assert "recorded before" in again
    assert Benefit.objects.get(pk=first.pk).status == BenefitStatus.PAID
    bad = client.post(
        url, {"file": SimpleUploadedFile("r.csv", b"ref;status\n")}, follow=True
    ).content.decode()
    assert "lacks the column" in bad


def test_benefit_list_without_n_plus_one(client: Client, world: World, tree) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.payments.conftest import enrol_household, household_with

    payment_plan = make_payment_plan(world, limit=Decimal("200"))
    generate(world, payment_plan)
    login(client, world.officer)
    url = reverse("admin:payments_benefit_changelist")
    client.get(url)
    with CaptureQueriesContext(connection) as three_lines:
        response = client.get(url)
    assert response.status_code == 200 and "per-transaction limit" in response.content.decode()
    for index in range(4):
        enrol_household(world.plan, household_with(f"X{index}", tree.north_b, 2))
    world.cycle = world.cycle.__class__.objects.create(
        code="2026-02", start_date=world.cycle.start_date, end_date=world.cycle.end_date
    )
    generate(world, payment_plan)
    with CaptureQueriesContext(connection) as ten_lines:
        response = client.get(url)
    assert response.content.decode().count('class="field-reference"') == 10
    assert len(ten_lines) == len(three_lines)


def test_evidence_thumbnail_is_shown(client: Client, world: World, settings, tmp_path) -> None:
    from django.core.files.base import ContentFile

    settings.MEDIA_ROOT = tmp_path
    payroll = sent_payroll(world)
    line = Benefit.objects.filter(payroll=payroll).first()
    line.evidence_photo.save("x.png", ContentFile(b"\x89PNG\r\n\x1a\n0000"), save=True)
    login(client, world.officer)
    page = client.get(reverse("admin:payments_benefit_changelist")).content.decode()
    photo_url = reverse("admin:payments_benefit_photo", args=[line.pk])
    assert f'src="{photo_url}"' in page
    response = client.get(photo_url)
    assert response["Content-Type"] == "image/png"


@pytest.mark.parametrize("name", ["paymentplan", "payroll", "benefit", "paymentcycle", "paymentpoint"])
def test_lists_open_for_the_officer(client: Client, world: World, name: str) -> None:
    generate(world, make_payment_plan(world))
    login(client, world.officer)
    assert client.get(reverse(f"admin:payments_{name}_changelist")).status_code == 200


def test_a_new_provider_key_is_shown_once_and_only_its_hash_kept(client: Client, world: World) -> None:
    from identity.apikeys import api_key_hash
    from payments.models import PaymentPoint
    from tests.conftest import make_user

    login(client, make_user("boss", superuser=True))
    assert (
        "Make a new key"
        in client.get(reverse("admin:payments_paymentpoint_change", args=[world.point.pk])).content.decode()
    )
    url = reverse("admin:payments_paymentpoint_key", args=[world.point.pk])
    page = client.post(url).content.decode()
    key = page.split('<code id="api-key">')[1].split("</code>")[0]
    point = PaymentPoint.objects.get(pk=world.point.pk)
    assert point.api_key_hash == api_key_hash(key) and key not in point.api_key_hash
    assert key not in client.get(url).content.decode()
    client.force_login(world.approver)
    client.post(url)  # an approver may not change payment points
    assert PaymentPoint.objects.get(pk=world.point.pk).api_key_hash == point.api_key_hash


def test_a_plan_the_officer_may_not_pay_is_refused_on_the_form(client: Client, world: World) -> None:
    from guardian.shortcuts import remove_perm

    remove_perm("programs.request_payments", world.officer, world.plan)
    login(client, world.officer)
    response = client.post(
        reverse("admin:payments_paymentplan_add"),
        {
            "benefit_plan": world.plan.pk,
            "name": "Monthly",
            "amount_formula": "150",
            "filter_expression": "",
            "currency": "USD",
            "frequency": "monthly",
        },
    )
    assert response.status_code == 200 and "may not request payments" in response.content.decode()
    assert not PaymentPlan.objects.exists()
