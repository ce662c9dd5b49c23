"""Partner apps and field-agent apps filing tickets through the API: each holds an API key, shown once
when it is made; only its hash is kept (as payment providers' keys)."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from simple_history.models import HistoricalRecords

from access.roles import User
from identity.apikeys import ApiKeyHolder, api_key_authenticate, api_key_rotate


class PartnerChannel(models.TextChoices):
    """A ticket's channel when this partner files it (the values of `grievances.models.Channel`)."""

    PARTNER_API = "partner_api", _lazy("Partner API")
    FIELD_AGENT = "field_agent", _lazy("Field agent")


class GrievancePartner(ApiKeyHolder):
    """An app allowed to file complaints through the API: a partner organisation or the field agents'."""

    name = models.CharField(_lazy("name"), max_length=120, unique=True)
    channel = models.CharField(
        _lazy("channel"), max_length=16, choices=PartnerChannel.choices, default=PartnerChannel.PARTNER_API
    )
    is_active = models.BooleanField(_lazy("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        app_label = "grievances"
        ordering = ["name"]
        verbose_name = _lazy("API partner")
        verbose_name_plural = _lazy("API partners")

    def __str__(self) -> str:
        return self.name


@transaction.atomic
def partner_key_rotate(
    *, user: User, partner: GrievancePartner, overlap: timedelta = timedelta(0), address: str | None = None
) -> str:
    """A new API key for the partner: returned once, stored only as its hash; the old key keeps working for
    `overlap` (none: it stops at once). On the key trail."""
    if not (user.is_authenticated and user.is_active and user.has_perm("grievances.change_grievancepartner")):
        raise ValidationError(_("You may not change API partners."))
    return api_key_rotate(holder=partner, prefix="gp", actor=user, overlap=overlap, address=address)


def partner_by_key(key: str, remote_addr: str = "") -> GrievancePartner | None:
    return api_key_authenticate(  # type: ignore[return-value]
        GrievancePartner.objects.filter(is_active=True), key, remote_addr
    )
