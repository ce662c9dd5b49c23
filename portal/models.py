"""Users' profiles: contact, language and the locations that scope what they see."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class UserProfile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    phone = models.CharField(max_length=32, blank=True)
    preferred_language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    locations = models.ManyToManyField(
        "registry.Location",
        blank=True,
        related_name="user_profiles",
        help_text="The user sees records in these locations and everything under them. "
        "Administrators see every location.",
    )
    history = HistoricalRecords(m2m_fields=[locations])

    def __str__(self) -> str:
        return f"Profile of {self.user}"
