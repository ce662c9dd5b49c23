"""The kinds of record a ticket may concern, with who may link one: the scoped list of each kind.

The registry's, programmes', payments' and approvals' records are ticket fields (foreign keys, indexed and
kept by the database). An app above this one (uploads) offers its record through
`subject_kind_register`, called from the top (the portal's `AppConfig.ready()`), so no import goes upward.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Model, QuerySet


@dataclass(frozen=True)
class SubjectKind:
    model: type[Model]
    field: str | None  # the ticket's foreign key, or None: the generic (subject_type, subject_id) pair
    visible: Callable[[Any], QuerySet[Any]]  # visible(user) -> the records that user may link
    location: Callable[[Any], Any] = lambda record: getattr(record, "location", None)


_kinds: dict[type[Model], SubjectKind] = {}


def subject_kind_register(
    model: type[Model],
    *,
    visible: Callable[[Any], QuerySet[Any]],
    field: str | None = None,
    location: Callable[[Any], Any] | None = None,
) -> None:
    """Let tickets concern records of `model`; `visible(user)` is the scoped queryset of those a user may
    link, `location(record)` where such a record is (the ticket's location when none is given)."""
    kind = SubjectKind(model=model, field=field, visible=visible)
    if location is not None:
        kind = SubjectKind(model=model, field=field, visible=visible, location=location)
    _kinds[model] = kind


def subject_kind(record: Any) -> SubjectKind | None:
    return _kinds.get(type(record)) or next(
        (kind for model, kind in _kinds.items() if isinstance(record, model)), None
    )


def subject_kinds() -> dict[type[Model], SubjectKind]:
    return dict(_kinds)


def subjects_register_builtin() -> None:
    """The records of the apps below: called from `GrievancesConfig.ready()`."""
    from approvals.models import Task
    from approvals.selectors import task_list
    from payments.models import Benefit
    from payments.selectors import benefit_list
    from programs.models import Beneficiary
    from programs.selectors import beneficiary_list
    from registry.models import Household, Individual
    from registry.selectors import household_list, individual_list

    subject_kind_register(Household, field="household", visible=lambda user: household_list(user=user))
    subject_kind_register(Individual, field="individual", visible=lambda user: individual_list(user=user))
    subject_kind_register(Beneficiary, field="beneficiary", visible=lambda user: beneficiary_list(user=user))
    subject_kind_register(Benefit, field="benefit", visible=lambda user: benefit_list(user=user))
    subject_kind_register(
        Task, field="decision", visible=lambda user: task_list(user=user), location=lambda task: None
    )
