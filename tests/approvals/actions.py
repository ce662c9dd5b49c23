"""Actions the tests register with the approvals app, standing in for the domain apps' actions."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F, Q

from access.scope import user_location_paths, user_sees_everywhere
from approvals.actions import Description, action_register, action_unregister
from registry.models import Location

RENAME = "tests.rename_location"
RENAME_CAN_VIEW = "tests.rename_location_can_view"
EXPLODE = "tests.explode"
BULK = "tests.bulk_rename"
PAY = "tests.pay"
ALL = (RENAME, RENAME_CAN_VIEW, EXPLODE, BULK, PAY)

executions: list[int] = []  # task ids, in the order the executors ran
_lock = threading.Lock()


def visible_locations(user: Any):  # type: ignore[no-untyped-def]
    if user_sees_everywhere(user):
        return Location.objects.all()
    condition = Q(pk__in=[])
    for path in user_location_paths(user):
        condition |= Q(path__startswith=path)
    return Location.objects.filter(condition)


def can_view_location(user: Any, location: Location) -> bool:
    return user_sees_everywhere(user) or any(location.path.startswith(p) for p in user_location_paths(user))


def rename_execute(*, target: Location, payload: dict[str, Any], task: Any, **kwargs: Any) -> dict[str, Any]:
    name = str(payload.get("name", "")).strip()
    if not name:
        raise ValidationError({"name": "The new name is empty."})
    if Location.objects.filter(name=name).exclude(pk=target.pk).exists():
        raise ValidationError({"name": f"Another location is already called {name}."})
    with _lock:
        executions.append(task.pk)
    # A counter in the row itself: two executions would leave 2. save() puts the change on the history.
    location = Location.objects.get(pk=target.pk)
    location.name = name
    location.latitude = (location.latitude or 0) + 1
    location.save()
    return {"renamed": name}


def rename_describe(*, target: Location, payload: dict[str, Any]) -> Description:
    return Description(changes=[("Name", target.name, payload.get("name"))], summary=f"Rename {target.code}")


def explode_execute(*, target: Location, payload: dict[str, Any], task: Any, **kwargs: Any) -> None:
    Location.objects.filter(pk=target.pk).update(name="half-written")
    raise RuntimeError("the executor broke after writing")


def bulk_execute(
    *, target: Location, payload: dict[str, Any], task: Any, progress: Any, **kwargs: Any
) -> dict[str, Any]:
    children = list(Location.objects.filter(parent=target).order_by("pk").values_list("pk", flat=True))
    for done, pk in enumerate(children, start=1):
        Location.objects.filter(pk=pk).update(name=F("code"))
        progress(done=done, total=len(children), message=f"Renamed {done}")
    if payload.get("fail"):
        raise ValidationError("The registry changed: the batch no longer validates.")
    return {"renamed": len(children)}


def bulk_describe(*, target: Location, payload: dict[str, Any]) -> Description:
    children = Location.objects.filter(parent=target)
    return Description(
        count=children.count(),
        total=Decimal("12.50"),
        sample=list(children.values_list("name", flat=True)[:3]),
        summary="Rename every child after its code",
    )


def pay_execute(*, target: Location, payload: dict[str, Any], task: Any, **kwargs: Any) -> dict[str, Any]:
    return {"paid": payload["amount"]}


def pay_amount(*, target: Location, payload: dict[str, Any]) -> Decimal:
    return Decimal(str(payload["amount"]))


def register_test_actions() -> None:
    action_register(
        RENAME,
        label="Rename a location",
        executor=rename_execute,
        describer=rename_describe,
        visible=visible_locations,
    )
    action_register(
        RENAME_CAN_VIEW,
        label="Rename a location (per-object check)",
        executor=rename_execute,
        describer=rename_describe,
        can_view=can_view_location,
    )
    action_register(EXPLODE, label="Break", executor=explode_execute, visible=visible_locations)
    action_register(
        BULK,
        label="Rename children",
        executor=bulk_execute,
        describer=bulk_describe,
        visible=visible_locations,
        background=True,
    )
    action_register(PAY, label="Pay", executor=pay_execute, amount=pay_amount, visible=visible_locations)


def unregister_test_actions() -> None:
    for name in ALL:
        action_unregister(name)
