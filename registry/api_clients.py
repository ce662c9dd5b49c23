"""Partner systems reading and feeding the registry through its API: each client has a scope (locations; read
or read-write), an API key (identity.apikeys: shown once, rotation overlap, expiry, IP ranges), a rate limit,
and every call it makes on the call trail (`RegistryApiCall`, one row per call)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from simple_history.models import HistoricalRecords

from access.roles import User
from access.scope import paths_q
from identity.apikeys import ApiKeyHolder, api_key_authenticate, api_key_rotate, request_address

THROTTLE_CACHE = "throttle"  # the shared cache of the portal's throttles (Redis when REDIS_URL is set)


class ApiAccess(models.TextChoices):
    READ = "read", _lazy("read")
    READ_WRITE = "read_write", _lazy("read and write")


class RegistryApiClient(ApiKeyHolder):
    """A partner system allowed to search (and, read-write, to register and update) people and households
    of its locations through /api/registry/."""

    name = models.CharField(_lazy("name"), max_length=120, unique=True)
    access = models.CharField(
        _lazy("access"), max_length=16, choices=ApiAccess.choices, default=ApiAccess.READ
    )
    locations = models.ManyToManyField(
        "registry.Location",
        blank=True,
        related_name="+",
        verbose_name=_lazy("locations"),
        help_text=_lazy("The client sees and writes records of these locations and below; none: nothing."),
    )
    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_lazy("writes in the name of"),
        help_text=_lazy(
            "Read-write clients: the user whose name its writes carry (the maker of any approval task); "
            "that user's own scope and permissions apply too."
        ),
    )
    rate_per_minute = models.PositiveIntegerField(
        _lazy("calls per minute"),
        null=True,
        blank=True,
        help_text=_lazy("Empty: the portal's default (REGISTRY_API_RATE_PER_MINUTE)."),
    )
    is_active = models.BooleanField(_lazy("active"), default=True)
    created_at = models.DateTimeField(_lazy("created"), auto_now_add=True)
    history = HistoricalRecords(m2m_fields=[])

    class Meta:
        app_label = "registry"
        ordering = ["name"]
        verbose_name = _lazy("registry API client")
        verbose_name_plural = _lazy("registry API clients")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.access == ApiAccess.READ_WRITE and self.acting_user_id is None:
            raise ValidationError(
                {"acting_user": _("A read-write client needs the user in whose name it writes.")}
            )

    @property
    def may_write(self) -> bool:
        return self.access == ApiAccess.READ_WRITE and self.acting_user_id is not None

    def location_paths(self) -> list[str]:
        cached = getattr(self, "_location_paths", None)
        if cached is None:
            cached = list(self.locations.values_list("path", flat=True))
            self._location_paths = cached
        return cached

    def scope_q(self, *, field: str = "location") -> Q:
        """Rows whose `field` (a location) lies in the client's locations or below (access's path rule)."""
        return paths_q(self.location_paths(), field=f"{field}__path")

    def covers(self, path: str | None) -> bool:
        return path is not None and any(path.startswith(own) for own in self.location_paths())


class RegistryApiCall(models.Model):
    """One call of a registry API client: the call trail (one INSERT per call, never one per record)."""

    at = models.DateTimeField(_lazy("at"), auto_now_add=True)
    client = models.ForeignKey(
        RegistryApiClient, on_delete=models.CASCADE, related_name="calls", verbose_name=_lazy("client")
    )
    method = models.CharField(_lazy("method"), max_length=8)
    path = models.CharField(_lazy("path"), max_length=300)
    query = models.CharField(_lazy("query"), max_length=500, blank=True)
    status = models.PositiveSmallIntegerField(_lazy("status"))
    records = models.PositiveIntegerField(_lazy("records"), default=0)
    ip_address = models.GenericIPAddressField(_lazy("address"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_lazy("duration (ms)"), default=0)

    class Meta:
        app_label = "registry"
        ordering = ["-at", "-pk"]
        verbose_name = _lazy("registry API call")
        verbose_name_plural = _lazy("registry API calls")
        indexes = [models.Index(fields=["client", "-at"], name="registry_api_call_client")]

    def __str__(self) -> str:
        return f"{self.client} {self.method} {self.path} {self.status}"


@transaction.atomic
def registry_api_client_key_rotate(
    *, user: User, client: RegistryApiClient, overlap: timedelta = timedelta(0), address: str | None = None
) -> str:
    """A new API key for the client: returned once, stored as its hash; the old one works for `overlap`."""
    if not (user.is_authenticated and user.is_active and user.has_perm("registry.change_registryapiclient")):
        raise ValidationError(_("You may not change registry API clients."))
    return api_key_rotate(holder=client, prefix="ra", actor=user, overlap=overlap, address=address)


def registry_api_client_by_key(key: str, remote_addr: str) -> RegistryApiClient | None:
    return api_key_authenticate(  # type: ignore[return-value]
        RegistryApiClient.objects.filter(is_active=True).select_related("acting_user"), key, remote_addr
    )


def rate_limit_wait(client: RegistryApiClient) -> int:
    """Count this call in the client's current minute; the seconds to wait when it is past its rate, else 0.
    A fixed window per client in the shared throttle cache (Redis when configured), one INCR per call."""
    limit = client.rate_per_minute or settings.REGISTRY_API_RATE_PER_MINUTE
    now = time.time()
    window = int(now // 60)
    left = max(int((window + 1) * 60 - now) + 1, 1)
    cache = caches[THROTTLE_CACHE]
    key = f"registry-api:{client.pk}:{window}"
    if cache.add(key, 1, timeout=left):
        calls = 1
    else:
        try:
            calls = cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.set(key, 1, timeout=left)
            calls = 1
    return left if calls > limit else 0


def api_call_record(
    *, client: RegistryApiClient, request: Any, status: int, records: int = 0, started: float | None = None
) -> None:
    duration = int((time.monotonic() - started) * 1000) if started is not None else 0
    RegistryApiCall.objects.create(
        client=client,
        method=request.method[:8],
        path=request.path[:300],
        query=request.META.get("QUERY_STRING", "")[:500],
        status=status,
        records=records,
        ip_address=request_address(request) or None,
        duration_ms=min(duration, 2**31 - 1),
    )
