"""The registry's schema as an XLSForm: a household with a repeat group of its members.

Built from the upload's own columns (`uploads.columns.columns_for`), so a field team collects exactly what
the upload checks: core fields, identity documents, household role, the registry's custom fields and the
plan's, with their types, choices, limits and required flags. Written through the one spreadsheet writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from files.spreadsheets import Sheet, xlsx_write
from programs.models import BenefitPlan
from uploads.columns import Column, columns_for

REPEAT = "members"
HOUSEHOLD_LEVEL = "household"
MEMBER_LEVEL = "member"
YES_NO = "yes_no"
# Household fields first, then the repeat; the rest of the columns are the members'.
HOUSEHOLD_COLUMNS = ("household_code", "location_code")
LABELS = {
    "household_code": _("Household code (blank: the submission's id)"),
    "location_code": _("Location code (village, ward...)"),
    "given_name": _("Given (first) name"),
    "family_name": _("Family name"),
    "other_names": _("Other names"),
    "sex": _("Sex"),
    "birth_date": _("Date of birth"),
    "birth_date_estimated": _("Is the date of birth an estimate?"),
    "phone": _("Phone number"),
    "household_role": _("Role in the household"),
    "primary_recipient": _("Receives the payments?"),
}
CHOICE_LABELS = {
    "F": _("Female"),
    "M": _("Male"),
    "X": _("Other"),
    "head": _("Head"),
    "spouse": _("Spouse"),
    "child": _("Child"),
    "grandchild": _("Grandchild"),
    "parent": _("Parent"),
    "other_relative": _("Other relative"),
    "non_relative": _("Not related"),
    "yes": _("Yes"),
    "no": _("No"),
}


@dataclass(frozen=True)
class FormField:
    """One question of the form: its XLSForm name, its level and the upload column it fills."""

    name: str
    level: str
    column: Column


def xlsform_name(column: Column) -> str:
    """`ind.education` → `ind_education`: XLSForm names are XML names, and exports join groups with / or -."""
    return column.name.replace(".", "_")


def form_fields(plan: BenefitPlan) -> list[FormField]:
    """Every question of the plan's form, household level first, in the upload template's order."""
    household, members = [], []
    for column in columns_for(plan):
        at_household = (
            column.name in HOUSEHOLD_COLUMNS
            or column.group == "household_data"
            or (column.group == "plan" and plan.is_household)
        )
        field = FormField(xlsform_name(column), HOUSEHOLD_LEVEL if at_household else MEMBER_LEVEL, column)
        (household if at_household else members).append(field)
    return household + members


def mapping_propose(plan: BenefitPlan) -> dict[str, str]:
    """The column mapping of a form made by `xlsform_write`: each question's name → its upload column."""
    return {field.name: field.column.name for field in form_fields(plan)}


def _languages() -> list[tuple[str, str]]:
    return [(code, f"{name} ({code})") for code, name in settings.LANGUAGES]


def _labels(text: Any) -> list[str]:
    labels = []
    for code, _name in _languages():
        with translation.override(code):
            labels.append(str(text))
    return labels


def _list_name(column: Column) -> str:
    if column.kind == "boolean":
        return YES_NO
    return column.name.replace(".", "_")


def _question(field: FormField) -> tuple[str, str, str, str]:
    """(type, constraint, constraint message, relevant) of one question."""
    column = field.column
    conditions, messages = [], []
    kind = column.kind
    if kind in ("choice", "boolean"):
        xls_type = f"select_one {_list_name(column)}"
    elif kind == "date":
        xls_type = "date"
        conditions.append(". <= today()")
        messages.append(str(_("not in the future")))
    elif kind == "integer":
        xls_type = "integer"
    elif kind == "number":
        xls_type = "decimal"
    else:
        xls_type = "text"
    if kind in ("integer", "number"):
        if column.minimum is not None:
            conditions.append(f". >= {column.minimum:g}")
            messages.append(str(_("at least %(minimum)s")) % {"minimum": f"{column.minimum:g}"})
        if column.maximum is not None:
            conditions.append(f". <= {column.maximum:g}")
            messages.append(str(_("at most %(maximum)s")) % {"maximum": f"{column.maximum:g}"})
    if kind in ("text", "document"):
        if column.max_length is not None:
            conditions.append(f"string-length(.) <= {column.max_length}")
            messages.append(str(_("at most %(count)s characters")) % {"count": column.max_length})
        if column.min_length is not None:
            conditions.append(f"string-length(.) >= {column.min_length}")
            messages.append(str(_("at least %(count)s characters")) % {"count": column.min_length})
    relevant = "${birth_date} != ''" if column.name == "birth_date_estimated" else ""
    return xls_type, " and ".join(conditions), "; ".join(messages), relevant


def _label(column: Column) -> Any:
    if column.name in LABELS:
        return LABELS[column.name]
    if column.group == "document":
        return _("%(document)s number") % {"document": column.description.split(" number")[0]}
    return column.description.split(" (one of")[0]


def _survey_rows(plan: BenefitPlan) -> Iterator[list[Any]]:
    fields = form_fields(plan)
    in_repeat = False
    for field in fields:
        if field.level == MEMBER_LEVEL and not in_repeat:
            yield ["begin_repeat", REPEAT, *_labels(_("Members of the household")), "", "", "", "", ""]
            in_repeat = True
        xls_type, constraint, message, relevant = _question(field)
        # A blank household code takes the submission's id (see intake.conversion).
        required = "yes" if field.column.required and field.column.name != "household_code" else ""
        yield [
            xls_type,
            field.name,
            *_labels(_label(field.column)),
            required,
            constraint,
            message,
            relevant,
            "",
        ]
    if in_repeat:
        yield ["end_repeat", REPEAT, *([""] * len(_languages())), "", "", "", "", ""]


def _choice_rows(plan: BenefitPlan) -> Iterator[list[Any]]:
    lists_done: set[str] = set()
    for field in form_fields(plan):
        column = field.column
        if column.kind not in ("choice", "boolean"):
            continue
        list_name = _list_name(column)
        if list_name in lists_done:
            continue
        lists_done.add(list_name)
        values = ("yes", "no") if column.kind == "boolean" else column.choices
        for value in values:
            yield [list_name, value, *_labels(CHOICE_LABELS.get(value, value.replace("_", " ").capitalize()))]


def xlsform_sheets(*, plan: BenefitPlan, form_id: str, version: str, title: str) -> list[Sheet]:
    """The survey, choices and settings sheets of the form."""
    label_headers = [f"label::{name}" for _code, name in _languages()]
    default_language = next(
        (name for code, name in _languages() if code == settings.LANGUAGE_CODE.split("-")[0]),
        _languages()[0][1],
    )
    survey_header = [
        "type",
        "name",
        *label_headers,
        "required",
        "constraint",
        "constraint_message",
        "relevant",
        "hint",
    ]
    return [
        Sheet("survey", survey_header, list(_survey_rows(plan))),
        Sheet("choices", ["list_name", "name", *label_headers], list(_choice_rows(plan))),
        Sheet(
            "settings",
            ["form_title", "form_id", "version", "default_language"],
            [[title, form_id, version, default_language]],
        ),
    ]


def xlsform_write(
    target: str | IO[bytes], *, plan: BenefitPlan, form_id: str, version: str, title: str
) -> None:
    """Write the plan's XLSForm (XLSX) to a path or a binary file."""
    xlsx_write(target, xlsform_sheets(plan=plan, form_id=form_id, version=version, title=title))
