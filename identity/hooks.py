"""Where a higher app plugs into identity: the locations of a user, which the portal's profiles own.

Single sign-on gives locations named by code; identity knows neither locations nor profiles, so the portal
registers, in its ready(), the function that sets a user's locations and the one that finds unknown codes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

_hooks: dict[str, Callable[..., Any]] = {}


def user_locations_register(
    *, setter: Callable[[Any, list[str]], None], unknown: Callable[[Iterable[str]], list[str]]
) -> None:
    """`setter(user, codes)` makes these the user's locations; `unknown(codes)` lists codes of no location."""
    _hooks["locations_set"] = setter
    _hooks["locations_unknown"] = unknown


def user_locations_set(user: Any, codes: list[str]) -> None:
    _hooks["locations_set"](user, codes)


def location_codes_unknown(codes: Iterable[str]) -> list[str]:
    hook = _hooks.get("locations_unknown")
    return hook(codes) if hook is not None else []
