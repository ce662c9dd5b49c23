"""Which roles must sign in with two factors, and the sign-in audit trail."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class RoleSecurity(models.Model):
    """Sign-in rules of one role (a Django group)."""

    role = models.OneToOneField(
        Group, on_delete=models.CASCADE, related_name="security", verbose_name=_("role")
    )
    two_factor_required = models.BooleanField(
        _("two-factor sign-in required"),
        default=False,
        help_text=_("Holders of this role must sign in with a code from an authenticator app."),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("role sign-in rule")
        verbose_name_plural = _("role sign-in rules")

    def __str__(self) -> str:
        return str(self.role)


class SignInEventKind(models.TextChoices):
    SIGNED_IN = "signed_in", _("signed in")
    SIGN_IN_FAILED = "sign_in_failed", _("sign-in failed")
    SIGNED_OUT = "signed_out", _("signed out")
    TWO_FACTOR_ENROLLED = "two_factor_enrolled", _("two-factor enrolled")
    TWO_FACTOR_VERIFIED = "two_factor_verified", _("two-factor code accepted")
    TWO_FACTOR_FAILED = "two_factor_failed", _("two-factor code refused")
    RECOVERY_CODE_USED = "recovery_code_used", _("recovery code used")
    TWO_FACTOR_RESET = "two_factor_reset", _("two-factor reset by an administrator")
    ROLE_GRANT_ENDED = "role_grant_ended", _("role grant ended")
    SCOPE_GRANT_ENDED = "scope_grant_ended", _("scope grant ended")
    SSO_REFUSED = "sso_refused", _("single sign-on refused")


class SignInEvent(models.Model):
    """One sign-in event: the audit trail of who signed in, failed, enrolled or was reset, when and from where."""

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    kind = models.CharField(_("event"), max_length=32, choices=SignInEventKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sign_in_events",
        verbose_name=_("user"),
    )
    username = models.CharField(_("user name given"), max_length=150, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("done by"),
        help_text=_("The administrator who did it, when not the user."),
    )
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    detail = models.CharField(_("detail"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("sign-in event")
        verbose_name_plural = _("sign-in events")
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["user", "-at"], name="identity_event_user_at"),
            models.Index(fields=["kind", "-at"], name="identity_event_kind_at"),
            models.Index(fields=["username", "-at"], name="identity_event_username_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.username} {self.at:%Y-%m-%d %H:%M}"


class RoleGrantSource(models.TextChoices):
    PORTAL = "portal", _("given in the portal")
    DIRECTORY = "directory", _("single sign-on")


class RoleGrant(models.Model):
    """A role held by a user, with the dates it is in force: who holds what, until when.

    One row per membership of a user in a role (kept in step with the user's groups whichever way they
    change); no dates means from now on and without end. Outside its dates the role gives nothing: access
    (access.roles) and the permission backend leave it out on every request.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_grants", verbose_name=_("user")
    )
    role = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="grants", verbose_name=_("role"))
    starts_on = models.DateField(_("from"), null=True, blank=True)
    ends_on = models.DateField(
        _("until"), null=True, blank=True, help_text=_("The last day the role is in force. Empty: no end.")
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("granted by"),
        help_text=_("Told, with the user, a week before the grant ends when the user has no supervisor."),
    )
    source = models.CharField(
        _("given by"),
        max_length=16,
        choices=RoleGrantSource.choices,
        default=RoleGrantSource.PORTAL,
        help_text=_(
            "Single sign-on: the ministry's directory gave it, and ends it at the next sign-in after "
            "the directory takes it away."
        ),
    )
    notice_sent_on = models.DateField(_("end notice sent on"), null=True, blank=True, editable=False)
    expiry_recorded = models.BooleanField(_("expiry recorded"), default=False, editable=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("role grant")
        verbose_name_plural = _("role grants")
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="identity_rolegrant_one_per_role"),
            models.CheckConstraint(
                condition=models.Q(starts_on__isnull=True)
                | models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="identity_rolegrant_ends_after_start",
                violation_error_message=_("A grant cannot end before it starts."),
            ),
        ]
        indexes = [models.Index(fields=["ends_on"], name="identity_rolegrant_ends_on")]

    def __str__(self) -> str:
        return f"{self.user} — {self.role}"

    def in_force(self, day: Any) -> bool:
        return (self.starts_on is None or self.starts_on <= day) and (
            self.ends_on is None or day <= self.ends_on
        )


class UserSession(models.Model):
    """A signed-in session of a user, so they can see where they are signed in and end the others."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="portal_sessions",
        verbose_name=_("user"),
    )
    session_key = models.CharField(_("session"), max_length=40, unique=True)
    signed_in_at = models.DateTimeField(_("signed in at"), auto_now_add=True)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        indexes = [models.Index(fields=["user", "-signed_in_at"], name="identity_session_user")]

    def __str__(self) -> str:
        return f"{self.user} {self.signed_in_at:%Y-%m-%d %H:%M}"


class DirectoryRoleMapping(models.Model):
    """One value of the directory's role claim and what it gives in the portal: a role, locations, or both.

    Read at each single sign-on: a user gets the roles and locations of every row whose value their role
    claim carries; a user whose claim matches no row with a role is refused.
    """

    claim_value = models.CharField(
        _("claim value"),
        max_length=200,
        help_text=_("A group or role name exactly as the directory sends it, e.g. sp-approvers."),
    )
    role = models.ForeignKey(
        Group,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="directory_mappings",
        verbose_name=_("role"),
    )
    location_codes = models.CharField(
        _("location codes"),
        max_length=1000,
        blank=True,
        help_text=_("Codes of the locations it gives, separated by commas (each with everything under it)."),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("directory role mapping")
        verbose_name_plural = _("directory role mappings")
        ordering = ["claim_value", "role__name"]
        constraints = [
            models.UniqueConstraint(fields=["claim_value", "role"], name="identity_mapping_one_per_role"),
            models.CheckConstraint(
                condition=models.Q(role__isnull=False) | ~models.Q(location_codes=""),
                name="identity_mapping_gives_something",
                violation_error_message=_("A mapping must give a role, locations or both."),
            ),
        ]
        indexes = [models.Index(fields=["claim_value"], name="identity_mapping_claim")]

    def __str__(self) -> str:
        return f"{self.claim_value} → {self.role or self.location_codes}"

    def location_code_list(self) -> list[str]:
        return [code.strip() for code in self.location_codes.split(",") if code.strip()]


class DirectoryIdentity(models.Model):
    """The directory account (issuer and subject) a portal user signs in with through single sign-on."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="directory_identities",
        verbose_name=_("user"),
    )
    issuer = models.CharField(_("issuer"), max_length=300)
    subject = models.CharField(
        _("subject"), max_length=255, help_text=_("The directory's identifier of the account (sub).")
    )
    linked_at = models.DateTimeField(_("linked at"), auto_now_add=True)
    last_sign_in_at = models.DateTimeField(_("last single sign-on"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("directory account")
        verbose_name_plural = _("directory accounts")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="identity_directory_one_account"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ← {self.subject}"


# The API-key trail lives beside the one way to make keys (identity.apikeys): imported so Django finds it.
from identity.apikeys import ApiKeyEvent  # noqa: E402, F401
