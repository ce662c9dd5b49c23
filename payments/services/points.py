"""Payment points and cycles: a provider's API key, the points an officer may pay through, and the officer's
payment scope (the locations a payroll they generate covers). Cycles need no service: they are plain rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from access.scope import paths_q, user_location_paths, user_sees_everywhere
from identity.apikeys import api_key_authenticate, api_key_rotate
from payments.models import PaymentPoint
from payments.services.checks import User, require_permission
from registry.models import Location


@dataclass(frozen=True)
class PaymentScope:
    """Where an officer may pay: the locations of their profile, or everywhere (no locations)."""

    locations: tuple[Location, ...] = ()

    @property
    def everywhere(self) -> bool:
        return not self.locations

    @property
    def paths(self) -> list[str]:
        return [location.path for location in self.locations]

    def label(self) -> str:
        if self.everywhere:
            return "every location of the plan"
        return f"limited to your locations: {', '.join(location.name for location in self.locations)}"


def payment_scope(*, user: User) -> PaymentScope:
    """The officer's scope for payrolls; an officer limited to no location at all may pay nobody."""
    if user_sees_everywhere(user):
        return PaymentScope()
    paths = user_location_paths(user) if user.pk else []
    locations = tuple(Location.objects.filter(path__in=paths).order_by("path"))
    if not locations:
        raise ValidationError("No location is on your profile: ask an administrator to give you some.")
    return PaymentScope(locations)


def served_location_ids(
    *, payment_point: PaymentPoint | None, scope_paths: list[str] | None
) -> list[int] | None:
    """Ids of the locations both the payment point serves and the scope covers (None: no limit).

    One path-prefix query on the location tree; the beneficiaries are then filtered by these ids inside the
    INSERT ... SELECT: PostgreSQL estimates a list of ids well and scans the beneficiaries once, where a
    join on path prefixes looked like one location and led to nested loops.
    """
    if payment_point is None and not scope_paths:
        return None
    locations = Location.objects.all()
    if payment_point is not None:
        locations = locations.filter(paths_q(list(payment_point.locations.values_list("path", flat=True))))
    if scope_paths:
        locations = locations.filter(paths_q(scope_paths))
    return list(locations.values_list("pk", flat=True))


def payment_points_usable(*, user: User) -> QuerySet[PaymentPoint]:
    """Active payment points the user may generate a payroll for: every one for those who see everywhere,
    else those serving at least one of their locations (the test `payroll_generate` applies). Payment points
    are few (tens): one small query each."""
    points = PaymentPoint.objects.filter(is_active=True)
    try:
        scope = payment_scope(user=user)
    except ValidationError:
        return points.none()
    if scope.everywhere:
        return points
    usable = [
        point.pk
        for point in points.prefetch_related("locations")
        if served_location_ids(payment_point=point, scope_paths=scope.paths)
    ]
    return points.filter(pk__in=usable)


@transaction.atomic
def payment_point_key_rotate(
    *,
    user: User,
    payment_point: PaymentPoint,
    overlap: timedelta = timedelta(0),
    address: str | None = None,
) -> str:
    """A new API key for the provider: returned once, stored only as its hash; the old key keeps working for
    `overlap` so the provider never stops paying during a rotation (none: it stops at once)."""
    require_permission(user, "payments.change_paymentpoint", "change payment points")
    return api_key_rotate(holder=payment_point, prefix="pp", actor=user, overlap=overlap, address=address)


def payment_point_by_key(key: str, remote_addr: str = "") -> PaymentPoint | None:
    return api_key_authenticate(  # type: ignore[return-value]
        PaymentPoint.objects.filter(is_active=True), key, remote_addr
    )
