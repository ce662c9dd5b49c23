"""Location import and export through the admin screens, and who may use them."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from registry.models import Location

IMPORT_URL = "/admin/registry/location/import/"
CONFIRM_URL = "/admin/registry/location/process_import/"


def csv_format_index(response) -> str:  # type: ignore[no-untyped-def]
    choices = response.context["form"].fields["format"].choices
    return next(str(value) for value, label in choices if str(label).lower() == "csv")


def upload(client, text: str):  # type: ignore[no-untyped-def]
    form_page = client.get(IMPORT_URL)
    return client.post(
        IMPORT_URL,
        {
            "format": csv_format_index(form_page),
            "import_file": SimpleUploadedFile("locations.csv", text.encode(), "text/csv"),
        },
    )


def test_admin_import_preview_then_confirm(client, admin_user):
    client.force_login(admin_user)
    preview = upload(client, "code,name,parent_code,level\nD1,District 1,R1,District\nR1,Region 1,,Region\n")
    assert preview.status_code == 200
    assert preview.context["result"].totals["new"] == 2
    assert not Location.objects.exists()  # the preview is a dry run

    confirm = preview.context["confirm_form"].initial
    response = client.post(
        CONFIRM_URL,
        {key: confirm[key] for key in ("import_file_name", "original_file_name", "format", "resource")},
    )
    assert response.status_code == 302
    assert Location.objects.get(code="D1").parent.code == "R1"
    assert Location.history.get(code="D1").history_user == admin_user  # the import is on the audit trail


def test_admin_import_shows_the_problems_and_writes_nothing(client, admin_user):
    client.force_login(admin_user)
    response = upload(client, "code,name,parent_code\nA,A,B\nB,B,A\nC,C,ZZ\n")
    assert response.status_code == 200
    assert "confirm_form" not in response.context
    page = response.content.decode()
    assert "Row 4, column parent_code: parent &#x27;ZZ&#x27; of &#x27;C&#x27;" in page
    assert "A → B → A" in page
    assert "Traceback" not in page
    assert not Location.objects.exists()


def test_confirm_revalidates_when_the_tree_changed_meanwhile(client, admin_user, tree):
    client.force_login(admin_user)
    preview = upload(client, "code,name,parent_code\nW1,Ward 1,N-B\n")
    confirm = preview.context["confirm_form"].initial
    Location.objects.filter(code="N-B").update(code="N-B-renamed")
    response = client.post(
        CONFIRM_URL,
        {key: confirm[key] for key in ("import_file_name", "original_file_name", "format", "resource")},
        follow=True,
    )
    shown = [str(message) for message in response.context["messages"]]
    assert any("parent 'N-B' of 'W1'" in message for message in shown)
    assert "Nothing was imported." in shown
    assert not Location.objects.filter(code="W1").exists()


def test_export_is_scoped_to_the_user(client, maker, tree):
    client.force_login(maker)
    response = client.post(
        "/admin/registry/location/export/",
        {"format": "0", "locationresource_code": "on", "locationresource_name": "on"},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = response.content.decode()
    assert "N-A" in body and "North" in body
    assert "South" not in body


def test_officers_cannot_import_or_change_locations(client, maker, tree):
    client.force_login(maker)
    assert client.get(IMPORT_URL).status_code == 403
    assert client.get(f"/admin/registry/location/{tree.north.pk}/change/").status_code == 200  # view only
    response = client.post(
        f"/admin/registry/location/{tree.north.pk}/change/", {"code": "N", "name": "Renamed"}
    )
    assert response.status_code == 403
    assert Location.objects.get(pk=tree.north.pk).name == "North"
