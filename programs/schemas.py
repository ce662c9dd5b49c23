"""Plan-specific beneficiary data: each plan's JSON Schema, checked like the registry's, and values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError

from registry.schemas import EMPTY_SCHEMA, custom_data_validate, schema_check

if TYPE_CHECKING:
    from programs.models import BenefitPlan


def plan_schema_check(schema: Any) -> dict[str, Any]:
    """A plan's schema follows the registry's supported subset; errors are keyed to `beneficiary_schema`."""
    if schema in (None, {}):
        return {}
    try:
        return schema_check(schema)
    except ValidationError as exc:
        messages = exc.message_dict.get("schema", exc.messages)
        raise ValidationError({"beneficiary_schema": messages}) from None


def plan_data_validate(
    plan: BenefitPlan, data: Any, *, previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Validate a beneficiary's `data` against the plan's schema and return it ready to store."""
    schema = plan.beneficiary_schema or EMPTY_SCHEMA
    try:
        return custom_data_validate(kind="beneficiary", data=data, schema=schema, previous=previous)
    except ValidationError as exc:
        fixed = {
            key: [
                message.replace("custom field of beneficiarys", f"data field of plan {plan.code}")
                for message in messages
            ]
            for key, messages in exc.message_dict.items()
        }
        raise ValidationError(fixed) from None
