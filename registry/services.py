"""Writes to the registry. Admin, API, jobs and tests call these, never the models directly."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr

from registry.models import PATH_STEP, Location, location_path_segment


@transaction.atomic
def location_rebuild_path(*, location: Location) -> None:
    """Set path and depth from the parent; rewrite the whole subtree in one UPDATE on a move."""
    parent_path = ""
    if location.parent_id:
        parent_path = Location.objects.values_list("path", flat=True).get(pk=location.parent_id)
    new_path = parent_path + location_path_segment(location.pk)
    old_path = Location.objects.values_list("path", flat=True).get(pk=location.pk)
    if old_path == new_path:
        return
    new_depth = len(new_path) // (PATH_STEP + 1) - 1
    if old_path and parent_path.startswith(old_path):
        from django.core.exceptions import ValidationError

        raise ValidationError({"parent": f"{location.parent} lies under {location}: that would make a cycle."})
    if old_path:
        old_depth = len(old_path) // (PATH_STEP + 1) - 1
        Location.objects.filter(path__startswith=old_path).update(
            path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
            depth=F("depth") + (new_depth - old_depth),
        )
    else:
        Location.objects.filter(pk=location.pk).update(path=new_path, depth=new_depth)
    location.path, location.depth = new_path, new_depth
