"""Every export path writes through the one writer: formula-like text neutralised (CSV: a leading apostrophe;
XLSX: a string cell with Excel's quote prefix, never a formula), phone numbers keep their `+`, numbers stay
numbers and `007` stays text. And uploads store `+254…` and negative numbers as given."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm
from openpyxl import load_workbook

from files import formats
from files.spreadsheets import formula_like
from payments.models import Payroll, PayrollStatus
from payments.services import payroll_csv_lines, payroll_xlsx
from programs.models import Beneficiary, BeneficiaryStatus, PlanType
from programs.selectors import EXPORT_HEADERS, beneficiary_export_chunks
from registry import exports
from registry.admin.locations import LocationAdmin
from registry.models import Household, Individual, Location, RegistrySchema
from registry.resources import LocationResource
from registry.schemas import schema_for
from registry.services import household_create, household_member_add, individual_create
from tests.conftest import Tree
from tests.payments.conftest import generate, make_payment_plan, world_build
from tests.reports.conftest import data, make_report  # noqa: F401  (data: the reports' fixture)
from tests.uploads.conftest import HEADER, csv_bytes, plan_make, upload
from uploads.exports import rejected_rows_csv, template_xlsx

PAYLOAD = "=cmd|' /C calc'!A0"
AT = "@SUM(1)"
PHONE = "+254700000001"


def csv_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for cell in row]


def assert_csv_safe(text: str, *neutralised: str, kept: tuple[str, ...] = ()) -> list[str]:
    cells = csv_cells(text)
    assert [cell for cell in cells if formula_like(cell)] == []
    for value in neutralised:
        assert any(cell.startswith("'" + value) for cell in cells), (value, cells)
    for value in kept:
        assert value in cells, (value, cells)
    return cells


def assert_xlsx_safe(content: bytes, *texts: str) -> dict[object, object]:
    """No formula in any cell; formula-like text is a quote-prefixed string. Returns value: cell."""
    workbook = load_workbook(io.BytesIO(content))
    found = {}
    for sheet in workbook:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.coordinate
                if isinstance(cell.value, str) and formula_like(cell.value):
                    assert cell.data_type == "s" and cell.quotePrefix, (cell.coordinate, cell.value)
                found.setdefault(cell.value, cell)
    for text in texts:
        assert any(isinstance(value, str) and value.startswith(text) for value in found), (text, list(found))
    return found


@pytest.fixture
def custom_schema(db):
    schema = dict(schema_for("individual"))
    schema["properties"] = {
        **schema.get("properties", {}),
        "balance": {"type": "number", "title": "Balance"},
        "code": {"type": "string", "title": "Code"},
    }
    schema["x-order"] = [*schema.get("x-order", []), "balance", "code"]
    RegistrySchema.objects.update_or_create(kind="individual", defaults={"schema": schema})
    return schema


@pytest.fixture
def person(tree: Tree, custom_schema) -> Individual:
    person = individual_create(
        location=tree.north_a,
        given_name=PAYLOAD,
        family_name=AT,
        sex="F",
        birth_date=date(1990, 1, 2),
        phone=PHONE,
        data={"balance": -12.5, "code": "007"},
    )
    household = household_create(code="HH-1", location=tree.north_a, address=PAYLOAD)
    household_member_add(household=household, individual=person, role="head", is_primary_recipient=True)
    return person


def test_registry_exports(person, tmp_path):
    schema = schema_for("individual")
    response = exports.export_response("individual", "csv", Individual.objects.all(), schema)
    text = b"".join(response.streaming_content).decode("utf-8")
    cells = assert_csv_safe(text, PAYLOAD, AT, kept=(PHONE, "-12.5", "007"))
    assert "'" + PHONE not in cells  # a plain signed number holds no formula
    path = tmp_path / "people.xlsx"
    exports.export_to_file("individual", "xlsx", Individual.objects.all(), schema, path)
    found = assert_xlsx_safe(path.read_bytes(), PAYLOAD, AT, PHONE, "007")
    assert found[PHONE].data_type == "s" and found["007"].data_type == "s"
    assert found[-12.5].data_type == "n"
    assert found[PAYLOAD].value == PAYLOAD  # no visible apostrophe
    households = exports.export_response("household", "csv", Household.objects.all(), schema_for("household"))
    assert_csv_safe(b"".join(households.streaming_content).decode("utf-8"), PAYLOAD)


def test_beneficiary_export(person):
    plan = plan_make("OLD", PlanType.INDIVIDUAL)
    now = timezone.now()
    Beneficiary.objects.create(
        benefit_plan=plan,
        individual=person,
        location=person.location,
        status=BeneficiaryStatus.ACTIVE,
        status_reason=AT,
        status_changed_at=now,
        enrolled_at=now,
        data={"note": PAYLOAD},
    )
    text = "".join(exports.csv_lines(EXPORT_HEADERS, beneficiary_export_chunks(Beneficiary.objects.all())))
    assert_csv_safe(text, PAYLOAD, AT)


def test_payroll_files(tree):
    world = world_build(tree)
    Individual.objects.update(given_name=PAYLOAD, family_name="Smith")
    Household.objects.filter(pk=world.households[0].pk).update(code=AT)
    payroll = generate(world, make_payment_plan(world))
    Payroll.objects.filter(pk=payroll.pk).update(status=PayrollStatus.APPROVED)
    payroll.refresh_from_db()
    cells = assert_csv_safe("".join(payroll_csv_lines(payroll)), PAYLOAD, AT, kept=("175.00",))
    assert cells[:2] == ["reference", "beneficiary"]  # no BOM in a provider's file
    found = assert_xlsx_safe(payroll_xlsx(payroll), PAYLOAD, AT)
    assert found[175].data_type == "n"


def test_report_files(client, data, admin_user, tree):  # noqa: F811
    Location.objects.filter(pk=tree.north.pk).update(name=PAYLOAD)
    Location.objects.filter(pk=tree.south.pk).update(name=AT)
    report = make_report(dataset="individuals", group_by="location:0")
    client.force_login(admin_user)
    csv_response = client.get(reverse("admin:reports_report_export", args=[report.pk, "csv"]))
    assert_csv_safe(csv_response.content.decode(), PAYLOAD, AT)
    xlsx_response = client.get(reverse("admin:reports_report_export", args=[report.pk, "xlsx"]))
    assert_xlsx_safe(xlsx_response.content, PAYLOAD, AT)


def test_upload_template_and_rejected_rows(maker, tree, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    schema = {"type": "object", "properties": {"note": {"type": "string", "title": PAYLOAD}}}
    plan = plan_make("CASH", PlanType.HOUSEHOLD, schema)
    assign_perm("programs.manage_beneficiaries", maker, plan)
    assert_xlsx_safe(template_xlsx(plan=plan), PAYLOAD)
    header = [*HEADER, "phone"]
    bad = ["Amina", AT, "Q", "1980-04-02", "N-A", "ID1", "H1", "head", "", "", "", PHONE]
    formula = [PAYLOAD, "Diallo", "F", "1980-04-02", "N-A", "ID2", "H2", "head", "", "", "", "-12.5"]
    batch = upload(maker, plan, csv_bytes([bad, formula], header=header))
    text = "".join(rejected_rows_csv(batch=batch))
    assert text.startswith("\ufeff")
    assert_csv_safe(text, PAYLOAD, AT, kept=(PHONE, "-12.5"))


def test_import_command_rejected_file(maker, tree, settings, tmp_path, capsys):
    settings.MEDIA_ROOT = tmp_path
    plan = plan_make("CASH", PlanType.HOUSEHOLD)
    assign_perm("programs.manage_beneficiaries", maker, plan)
    assign_perm("programs.view_benefitplan", maker, plan)
    rows = [
        ["Amina", "Diallo", "F", "1980-04-02", "N-A", "ID1", "H1", "head", "", "", ""],
        [PAYLOAD, AT, "Q", "1980-04-02", "N-A", "ID2", "H2", "head", "", "", ""],
    ]
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes(rows))
    call_command("import_beneficiaries", str(path), plan="CASH", username="maker", no_progress=True)
    assert_csv_safe((tmp_path / "people-rejected.csv").read_text(encoding="utf-8-sig"), PAYLOAD, AT)


def test_location_tree_export(tree):
    Location.objects.filter(pk=tree.north.pk).update(name=PAYLOAD)
    Location.objects.filter(pk=tree.south.pk).update(name=AT)
    assert LocationAdmin.export_formats == LocationAdmin.import_formats == formats.FORMATS
    dataset = LocationResource().export(Location.objects.select_related("parent").order_by("path"))
    assert_csv_safe(formats.CSV().export_data(dataset), PAYLOAD, AT)
    assert_xlsx_safe(formats.XLSX().export_data(dataset), PAYLOAD, AT)


def test_uploads_store_plus_and_minus_values_as_given(maker, checker, custom_schema, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    plan = plan_make("CASH", PlanType.HOUSEHOLD)
    for user in (maker, checker):
        assign_perm("programs.view_benefitplan", user, plan)
    assign_perm("programs.manage_beneficiaries", maker, plan)
    header = ["given_name", "family_name", "sex", "birth_date", "location_code", "household_code",
              "household_role", "phone", "ind.balance", "ind.code", "other_names"]  # fmt: skip
    row = ["Amina", "Diallo", "F", "1980-04-02", "N-A", "H1", "head", PHONE, "-12.5", "007", "-"]
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes([row], header=header))
    call_command(
        "import_beneficiaries", str(path), plan="CASH", username="maker", approver="checker", no_progress=True
    )
    person = Individual.objects.get(given_name="Amina")
    assert person.phone == PHONE
    assert person.data["balance"] == -12.5 and person.data["code"] == "007"
    assert person.other_names == "-"
