"""The django-import-export import screen of uploads: its fields list and formats, the bulk pipeline behind
it, who may use it, bad files refused on the form, and the resource and changelist it comes with."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from guardian.shortcuts import assign_perm
from openpyxl import Workbook

from programs.models import PlanType
from tests.uploads.conftest import HEADER, csv_bytes, household_rows, plan_make, upload
from uploads.models import BatchState, ImportBatch, StagedRow
from uploads.resources import BeneficiaryUploadResource

IMPORT_URL = "admin:uploads_importbatch_import"
FORMATS = {"csv": "0", "tsv": "1", "xlsx": "2"}


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _post(client, plan, name: str, content: bytes, *, file_format: str = "csv", **fields):
    data = {
        "resource": "0",
        "benefit_plan": plan.pk,
        "import_file": SimpleUploadedFile(name, content),
        "format": FORMATS[file_format],
        "encoding": "auto",
        "date_format": "iso",
        "duplicate_mode": "skip",
        **fields,
    }
    return client.post(reverse(IMPORT_URL), data)


def _refused(response, message: str) -> None:
    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="errorlist' in page
    assert message in page, page[page.find("errorlist") - 200 : page.find("errorlist") + 800]
    assert not ImportBatch.objects.exists()
    assert not StagedRow.objects.exists()


# ---- GET: the import-export screen -------------------------------------------------


def test_changelist_has_the_import_button_for_plan_managers_only(client, maker, checker, household_plan):
    client.force_login(maker)
    page = client.get(reverse("admin:uploads_importbatch_changelist")).content.decode()
    assert f'href="{reverse(IMPORT_URL)}" class="import_link">Import<' in page.replace("'", '"')
    # The add button would lead to the same screen: only the import button is offered.
    tools = page.split('<ul class="object-tools">')[1].split("</ul>")[0]
    assert "import_link" in tools and "addlink" not in tools
    # The sidebar's "Add" still works: it leads to the import screen.
    assert client.get(reverse("admin:uploads_importbatch_add")).url == reverse(IMPORT_URL)
    client.force_login(checker)  # sees the plan, manages none
    page = client.get(reverse("admin:uploads_importbatch_changelist")).content.decode()
    assert "import_link" not in page
    assert client.get(reverse(IMPORT_URL)).status_code == 403
    assert client.get(reverse("admin:uploads_importbatch_add")).status_code == 403


def test_import_screen_lists_the_plan_columns_and_the_formats(client, maker, household_plan):
    client.force_login(maker)
    page = client.get(reverse(IMPORT_URL)).content.decode()
    assert "This importer will import the following fields:" in page
    fields = page.split("This importer will import the following fields:")[1].split("</code>")[0]
    household_plan.refresh_from_db()  # the schema's order as stored (jsonb reorders keys)
    expected = [column.name for column in BeneficiaryUploadResource(plan=household_plan).columns]
    assert fields.split("<code>")[1].strip() == ", ".join(expected)
    assert {"plan.vulnerability", "plan.score", "hh.monthly_income", "national_id"} <= set(expected)
    # The formats are import-export's, limited to what our readers stream.
    assert '<option value="0">csv</option>' in page
    assert '<option value="1">tsv</option>' in page
    assert '<option value="2">xlsx</option>' in page
    assert "<option" in page and "xls</option>" not in page and "json</option>" not in page
    # Our options beside import-export's fields; the only plan is chosen, its templates linked.
    for name in ("benefit_plan", "import_file", "format", "encoding", "date_format", "duplicate_mode"):
        assert f'name="{name}"' in page
    assert f'<option value="{household_plan.pk}" selected>' in page
    assert reverse("admin:uploads_importbatch_template", args=[household_plan.pk, "xlsx"]) in page
    assert "household_code, household_role" in page.split('id="import-required">')[1].split("</code>")[0]
    assert "<script>" not in page and "onclick" not in page


def test_import_screen_columns_follow_the_chosen_plan(client, maker, household_plan, individual_plan):
    client.force_login(maker)
    page = client.get(reverse(IMPORT_URL)).content.decode()
    # Two plans, none chosen: the columns every plan has, and each plan's own columns a click away.
    fields = page.split("This importer will import the following fields:")[1].split("</code>")[0]
    assert "given_name" in fields and "plan.vulnerability" not in fields
    assert f'href="?plan={individual_plan.pk}"' in page
    page = client.get(reverse(IMPORT_URL), {"plan": individual_plan.pk}).content.decode()
    fields = page.split("This importer will import the following fields:")[1].split("</code>")[0]
    assert "plan.vulnerability" in fields
    required = page.split('id="import-required">')[1].split("</code>")[0]
    assert "household_code" not in required and "location_code" in required
    assert f'<option value="{individual_plan.pk}" selected>' in page


def test_import_screen_query_count(
    client, maker, household_plan, individual_plan, django_assert_max_num_queries
):
    client.force_login(maker)
    with django_assert_max_num_queries(20):
        assert client.get(reverse(IMPORT_URL)).status_code == 200


# ---- POST: the bulk pipeline behind the screen -------------------------------------------


@pytest.mark.parametrize(
    ("name", "file_format", "content"),
    [
        ("people.csv", "csv", csv_bytes(household_rows())),
        ("people.tsv", "tsv", csv_bytes(household_rows(), delimiter="\t")),
        ("people.xlsx", "xlsx", _xlsx([HEADER, *household_rows()])),
    ],
)
def test_submitting_a_file_creates_a_batch_and_goes_to_its_page(
    client,
    maker,
    household_plan,
    immediate_tasks,
    django_capture_on_commit_callbacks,
    name,
    file_format,
    content,
):
    client.force_login(maker)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            client, household_plan, name, content, file_format=file_format, duplicate_mode="update"
        )
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:uploads_importbatch_change", args=[batch.pk])
    assert (batch.benefit_plan, batch.uploaded_by, batch.original_name) == (household_plan, maker, name)
    assert batch.duplicate_mode == "update"
    # The background validation ran (no row-by-row import-export dry run): the batch page shows its counts.
    batch.refresh_from_db()
    assert batch.state == BatchState.VALIDATED and batch.new_rows == 3
    page = client.get(response.url).content.decode()
    assert 'id="count-new">3<' in page
    assert "it is being validated" in page


def test_the_confirm_step_is_the_approval_not_import_exports(client, maker, household_plan):
    client.force_login(maker)
    response = client.post(
        reverse("admin:uploads_importbatch_process_import"),
        {"import_file_name": "x", "original_file_name": "x.csv", "format": "0", "resource": "0"},
    )
    assert response.status_code == 302 and response.url == reverse(IMPORT_URL)
    assert not ImportBatch.objects.exists()


def test_resource_refuses_row_by_row_import(household_plan):
    import tablib

    resource = BeneficiaryUploadResource(plan=household_plan)
    with pytest.raises(NotImplementedError, match="bulk upload pipeline"):
        resource.import_data(tablib.Dataset(headers=HEADER), dry_run=True)


def test_template_is_the_resource_export_of_no_rows(client, maker, household_plan):
    client.force_login(maker)
    url = reverse("admin:uploads_importbatch_template", args=[household_plan.pk, "csv"])
    header = client.get(url).content.decode("utf-8-sig").strip().split(",")
    household_plan.refresh_from_db()
    assert header == BeneficiaryUploadResource(plan=household_plan).template_headers()


# ---- permissions --------------------------------------------------------------------------


def test_forged_post_for_a_plan_not_managed_stores_nothing(client, maker, checker, household_plan):
    other = plan_make("OTHER", PlanType.HOUSEHOLD)
    assign_perm("programs.view_benefitplan", maker, other)  # sees it, does not manage it
    client.force_login(maker)
    response = _post(client, other, "people.csv", csv_bytes(household_rows()))
    _refused(response, "Select a valid choice")
    client.force_login(checker)  # manages no plan at all
    response = _post(client, household_plan, "people.csv", csv_bytes(household_rows()))
    assert response.status_code == 403
    assert not ImportBatch.objects.exists()


def test_closed_plans_are_not_offered(client, maker, household_plan):
    household_plan.status = "closed"
    household_plan.save()
    client.force_login(maker)
    assert client.get(reverse(IMPORT_URL)).status_code == 403
    assert client.get(reverse("admin:uploads_importbatch_changelist")).status_code == 200


# ---- bad files: a clear message on the form, nothing stored ---------------------------------


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (20 * 1024 * 1024) + b"/>")
    return buffer.getvalue()


def _xxe() -> bytes:
    source = zipfile.ZipFile(io.BytesIO(_xlsx([HEADER, household_rows()[0]])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "xl/worksheets/sheet1.xml":
                end = data.find(b"?>") + 2 if data.startswith(b"<?xml") else 0
                data = data[:end] + b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + data[end:]
            archive.writestr(entry, data)
    return buffer.getvalue()


def _cp1252() -> bytes:
    rows = household_rows()
    rows[0][0] = "Élodie"
    return csv_bytes(rows, encoding="cp1252")


@pytest.mark.parametrize(
    ("name", "file_format", "content", "fields", "message"),
    [
        ("empty.csv", "csv", b"", {}, "The submitted file is empty."),
        ("blank.csv", "csv", b"\r\n\r\n", {}, "blank.csv: The file is empty."),
        ("header.csv", "csv", csv_bytes([]), {}, "header.csv has a header but no data rows."),
        (
            "columns.csv",
            "csv",
            csv_bytes([["Awa", "x"]], header=["given_name", "colour"]),
            {},
            "Unknown column(s): colour.",
        ),
        (
            "missing.csv",
            "csv",
            csv_bytes([["Awa"]], header=["given_name"]),
            {},
            "Missing required column(s): family_name, sex, location_code, household_code, household_role.",
        ),
        ("bomb.xlsx", "xlsx", _zip_bomb(), {}, "refused as a possible zip bomb"),
        ("xxe.xlsx", "xlsx", _xxe(), {}, "declares a DTD or entities"),
        ("broken.xlsx", "xlsx", b"PK\x03\x04 not really a zip", {}, "damaged"),
        ("people.pdf", "csv", b"%PDF-1.4", {}, "people.pdf: upload a .csv, .tsv or .xlsx file"),
        ("people.pdf", "xlsx", b"%PDF-1.4", {}, "people.pdf is not an .xlsx workbook"),
        ("people.xlsx", "csv", _xlsx([HEADER, *household_rows()]), {}, "people.xlsx is an Excel workbook"),
        ("old.csv", "csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, {}, "old Excel .xls file"),
        ("latin.csv", "csv", _cp1252(), {"encoding": "utf-8"}, "cannot be read as utf-8"),
        ("garbage.csv", "csv", bytes(range(256)) * 50, {}, "garbage.csv: Unknown column(s)"),
    ],
)
def test_bad_files_are_refused_on_the_form(
    client, maker, household_plan, name, file_format, content, fields, message
):
    client.force_login(maker)
    _refused(_post(client, household_plan, name, content, file_format=file_format, **fields), message)


def test_file_above_the_size_limit_is_refused_on_the_form(client, maker, household_plan, settings):
    settings.UPLOADS_MAX_FILE_BYTES = 200
    client.force_login(maker)
    _refused(_post(client, household_plan, "big.csv", csv_bytes(household_rows())), "files may be at most")


def test_a_refused_file_keeps_the_chosen_plan_columns(client, maker, household_plan, individual_plan):
    client.force_login(maker)
    response = _post(client, individual_plan, "header.csv", csv_bytes([]))
    page = response.content.decode()
    assert f'<option value="{individual_plan.pk}" selected>' in page
    required = page.split('id="import-required">')[1].split("</code>")[0]
    assert "household_code" not in required


# ---- the changelist ---------------------------------------------------------------------------


def test_changelist_query_count_does_not_grow_with_the_batches(
    client, maker, household_plan, individual_plan, django_assert_max_num_queries
):
    upload(maker, household_plan, csv_bytes(household_rows()))
    client.force_login(maker)
    url = reverse("admin:uploads_importbatch_changelist")
    with django_assert_max_num_queries(30) as few:
        assert client.get(url).status_code == 200
    for index in range(2, 8):
        plan = household_plan if index % 2 else individual_plan
        rows = household_rows(f"H{index}", ids=(f"A{index}", f"B{index}", f"C{index}"))
        upload(maker, plan, csv_bytes(rows), name=f"people{index}.csv")
    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        page = client.get(url, {"benefit_plan__id__exact": household_plan.pk})
    assert page.status_code == 200
    assert page.content.decode().count('class="field-__str__"') == 4
    counts = [
        q["sql"] for q in many.captured_queries if "COUNT(" in q["sql"] and "uploads_importbatch" in q["sql"]
    ]
    assert counts and all("LIMIT" in sql for sql in counts), counts  # capped, never a full count


def test_changelist_plan_filter_lists_only_the_plans_the_user_sees(client, maker, household_plan):
    plan_make("SECRET", PlanType.HOUSEHOLD)
    client.force_login(maker)
    page = client.get(reverse("admin:uploads_importbatch_changelist")).content.decode()
    assert "CASH Plan CASH" in page
    assert "SECRET" not in page
