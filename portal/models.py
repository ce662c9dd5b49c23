"""Users' profiles (contact, language, supervisor, the locations that scope them) and scope grants."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
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
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="supervised_profiles",
        verbose_name=_("supervisor"),
        help_text=_(
            "The user's line manager: told, with the user, a week before one of their roles or scopes ends "
            "(the person who granted it when empty)."
        ),
    )
    history = HistoricalRecords(m2m_fields=[locations])

    def __str__(self) -> str:
        return f"Profile of {self.user}"


class ScopeKind(models.TextChoices):
    LOCATION = "location", _("location")
    PLAN = "plan", _("benefit plan")


class ScopeGrant(models.Model):
    """A location or a benefit plan a user is scoped to, with the dates it is in force.

    One row per location on the user's profile and per benefit plan on which the user holds object
    permissions (kept in step with both whichever way they change, as identity.RoleGrant is with roles).
    Outside its dates the scope gives nothing: access leaves it out on every request.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="scope_grants",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("scope"), max_length=8, choices=ScopeKind.choices)
    location = models.ForeignKey(
        "registry.Location",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="scope_grants",
        verbose_name=_("location"),
    )
    benefit_plan = models.ForeignKey(
        "programs.BenefitPlan",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="scope_grants",
        verbose_name=_("benefit plan"),
    )
    starts_on = models.DateField(_("from"), null=True, blank=True)
    ends_on = models.DateField(
        _("until"), null=True, blank=True, help_text=_("The last day the scope is in force. Empty: no end.")
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("granted by"),
    )
    notice_sent_on = models.DateField(_("end notice sent on"), null=True, blank=True, editable=False)
    expiry_recorded = models.BooleanField(_("expiry recorded"), default=False, editable=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("scope grant")
        verbose_name_plural = _("scope grants")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="location", location__isnull=False, benefit_plan__isnull=True)
                    | models.Q(kind="plan", location__isnull=True, benefit_plan__isnull=False)
                ),
                name="portal_scopegrant_one_target",
            ),
            models.UniqueConstraint(
                fields=["user", "location"],
                condition=models.Q(kind="location"),
                name="portal_scopegrant_one_per_location",
            ),
            models.UniqueConstraint(
                fields=["user", "benefit_plan"],
                condition=models.Q(kind="plan"),
                name="portal_scopegrant_one_per_plan",
            ),
            models.CheckConstraint(
                condition=models.Q(starts_on__isnull=True)
                | models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="portal_scopegrant_ends_after_start",
                violation_error_message=_("A grant cannot end before it starts."),
            ),
        ]
        indexes = [
            models.Index(fields=["ends_on"], name="portal_scopegrant_ends_on"),
            models.Index(fields=["kind", "ends_on"], name="portal_scopegrant_kind_ends"),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.target}"

    @property
    def target(self) -> Any:
        return self.location if self.kind == ScopeKind.LOCATION else self.benefit_plan

    def in_force(self, day: Any) -> bool:
        return (self.starts_on is None or self.starts_on <= day) and (
            self.ends_on is None or day <= self.ends_on
        )


class SummaryKind(models.TextChoices):
    INDIVIDUAL = "individual", "Individual"
    HOUSEHOLD = "household", "Household"


class SummaryGrain(models.IntegerChoices):
    """Which location a summary row counts under: the ancestor at the top or second level, or its own.

    The refresh writes every summary three times: per location as registered, then summed up to the
    ancestor at level 1 (districts) and at level 0 (regions), so a national view sums a few thousand rows.
    Rows registered above a grain's level keep their own location.
    """

    TOP = 0, "Top-level ancestor"
    SECOND = 1, "Second-level ancestor"
    LOCATION = 99, "Location as registered"


