"""The field forms in the admin: create (mapping proposed), edit the mapping, XLSForm download, import."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from intake.models import FieldForm, FieldImport
from tests.intake.conftest import central_zip


def _login(client, user) -> None:
    client.force_login(user)


def test_create_edit_download_and_import_from_the_admin(
    client, maker, household_plan, django_assert_max_num_queries
):
    _login(client, maker)
    response = client.post(
        reverse("admin:intake_fieldform_add"),
        {"title": "Survey", "form_id": "hh_survey", "version": "1", "benefit_plan": household_plan.pk},
    )
    assert response.status_code == 302, response.content[:2000]
    form = FieldForm.objects.get()
    assert form.mapping["ind_education"] == "ind.education" and form.created_by == maker

    change = reverse("admin:intake_fieldform_change", args=[form.pk])
    page = client.get(change)
    assert b"given_name = given_name" in page.content and b"Download the XLSForm" in page.content
    lines = page.context["adminform"].form.initial["mapping_lines"] + "\nroof_colour =\nbad line"
    response = client.post(change, {"title": "Survey", "mapping_lines": lines})
    assert response.status_code == 200 and "Line " in response.content.decode()  # names the bad line
    response = client.post(change, {"title": "Survey", "mapping_lines": lines.replace("\nbad line", "")})
    assert response.status_code == 302
    form.refresh_from_db()
    assert form.mapping["roof_colour"] == ""

    with django_assert_max_num_queries(25):
        download = client.get(reverse("admin:intake_fieldform_xlsform", args=[form.pk]))
    assert download.status_code == 200 and download.content.startswith(b"PK")
    assert "hh_survey-v1.xlsx" in download["Content-Disposition"]

    response = client.post(
        reverse("admin:intake_fieldform_import", args=[form.pk]),
        {"export": SimpleUploadedFile("hh_survey.zip", central_zip()), "duplicate_mode": "skip"},
    )
    batch = FieldImport.objects.get().batch
    assert response.status_code == 302 and response["Location"] == reverse(
        "admin:uploads_importbatch_change", args=[batch.pk]
    )


def test_import_error_is_shown_on_the_form(client, maker, household_plan):
    from intake.services import field_form_create

    form = field_form_create(user=maker, plan=household_plan, form_id="f", version="1", title="t")
    form.mapping.pop("family_name")
    form.save()
    _login(client, maker)
    response = client.post(
        reverse("admin:intake_fieldform_import", args=[form.pk]),
        {"export": SimpleUploadedFile("hh_survey.zip", central_zip()), "duplicate_mode": "skip"},
    )
    assert response.status_code == 200
    assert "family_name (hh_survey-members.csv)" in response.content.decode()
    assert not FieldImport.objects.exists()


def test_forms_of_plans_the_user_does_not_see_are_hidden(client, maker, south_officer, household_plan):
    from intake.services import field_form_create

    form = field_form_create(user=maker, plan=household_plan, form_id="f", version="1", title="t")
    _login(client, south_officer)
    assert client.get(reverse("admin:intake_fieldform_xlsform", args=[form.pk])).status_code == 404
    assert client.get(reverse("admin:intake_fieldform_import", args=[form.pk])).status_code == 404
