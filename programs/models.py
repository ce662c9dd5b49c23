"""Benefit plans (programmes) and their beneficiaries, each a state machine."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition
from simple_history.models import HistoricalRecords


class PlanType(models.TextChoices):
    INDIVIDUAL = "individual", "Individuals"
    HOUSEHOLD = "household", "Households"


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    CLOSED = "closed", "Closed"


class CeilingAction(models.TextChoices):
    CAP = "cap", _("Cap the line at the ceiling")
    HOLD = "hold", _("Hold the line for approval")


class BenefitPlan(models.Model):
    """A programme: whom it serves (individuals or households), how long, how many, its own data fields."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    plan_type = models.CharField("type", max_length=16, choices=PlanType.choices, default=PlanType.HOUSEHOLD)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    max_beneficiaries = models.PositiveIntegerField(
        "maximum number of beneficiaries", null=True, blank=True, help_text="Empty: no maximum"
    )
    ceiling_per_beneficiary = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, help_text="Most one beneficiary may receive"
    )
    ceiling_action = models.CharField(
        _("above the ceiling"),
        max_length=8,
        choices=CeilingAction.choices,
        default=CeilingAction.CAP,
        help_text=_("What a payroll does with a line above the ceiling per beneficiary"),
    )
    institution = models.CharField(max_length=200, blank=True)
    beneficiary_schema = models.JSONField(
        "beneficiary data schema",
        default=dict,
        blank=True,
        help_text="JSON Schema of the data this plan keeps on each beneficiary",
    )
    status = FSMField(max_length=16, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        permissions = [
            ("manage_beneficiaries", "Can manage the plan's beneficiaries"),
            ("request_payments", "Can request payments for the plan"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="benefit_plan_end_after_start",
            ),
        ]
        indexes = [models.Index(fields=["status", "code"], name="benefit_plan_status_idx")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_household(self) -> bool:
        return self.plan_type == PlanType.HOUSEHOLD

    def clean(self) -> None:
        if self.end_date and self.start_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "The end date must not be before the start date."})
        from programs.schemas import plan_schema_check

        plan_schema_check(self.beneficiary_schema)

    # Transitions only guard the states; the services check who may call them.

    @transition(field=status, source=PlanStatus.DRAFT, target=PlanStatus.ACTIVE)
    def activate(self) -> None:
        pass

    @transition(field=status, source=PlanStatus.ACTIVE, target=PlanStatus.CLOSED)
    def close(self) -> None:
        pass


class BeneficiaryStatus(models.TextChoices):
    POTENTIAL = "potential", "Potential"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    GRADUATED = "graduated", "Graduated"
    EXITED = "exited", "Exited"


# Statuses that count against a plan's maximum.
CURRENT_STATUSES = (BeneficiaryStatus.POTENTIAL, BeneficiaryStatus.ACTIVE, BeneficiaryStatus.SUSPENDED)

# transition name -> (source statuses, target status); the FSM below and the set-based services share it.
STATUS_TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "activate": ((BeneficiaryStatus.POTENTIAL,), BeneficiaryStatus.ACTIVE),
    "suspend": ((BeneficiaryStatus.ACTIVE,), BeneficiaryStatus.SUSPENDED),
    "reinstate": ((BeneficiaryStatus.SUSPENDED,), BeneficiaryStatus.ACTIVE),
    "graduate": ((BeneficiaryStatus.ACTIVE,), BeneficiaryStatus.GRADUATED),
    "exit": (
        (BeneficiaryStatus.POTENTIAL, BeneficiaryStatus.ACTIVE, BeneficiaryStatus.SUSPENDED),
        BeneficiaryStatus.EXITED,
    ),
}
TRANSITION_LABELS = {
    "activate": "Activate",
    "suspend": "Suspend",
    "reinstate": "Reinstate",
    "graduate": "Graduate",
    "exit": "Exit",
}