class RegistrySummary(models.Model):
    """People and households registered, counted per lowest-level location, sex, age band and month.

    Rebuilt set-based by `portal.summaries.summaries_refresh`; the dashboard sums these rows
    instead of counting the registry on each page view. Households leave sex and age band blank.
    """

    kind = models.CharField(max_length=16, choices=SummaryKind.choices)
    grain = models.PositiveSmallIntegerField(choices=SummaryGrain.choices, default=SummaryGrain.LOCATION)
    location = models.ForeignKey(
        "registry.Location", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    location_path = models.CharField(max_length=255, help_text="The location's path, copied: subtree filters")
    sex = models.CharField(max_length=1, blank=True)
    age_band = models.CharField(max_length=8, blank=True)
    registered_month = models.DateField(null=True)
    count = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(
                fields=["grain", "kind", "location_path"],
                name="registry_summary_cover_idx",
                opclasses=["int2_ops", "varchar_pattern_ops", "varchar_pattern_ops"],
                # Covering (PostgreSQL): once vacuumed, a subtree's sums are an index-only scan.
                include=["sex", "age_band", "registered_month", "count"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.count} {self.kind} at {self.location_path}"


class BeneficiarySummary(models.Model):
    """Beneficiaries counted per plan, status, lowest-level location and month of enrolment."""

    benefit_plan = models.ForeignKey(
        "programs.BenefitPlan", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    status = models.CharField(max_length=16)
    grain = models.PositiveSmallIntegerField(choices=SummaryGrain.choices, default=SummaryGrain.LOCATION)
    location = models.ForeignKey(
        "registry.Location", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    location_path = models.CharField(max_length=255)
    enrolled_month = models.DateField(null=True)
    count = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(
                fields=["grain", "location_path"],
                name="beneficiary_summary_cover_idx",
                opclasses=["int2_ops", "varchar_pattern_ops"],
                include=["benefit_plan", "status", "enrolled_month", "count"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.count} {self.status} in plan {self.benefit_plan_id} at {self.location_path}"


class SummaryRefresh(models.Model):
    """One rebuild of the summary tables: the dashboard's "data as of"."""

    refreshed_at = models.DateTimeField()
    seconds = models.FloatField(default=0)
    full = models.BooleanField(
        default=True, help_text="A full rebuild; else an incremental refresh of the keys changed since"
    )
    age_bands_on = models.DateField(
        null=True, help_text="The day age bands were counted on (a full rebuild's; increments keep it)"
    )

    class Meta:
        get_latest_by = "refreshed_at"

    def __str__(self) -> str:
        return f"Summaries as of {self.refreshed_at:%Y-%m-%d %H:%M}"


class PaymentSummary(models.Model):
    """Benefits (payment lines) of issued payrolls counted and summed per plan, cycle, status and location."""

    benefit_plan = models.ForeignKey(
        "programs.BenefitPlan", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    cycle = models.ForeignKey(
        "payments.PaymentCycle", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    cycle_start = models.DateField()
    status = models.CharField(max_length=16)
    grain = models.PositiveSmallIntegerField(choices=SummaryGrain.choices, default=SummaryGrain.LOCATION)
    location = models.ForeignKey(
        "registry.Location", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    location_path = models.CharField(max_length=255)
    count = models.BigIntegerField()
    amount = models.DecimalField(max_digits=18, decimal_places=2, null=True)
    amount_paid = models.DecimalField(max_digits=18, decimal_places=2, null=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["grain", "location_path"],
                name="payment_summary_cover_idx",
                opclasses=["int2_ops", "varchar_pattern_ops"],
                include=["benefit_plan", "cycle", "cycle_start", "status", "count", "amount", "amount_paid"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.count} {self.status} in cycle {self.cycle_id} at {self.location_path}"


class SummaryChangeKind(models.TextChoices):
    REGISTRY = "registry", "People and households"
    PEOPLE_ADDED = "people_added", "New people (an id range), nothing else changed"
    BENEFICIARY = "beneficiary", "Beneficiaries"
    PAYMENT = "payment", "Payment lines"


class SummaryChange(models.Model):
    """A key whose summary rows are stale: written by the apps' writes, consumed by the incremental refresh.

    `scope_id` is the benefit plan (beneficiaries) or the payment cycle (payment lines), None for the
    registry; `location_id` None means every location of that scope. Duplicates are fine: the refresh reads
    the distinct keys and deletes what it read. PEOPLE_ADDED: individuals `first_id` to `last_id` are new
    (with their new households), enrolled in plan `scope_id` if any: their counts are added to the rows.
    """

    kind = models.CharField(max_length=16, choices=SummaryChangeKind.choices)
    scope_id = models.BigIntegerField(null=True)
    location_id = models.BigIntegerField(null=True)
    first_id = models.BigIntegerField(null=True)
    last_id = models.BigIntegerField(null=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.scope_id} at {self.location_id}"
