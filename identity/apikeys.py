"""API keys of the portal's clients (payment providers, grievance partners, registry API clients, later DCI
clients): one way to make them, show them once, keep only their hash, rotate them with an overlap, limit them
to IP ranges and an expiry, and find their holder by them (`api_key_authenticate`, used by every API's auth).
Creations, rotations and refusals are written to one trail, `ApiKeyEvent`, filterable per holder."""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The same logger as the wrong-key throttle (portal.security): one place for operators to watch.
log = logging.getLogger("portal.security.api_key")

# The last-used time is written at most this often per holder: one small UPDATE, not one per call.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def api_key_hash(key: str) -> str:
    # Keys are long random tokens: a fast hash is enough, and lets the API find the holder by it.
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_new(*, prefix: str) -> tuple[str, str, str]:
    """A new key as (the key, shown once; its hash, stored; its first characters, shown in lists)."""
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    return key, api_key_hash(key), key[:8]


def networks_parse(text: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """CIDR ranges written one per line or comma-separated ("10.0.0.0/8, 2001:db8::/32"); a bare address is a
    range of one. A wrong entry raises ValidationError naming it."""
    networks = []
    for entry in text.replace(",", "\n").split():
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValidationError(
                {"allowed_networks": _("%(entry)s is not an IP range (e.g. 10.0.0.0/8).") % {"entry": entry}}
            ) from None
    return networks


def address_allowed(address: str, networks_text: str) -> bool:
    """Is the client's address inside one of the ranges? Empty ranges allow every address."""
    networks = networks_parse(networks_text) if networks_text.strip() else []
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == network.version and ip in network for network in networks)


