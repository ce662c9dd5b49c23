"""The custom-fields page shared by the registry's schemas and the benefit plans: the form writes the schema,
stored values a change would break are counted in the database and refused on the row concerned."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from registry.custom_field_forms import custom_field_formset
from registry.custom_fields import schema_change_refusals
from registry.schemas import schema_check


def custom_fields_page(
    request: HttpRequest,
    *,
    context: dict[str, Any],
    schema: dict[str, Any],
    records: QuerySet[Any],
    save: Callable[[dict[str, Any]], str | None],
    done_url: str,
    editable: bool = True,
) -> HttpResponse:
    """GET shows the rows; POST checks them, counts the stored values the change would break (refused on the
    row), then `save(new_schema)`, which returns the message to show (or raises ValidationError)."""
    schema = schema or {}
    data = request.POST if request.method == "POST" and editable else None
    formset = custom_field_formset(schema, data=data)
    problems: list[str] = []
    if data is not None and formset.is_valid():
        try:
            new = schema_check(formset.schema(base=schema))
        except ValidationError as exc:
            problems = list(exc.messages)
        else:
            refusals = schema_change_refusals(records, old=schema, new=new)
            if refusals:
                formset.refuse(refusals, old=schema, new=new)
            else:
                try:
                    message = save(new)
                except ValidationError as exc:
                    problems = list(exc.messages)
                else:
                    if message is None:
                        message = _("The custom fields are saved.")
                    if message:  # "" when `save` told the user itself (a request queued for approval)
                        messages.success(request, message)
                    return HttpResponseRedirect(done_url)
    if not editable:
        for form in formset.forms:
            for field in form.fields.values():
                field.disabled = True
    return TemplateResponse(
        request,
        "admin/registry/custom_fields.html",
        {
            **context,
            "formset": formset,
            "problems": problems,
            "editable": editable,
            "raw_schema": json.dumps(schema, indent=2, ensure_ascii=False),
            "done_url": done_url,
        },
    )
