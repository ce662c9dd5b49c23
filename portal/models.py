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
