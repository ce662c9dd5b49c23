"""The columns of a beneficiary file: registry core fields, identity documents, household and custom fields.

Custom fields are prefixed by whose they are: `ind.<key>` (registry schema of
individuals), `hh.<key>` (registry schema of households), `plan.<key>` (the
benefit plan's beneficiary schema). Headers are matched case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from programs.models import BenefitPlan
from registry.models import DocumentType, HouseholdRole, SchemaKind, Sex
from registry.schemas import schema_fields, schema_for

CUSTOM_PREFIXES = {"ind": "individual", "hh": "household", "plan": "plan"}
DOCUMENT_COLUMNS = tuple(choice.value for choice in DocumentType)


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text, date, boolean, choice, choices, document, integer, number
    required: bool = False
    description: str = ""
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    group: str = "core"  # core, document, household, individual, household_data, plan
    key: str = ""  # the custom field's key inside its data


def _core(household_plan: bool) -> list[Column]:
    return [
        Column("given_name", "text", True, "Given (first) name", max_length=100),
        Column("family_name", "text", True, "Family name (surname)", max_length=100),
        Column("other_names", "text", False, "Middle or other names", max_length=200),
        Column(
            "sex",
            "choice",
            True,
            "F, M or X (also female/male/other, femme/homme/autre)",
            choices=tuple(choice.value for choice in Sex),
        ),
        Column("birth_date", "date", False, "Date of birth, in the date format chosen for the upload"),
        Column(
            "birth_date_estimated",
            "boolean",
            False,
            "yes if the birth date is an estimate (yes/no, oui/non, 1/0)",
        ),
        Column("phone", "text", False, "Phone number", max_length=32),
        Column(
            "location_code", "text", True, "Code of the person's location (village, ward...)", max_length=64
        ),
    ]


def _documents() -> list[Column]:
    return [
        Column(
            choice.value,
            "document",
            False,
            f"{choice.label} number; unique in the registry",
            max_length=64,
            group="document",
        )
        for choice in DocumentType
    ]


def _household(household_plan: bool) -> list[Column]:
    roles = tuple(choice.value for choice in HouseholdRole)
    return [
        Column(
            "household_code",
            "text",
            household_plan,
            "Code of the household; rows with the same code form one household",
            max_length=64,
            group="household",
        ),
        Column(
            "household_role",
            "choice",
            household_plan,
            f"Role in the household: {', '.join(roles)}; one head per household",
            choices=roles,
            group="household",
        ),
        Column(
            "primary_recipient",
            "boolean",
            False,
            "yes for the member who receives the payments (default: the head)",
            group="household",
        ),
    ]


def _custom(prefix: str, schema: dict[str, Any], group: str) -> list[Column]:
    columns = []
    for field in schema_fields(schema):
        kind = {
            "string": "date" if field.format == "date" else ("choice" if field.choices else "text"),
            "boolean": "boolean",
            "integer": "integer",
            "number": "number",
            "array": "choices",
        }[field.type]
        description = field.label + (f": {field.help_text}" if field.help_text else "")
        if field.choices and field.type == "array":
            description += f" (any of {', '.join(field.choices)}, separated by ;)"
        elif field.choices:
            description += f" (one of {', '.join(field.choices)})"
        columns.append(
            Column(
                f"{prefix}.{field.name}",
                kind,
                field.required,
                description,
                choices=field.choices,
                max_length=field.max_length,
                min_length=field.min_length,
                minimum=field.minimum,
                maximum=field.maximum,
                group=group,
                key=field.name,
            )
        )
    return columns


def columns_for(plan: BenefitPlan) -> list[Column]:
    """Every column a file for `plan` may have, in template order."""
    household_plan = plan.is_household
    return (
        _core(household_plan)
        + _documents()
        + _household(household_plan)
        + _custom("ind", schema_for(SchemaKind.INDIVIDUAL), "individual")
        + _custom("hh", schema_for(SchemaKind.HOUSEHOLD), "household_data")
        + _custom("plan", plan.beneficiary_schema or {}, "plan")
    )
