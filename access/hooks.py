"""Where the apps that own the models plug them into `access` (filled in their `AppConfig.ready()`).

`access` sits below every domain app and never imports one; the registry hands over how to read a
user's location paths, the programmes app its plan model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured

_providers: dict[str, Any] = {}


def location_paths_provider_register(provider: Callable[[Any], list[str]]) -> None:
    """`provider(user)` returns the materialised paths of the locations on the user's profile."""
    _providers["location_paths"] = provider


def plan_model_register(model: type) -> None:
    """The benefit plan model, whose object permissions scope users to plans."""
    _providers["plan_model"] = model


def roles_out_of_force_register(provider: Callable[[Any], Any]) -> None:
    """`provider(user)` returns the ids of the user's roles not in force today (a grant's dates), as a
    `values("role_id")` queryset used as a subquery. Without a provider every role a user holds is in force."""
    _providers["roles_out_of_force"] = provider


def role_holders_in_force_register(provider: Callable[[tuple[str, ...]], Any]) -> None:
    """`provider(roles)` returns the ids of the users holding one of these roles in force (a subquery)."""
    _providers["role_holders_in_force"] = provider


def locations_out_of_force_register(provider: Callable[[Any], Any]) -> None:
    """`provider(user)` returns the ids of the locations on the user's profile whose scope grant is not in
    force today, as a `values("location_id")` queryset used as a subquery."""
    _providers["locations_out_of_force"] = provider


def plans_out_of_force_register(provider: Callable[[Any], Any]) -> None:
    """`provider(user)` returns the ids of the benefit plans the user holds object permissions on whose
    scope grant is not in force today (a `values("benefit_plan_id")` queryset)."""
    _providers["plans_out_of_force"] = provider


def provided_if_any(name: str) -> Any:
    """A provider an app may register, or None."""
    return _providers.get(name)


def provided(name: str) -> Any:
    try:
        return _providers[name]
    except KeyError:
        raise ImproperlyConfigured(
            f"access needs {name!r}: the app owning it registers it in its AppConfig.ready()"
        ) from None
