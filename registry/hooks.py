"""Where the apps above the registry plug into it, filled in their `AppConfig.ready()`.

The registry imports none of them (`.importlinter`); they hand it what its pages and search show about a
person: the programmes app its enrolment filters and a person's enrolments, the uploads app the upload that
registered a person. Each hook is optional: without the app above, the registry shows nothing for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

User = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class SearchExtension:
    """Filters an app above the registry adds to its advanced search of people and households.

    `filters(kind=, user=)` gives the filters (`registry.filters.ConditionFilter`s whose `scope` is
    `name`) for the search of `kind` ("individual" or "household"), scoped to the user. The conditions
    of the filters a search sets are handed together to `condition(kind=, conditions=)`, which returns
    one condition on the searched model (so they share one subquery).
    """

    name: str
    filters: Callable[..., dict[str, Any]]
    condition: Callable[..., Q]


_search_extensions: dict[str, SearchExtension] = {}
_individual_page: dict[str, Callable[..., Any]] = {}


def search_extension_register(extension: SearchExtension) -> None:
    _search_extensions[extension.name] = extension


def search_extensions() -> list[SearchExtension]:
    return list(_search_extensions.values())


def individual_enrolments_register(provider: Callable[..., QuerySet]) -> None:
    """`provider(user=, individual=)`: the person's enrolments (beneficiaries) the user may see."""
    _individual_page["enrolments"] = provider


def individual_enrolments(*, user: User, individual: Any) -> QuerySet | None:
    """The enrolments a person's page lists; None when no app provides them."""
    provider = _individual_page.get("enrolments")
    return None if provider is None else provider(user=user, individual=individual)


def individual_upload_record_register(provider: Callable[..., str | None]) -> None:
    """`provider(individual_id=)`: a line naming the upload that registered the person, or None."""
    _individual_page["upload_record"] = provider


def individual_upload_record(*, individual_id: int) -> str | None:
    provider = _individual_page.get("upload_record")
    return None if provider is None else provider(individual_id=individual_id)