class ApiKeyHolder(models.Model):
    """What every holder of an API key carries: the key's hash and first characters, the previous key's
    hash and the end of its overlap after a rotation, an expiry, the IP ranges allowed, when last used."""

    api_key_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    api_key_prefix = models.CharField(_("key starts with"), max_length=8, blank=True, editable=False)
    previous_key_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    previous_key_until = models.DateTimeField(
        _("previous key works until"), null=True, blank=True, editable=False
    )
    key_expires_at = models.DateTimeField(
        _("key expires at"),
        null=True,
        blank=True,
        help_text=_("After this moment the key is refused; empty: it does not expire."),
    )
    allowed_networks = models.TextField(
        _("allowed IP ranges"),
        blank=True,
        help_text=_("CIDR ranges, one per line or comma-separated (10.1.0.0/16); empty: from any address."),
    )
    key_last_used_at = models.DateTimeField(_("key last used"), null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        networks_parse(self.allowed_networks or "")


class ApiKeyEventKind(models.TextChoices):
    CREATED = "created", _("key created")
    ROTATED = "rotated", _("key rotated")
    REFUSED = "refused", _("key refused")


class ApiKeyEvent(models.Model):
    """The API-key audit trail: each key made, rotated, or refused for its limits, per holder."""

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    kind = models.CharField(_("event"), max_length=16, choices=ApiKeyEventKind.choices)
    holder_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, verbose_name=_("kind of holder"), related_name="+"
    )
    holder_id = models.PositiveBigIntegerField(_("holder id"))
    holder_name = models.CharField(_("holder"), max_length=200)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    detail = models.CharField(_("detail"), max_length=300, blank=True)

    class Meta:
        app_label = "identity"
        ordering = ["-at", "-pk"]
        verbose_name = _("API key event")
        verbose_name_plural = _("API key events")
        indexes = [
            models.Index(fields=["holder_type", "holder_id", "-at"], name="identity_apikey_holder"),
            # The audit trail of a user: the keys they made and rotated (portal.grant_selectors.audit_query).
            models.Index(fields=["actor", "-at"], name="identity_apikey_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.holder_name}: {self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


def api_key_event_record(
    *, holder: Model, kind: str, actor: Any = None, address: str | None = None, detail: str = ""
) -> ApiKeyEvent:
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    try:
        address = str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        address = None
    return ApiKeyEvent.objects.create(
        kind=kind,
        holder_type=ContentType.objects.get_for_model(holder, for_concrete_model=False),
        holder_id=holder.pk,
        holder_name=str(holder)[:200],
        actor=actor,
        ip_address=address,
        detail=detail[:300],
    )


def api_key_rotation_overlap_default() -> timedelta:
    return timedelta(hours=settings.API_KEY_ROTATION_OVERLAP_HOURS)


@transaction.atomic
def api_key_rotate(
    *,
    holder: ApiKeyHolder,
    prefix: str,
    actor: Any,
    overlap: timedelta = timedelta(0),
    address: str | None = None,
) -> str:
    """A new key for the holder, returned once and stored only as its hash. With an overlap the old key keeps
    working until `now + overlap`, then stops; without, it stops at once. Written to the key trail.
    The caller checks the actor's permission (each holder's app has its own)."""
    if overlap < timedelta(0):
        raise ValidationError({"overlap_hours": _("The overlap cannot be negative.")})
    model = type(holder)
    locked = model.objects.select_for_update().get(pk=holder.pk)
    had_key = bool(locked.api_key_hash)
    if had_key and overlap > timedelta(0):
        holder.previous_key_hash = locked.api_key_hash
        holder.previous_key_until = timezone.now() + overlap
    else:
        holder.previous_key_hash, holder.previous_key_until = "", None
    key, holder.api_key_hash, holder.api_key_prefix = api_key_new(prefix=prefix)
    holder.save(update_fields=["api_key_hash", "api_key_prefix", "previous_key_hash", "previous_key_until"])
    if had_key:
        detail = (
            _("The previous key works until %(until)s.") % {"until": holder.previous_key_until.isoformat()}
            if holder.previous_key_until
            else _("The previous key stopped at once.")
        )
    else:
        detail = ""
    api_key_event_record(
        holder=holder,
        kind=ApiKeyEventKind.ROTATED if had_key else ApiKeyEventKind.CREATED,
        actor=actor,
        address=address,
        detail=str(detail) + f" {_('New key starts with')} {holder.api_key_prefix}.",
    )
    return key


def api_key_holder(holders: QuerySet[Any], key: str | None) -> Model | None:
    """The holder (among `holders`) whose current key this is, or None; no limits are applied (use
    `api_key_authenticate` for a request)."""
    if not key:
        return None
    return holders.filter(api_key_hash=api_key_hash(key)).first()


def _refuse(holder: Model, reason: str, address: str) -> None:
    # The client is told only "unauthorized"; the reason is for the operators and the trail.
    log.warning("API key of %s refused from %s: %s", holder, address, reason)
    api_key_event_record(holder=holder, kind=ApiKeyEventKind.REFUSED, address=address, detail=reason)


def request_address(request: Any) -> str:
    """The client's address by the portal's trusted-proxy rule (django-axes' middleware applies it as
    `portal.security.client_ip_address`), else REMOTE_ADDR."""
    return getattr(request, "axes_ip_address", None) or request.META.get("REMOTE_ADDR", "")


def api_key_authenticate(holders: QuerySet[Any], key: str | None, remote_addr: str) -> Model | None:
    """The holder (among `holders`, e.g. the active ones) this key lets in from `remote_addr`, or None.

    The key is the holder's current key, or its previous one during the overlap of a rotation; the holder's
    key must not have expired and the address must lie in its allowed ranges. A refusal of a known key is
    logged and written to the key trail with its reason; the caller answers 401 without saying why."""
    if not key:
        return None
    digest = api_key_hash(key)
    holder = holders.filter(Q(api_key_hash=digest) | Q(previous_key_hash=digest)).first()
    if holder is None:
        return None
    now = timezone.now()
    if holder.api_key_hash != digest and (
        holder.previous_key_until is None or holder.previous_key_until <= now
    ):
        _refuse(holder, "a rotated-out key (its overlap ended)", remote_addr)
        return None
    if holder.key_expires_at is not None and holder.key_expires_at <= now:
        _refuse(holder, "an expired key", remote_addr)
        return None
    try:
        allowed = address_allowed(remote_addr, holder.allowed_networks or "")
    except ValidationError:  # ranges stored before a check: refuse rather than open
        allowed = False
    if not allowed:
        _refuse(holder, "an address outside the allowed IP ranges", remote_addr)
        return None
    if holder.key_last_used_at is None or holder.key_last_used_at < now - LAST_USED_RESOLUTION:
        type(holder).objects.filter(pk=holder.pk).update(key_last_used_at=now)
        holder.key_last_used_at = now
    return holder
