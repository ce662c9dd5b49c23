"""Partner apps and field-agent apps filing tickets through the API: each holds an API key, shown once
when it is made; only its hash is kept (as payment providers' keys)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from simple_history.models import HistoricalRecords

from access.roles import User
from identity.apikeys import api_key_holder, api_key_new


class PartnerChannel(models.TextChoices):
    """A ticket's channel when this partner files it (the values of `grievances.models.Channel`)."""

    PARTNER_API = "partner_api", _lazy("Partner API")
    FIELD_AGENT = "field_agent", _lazy("Field agent")


class GrievancePartner(models.Model):
    """An app allowed to file complaints through the API: a partner organisation or the field agents'."""

    name = models.CharField(_lazy("name"), max_length=120, unique=True)
    channel = models.CharField(
        _lazy("channel"), max_length=16, choices=PartnerChannel.choices, default=PartnerChannel.PARTNER_API
    )
    api_key_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    api_key_prefix = models.CharField(_lazy("key starts with"), max_length=8, blank=True, editable=False)
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
def partner_key_rotate(*, user: User, partner: GrievancePartner) -> str:
    """A new API key for the partner: returned once, stored only as its hash; the old key stops at once."""
    if not (user.is_authenticated and user.is_active and user.has_perm("grievances.change_grievancepartner")):
        raise ValidationError(_("You may not change API partners."))
    key, partner.api_key_hash, partner.api_key_prefix = api_key_new(prefix="gp")
    partner.save(update_fields=["api_key_hash", "api_key_prefix"])
    return key


def partner_by_key(key: str) -> GrievancePartner | None:
    return api_key_holder(GrievancePartner.objects.filter(is_active=True), key)  # type: ignore[return-value]