class Beneficiary(models.Model):
    """An individual (individual plans) or a household (household plans) enrolled in a benefit plan."""

    # Every index costs each of the rows a large enrolment writes: the FKs' own indexes are left out
    # where an index below starts with the same column, or made partial where half the rows are NULL.
    benefit_plan = models.ForeignKey(
        BenefitPlan, on_delete=models.PROTECT, related_name="beneficiaries", db_index=False
    )
    individual = models.ForeignKey(
        "registry.Individual",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="beneficiaries",
        db_index=False,
    )
    household = models.ForeignKey(
        "registry.Household",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="beneficiaries",
        db_index=False,
    )
    # The individual's or household's location at enrolment: lists are scoped without joining the registry.
    # A copy, so no database FK check (each costs a row lock per beneficiary in a 500,000-row enrolment);
    # the registry row keeps the real reference and locations are never deleted (PROTECT).
    location = models.ForeignKey(
        "registry.Location", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    status = FSMField(max_length=16, choices=BeneficiaryStatus.choices, default=BeneficiaryStatus.POTENTIAL)
    status_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField()
    enrolled_at = models.DateTimeField()
    # An audit reference, like simple-history's: no database FK check on each enrolled row.
    enrolment_task = models.ForeignKey(
        "approvals.Task",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
        help_text="The approved task that enrolled this beneficiary (who asked, who approved, when)",
    )
    data = models.JSONField(default=dict, blank=True, help_text="Plan-specific data (the plan's schema)")
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "beneficiaries"
        constraints = [
            models.UniqueConstraint(
                fields=["benefit_plan", "individual"],
                condition=Q(individual__isnull=False),
                name="beneficiary_unique_individual",
            ),
            models.UniqueConstraint(
                fields=["benefit_plan", "household"],
                condition=Q(household__isnull=False),
                name="beneficiary_unique_household",
            ),
            models.CheckConstraint(
                condition=Q(individual__isnull=False, household__isnull=True)
                | Q(individual__isnull=True, household__isnull=False),
                name="beneficiary_individual_xor_household",
            ),
        ]
        indexes = [
            models.Index(fields=["benefit_plan", "status"], name="beneficiary_plan_status_idx"),
            models.Index(fields=["location", "benefit_plan"], name="beneficiary_location_idx"),
            models.Index(
                fields=["household"], condition=Q(household__isnull=False), name="beneficiary_household_idx"
            ),
            models.Index(
                fields=["individual"],
                condition=Q(individual__isnull=False),
                name="beneficiary_individual_idx",
            ),
        ]

    def __str__(self) -> str:
        who = self.household if self.household_id else self.individual
        return f"{who} in {self.benefit_plan.code}"

    def clean(self) -> None:
        from programs.schemas import plan_data_validate

        plan_data_validate(self.benefit_plan, self.data)

    # The FSM mirrors STATUS_TRANSITIONS; services call these for single rows and UPDATE set-based for many.

    @transition(field=status, source=BeneficiaryStatus.POTENTIAL, target=BeneficiaryStatus.ACTIVE)
    def activate(self) -> None:
        pass

    @transition(field=status, source=BeneficiaryStatus.ACTIVE, target=BeneficiaryStatus.SUSPENDED)
    def suspend(self) -> None:
        pass

    @transition(field=status, source=BeneficiaryStatus.SUSPENDED, target=BeneficiaryStatus.ACTIVE)
    def reinstate(self) -> None:
        pass

    @transition(field=status, source=BeneficiaryStatus.ACTIVE, target=BeneficiaryStatus.GRADUATED)
    def graduate(self) -> None:
        pass

    @transition(
        field=status,
        source=[BeneficiaryStatus.POTENTIAL, BeneficiaryStatus.ACTIVE, BeneficiaryStatus.SUSPENDED],
        target=BeneficiaryStatus.EXITED,
    )
    def exit(self) -> None:
        pass


class BeneficiaryStatusChange(models.Model):
    """One status change of one beneficiary: from, to, why, when, who asked and which approved task did it.

    Written set-based (INSERT ... SELECT) beside the set-based UPDATE, so bulk changes
    that bypass simple-history stay on the record row by row.
    """

    beneficiary = models.ForeignKey(
        Beneficiary, on_delete=models.CASCADE, related_name="status_changes", db_index=False
    )
    # The plan is a copy of the beneficiary's; user and task are audit references (as in simple-history's
    # tables): no database FK checks, which would cost a row lock each on every row of a bulk change.
    benefit_plan = models.ForeignKey(
        BenefitPlan,
        on_delete=models.CASCADE,
        related_name="status_changes",
        db_index=False,
        db_constraint=False,
    )
    from_status = models.CharField(max_length=16, choices=BeneficiaryStatus.choices)
    to_status = models.CharField(max_length=16, choices=BeneficiaryStatus.choices)
    reason = models.TextField(blank=True)
    changed_at = models.DateTimeField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    task = models.ForeignKey(
        "approvals.Task",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        ordering = ["-changed_at", "-pk"]
        indexes = [
            models.Index(fields=["beneficiary", "changed_at"], name="status_change_beneficiary_idx"),
            models.Index(fields=["benefit_plan", "changed_at"], name="status_change_plan_idx"),
            models.Index(fields=["task"], condition=Q(task__isnull=False), name="status_change_task_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_from_status_display()} → {self.get_to_status_display()}"
