"""The XLSForm of a plan's registry schema: valid by pyxform, with the binds the upload expects."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook
from pyxform.xls2xform import convert

from intake.xlsform import mapping_propose, xlsform_write
from registry.models import RegistrySchema, SchemaKind


def _xform(plan) -> str:
    content = io.BytesIO()
    xlsform_write(content, plan=plan, form_id="hh_survey", version="2026-01", title="Household survey")
    xform = convert(xlsform=content.getvalue(), file_type=".xlsx", validate=False).xform
    with open("/tmp/intake-xform.xml", "w") as out:
        out.write(xform)
    return xform


def _bind(xform: str, path: str) -> str:
    match = re.search(rf'<bind nodeset="{re.escape(path)}"[^>]*/>', xform)
    assert match, f"no bind for {path}"
    return match.group(0)


def test_xlsform_converts_with_pyxform_and_binds_types_requireds_and_constraints(household_plan):
    xform = _xform(household_plan)
    assert 'id="hh_survey"' in xform and 'version="2026-01"' in xform
    assert 'nodeset="/data/members"' in xform  # the repeat group of members
    assert 'required="true()"' in _bind(xform, "/data/location_code")
    assert 'required="true()"' not in _bind(xform, "/data/household_code")  # blank: the submission's id
    given = _bind(xform, "/data/members/given_name")
    assert 'type="string"' in given and 'required="true()"' in given and "string-length(.) &lt;= 100" in given
    birth = _bind(xform, "/data/members/birth_date")
    assert 'type="date"' in birth and "today()" in birth
    assert "relevant=\" ../birth_date  != ''\"" in _bind(xform, "/data/members/birth_date_estimated")
    assert 'required="true()"' in _bind(xform, "/data/members/household_role")  # a household plan
    income = _bind(xform, "/data/hh_monthly_income")
    assert 'type="int"' in income and ". &gt;= 0" in income
    attendance = _bind(xform, "/data/members/ind_school_attendance")
    assert 'type="decimal"' in attendance and ". &lt;= 1" in attendance
    plan_score = _bind(xform, "/data/plan_score")  # a household plan's data: asked of the household
    assert 'type="int"' in plan_score and ". &lt;= 100" in plan_score
    # choices: the registry's lists, yes/no for booleans
    assert "<name>secondary</name>" in xform and "<name>head</name>" in xform
    assert re.search(r'<select1 ref="/data/members/ind_disability"', xform)


def test_xlsform_follows_the_schema_and_labels_every_language(household_plan):
    schema = RegistrySchema.objects.get(kind=SchemaKind.INDIVIDUAL)
    schema.schema["properties"]["literate"] = {"type": "boolean", "title": "Can read"}
    schema.schema["required"] = ["literate"]
    schema.schema["x-order"] = [*schema.schema["x-order"], "literate"]
    schema.save()
    xform = _xform(household_plan)
    assert 'required="true()"' in _bind(xform, "/data/members/ind_literate")
    assert mapping_propose(household_plan)["ind_literate"] == "ind.literate"
    content = io.BytesIO()
    xlsform_write(content, plan=household_plan, form_id="f", version="1", title="t")
    survey = load_workbook(io.BytesIO(content.getvalue()))["survey"]
    header = [cell.value for cell in survey[1]]
    assert "label::Français (fr)" in header and "label::English (en)" in header


def test_individual_plan_form_leaves_the_household_role_optional(individual_plan):
    xform = _xform(individual_plan)
    assert 'required="true()"' not in _bind(xform, "/data/members/household_role")
    assert 'nodeset="/data/members/plan_score"' in xform  # an individual plan's data: per member
