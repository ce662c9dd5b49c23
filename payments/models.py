"""Payment plans, cycles, payment points, payrolls (a state machine) and their benefit lines."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition
from simple_history.models import HistoricalRecords

from identity.apikeys import ApiKeyHolder


class Frequency(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    BIMONTHLY = "bimonthly", "Every two months"
    QUARTERLY = "quarterly", "Quarterly"
    ONCE = "once", "Once"


class PaymentPlan(models.Model):
    """How much each beneficiary of a benefit plan receives: a formula over a subgroup chosen by a filter."""

    benefit_plan = models.ForeignKey(
        "programs.BenefitPlan", on_delete=models.PROTECT, related_name="payment_plans"
    )
    name = models.CharField(max_length=200)
    amount_formula = models.TextField(help_text="e.g. 150 + 25 * min(household_size, 6)")
    filter_expression = models.TextField(
        blank=True,
        default='status == "active"',
        help_text='Who is paid, e.g. status == "active"; empty: everyone',
    )
    currency = models.CharField(max_length=3, default="USD")
    frequency = models.CharField(max_length=16, choices=Frequency.choices, default=Frequency.MONTHLY)
    per_transaction_limit = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Lines above it are held for approval",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["benefit_plan", "name"]
        constraints = [
            models.UniqueConstraint(fields=["benefit_plan", "name"], name="payment_plan_unique_name"),
            models.CheckConstraint(
                condition=Q(per_transaction_limit__isnull=True) | Q(per_transaction_limit__gt=0),
                name="payment_plan_limit_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.benefit_plan.code})"

    def clean(self) -> None:
        if not self.benefit_plan_id:
            return
        from payments.expressions import payment_expressions_check

        payment_expressions_check(
            plan=self.benefit_plan,
            amount_formula=self.amount_formula,
            filter_expression=self.filter_expression,
        )


class PaymentCycle(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200, blank=True)
    start_date = models.DateField()
    end_date = models.DateField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")), name="payment_cycle_period"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "The end date must not be before the start date."})


class PaymentPointType(models.TextChoices):
    BANK = "bank", "Bank"
    MOBILE_MONEY = "mobile_money", "Mobile money"
    CASH_AGENT = "cash_agent", "Cash agent"


class PaymentPoint(ApiKeyHolder):
    """A payment provider or point: who hands the money over, where; it reports back through the API with
    its API key (identity.apikeys: hash, rotation overlap, expiry, IP ranges)."""

    name = models.CharField(max_length=200, unique=True)
    point_type = models.CharField("type", max_length=16, choices=PaymentPointType.choices)
    locations = models.ManyToManyField("registry.Location", blank=True, related_name="+")
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords(m2m_fields=[])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PayrollStatus(models.TextChoices):
    GENERATING = "generating", "Generating"
    DRAFT = "draft", "Draft"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    APPROVED = "approved", "Approved"
    SENT = "sent", "Sent to the provider"
    RECONCILING = "reconciling", "Reconciling"
    RECONCILED = "reconciled", "Reconciled"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Generation failed"


# States in which the provider may report payments.
PAYABLE_STATES = (PayrollStatus.SENT, PayrollStatus.RECONCILING)


class Payroll(models.Model):
    """One payment plan paid for one cycle (through one payment point): a Benefit line per beneficiary."""

    payment_plan = models.ForeignKey(PaymentPlan, on_delete=models.PROTECT, related_name="payrolls")
    cycle = models.ForeignKey(PaymentCycle, on_delete=models.PROTECT, related_name="payrolls")
    payment_point = models.ForeignKey(
        PaymentPoint, null=True, blank=True, on_delete=models.PROTECT, related_name="payrolls"
    )
    name = models.CharField(max_length=200, blank=True)
    status = FSMField(max_length=20, choices=PayrollStatus.choices, default=PayrollStatus.GENERATING)
    # The formula and filter as they were when the payroll was generated.
    amount_formula = models.TextField(blank=True)
    filter_expression = models.TextField(blank=True)
    payment_date = models.DateField(help_text="Reference date of the formula (ages, today())")
    carried_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="carried_into"
    )
    # The scope it was generated for: the locations of the officer who generated it; none: plan-wide.
    locations = models.ManyToManyField(
        "registry.Location",
        blank=True,
        related_name="+",
        verbose_name="generated for locations",
        help_text="The generating officer's locations; empty: every location of the plan",
    )
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        permissions = [("approve_payroll", "Can approve payrolls")]

    def __str__(self) -> str:
        return self.name or f"Payroll #{self.pk}"

    def scope_label(self) -> str:
        """Where it pays: "North, South-East", or every location of the plan."""
        names = [location.name for location in self.locations.order_by("path")] if self.pk else []
        return ", ".join(names) if names else "every location of the plan"

    # Transitions guard the states; services check who may call them.

    @transition(field=status, source=PayrollStatus.GENERATING, target=PayrollStatus.DRAFT)
    def generated(self) -> None:
        pass

    @transition(field=status, source=PayrollStatus.GENERATING, target=PayrollStatus.FAILED)
    def generation_failed(self) -> None:
        pass

    @transition(field=status, source=PayrollStatus.FAILED, target=PayrollStatus.GENERATING)
    def regenerate(self) -> None:
        self.error = ""

    @transition(field=status, source=PayrollStatus.DRAFT, target=PayrollStatus.AWAITING_APPROVAL)
    def submit(self) -> None:
        pass

    @transition(field=status, source=PayrollStatus.AWAITING_APPROVAL, target=PayrollStatus.APPROVED)
    def approve(self) -> None:
        pass

    @transition(field=status, source=PayrollStatus.AWAITING_APPROVAL, target=PayrollStatus.REJECTED)
    def reject(self) -> None:
        pass

    @transition(field=status, source=PayrollStatus.APPROVED, target=PayrollStatus.SENT)
    def send(self) -> None:
        pass

    @transition(field=status, source=PayrollStatus.SENT, target=PayrollStatus.RECONCILING)
    def start_reconciling(self) -> None:
        pass

    @transition(field=status, source=PAYABLE_STATES, target=PayrollStatus.RECONCILED)
    def close_reconciled(self) -> None:
        pass

    @transition(
        field=status,
        source=[PayrollStatus.DRAFT, PayrollStatus.AWAITING_APPROVAL, PayrollStatus.FAILED],
        target=PayrollStatus.CANCELLED,
    )
    def cancel(self) -> None:
        pass


class BenefitStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    HELD = "held", "Held"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"
    CARRIED = "carried", "Carried into another payroll"
    CANCELLED = "cancelled", "Cancelled"


# A line no longer counts against the one-payment-per-cycle rule in these states (see benefit_one_per_cycle).
INACTIVE_LINE_STATES = (BenefitStatus.CARRIED, BenefitStatus.CANCELLED)


class Benefit(models.Model):
    """One payment to one beneficiary in one payroll (a bill): amount issued, what the provider reported."""

    # No database FK checks on the payroll and the beneficiary: each would cost a trigger and a row lock per
    # line of a million-line INSERT ... SELECT that reads them from those very tables. Django keeps
    # PROTECT / CASCADE, and payrolls are never deleted.
    payroll = models.ForeignKey(
        Payroll, on_delete=models.CASCADE, related_name="benefits", db_index=False, db_constraint=False
    )
    beneficiary = models.ForeignKey(
        "programs.Beneficiary",
        on_delete=models.PROTECT,
        related_name="benefits",
        db_index=False,
        db_constraint=False,
    )
    # A copy of the payroll's cycle, for the one-payment-per-cycle constraint.
    cycle = models.ForeignKey(
        PaymentCycle, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    recipient = models.ForeignKey(
        "registry.Individual",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    location = models.ForeignKey(
        "registry.Location", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    reference = models.CharField(max_length=40)  # unique: see Meta (no LIKE index beside the unique one)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    status = models.CharField(max_length=16, choices=BenefitStatus.choices, default=BenefitStatus.PENDING)
    hold_reason = models.TextField(blank=True)
    amount_paid = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    transaction_id = models.CharField(max_length=100, blank=True)
    failure_reason = models.TextField(blank=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    # Delivery evidence of an in-person payment, from a field app.
    evidence_latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    evidence_longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    evidence_at = models.DateTimeField(null=True, blank=True)
    evidence_agent = models.CharField(max_length=200, blank=True)
    evidence_photo = models.FileField(upload_to="payments/evidence/%Y/%m/", blank=True)

    class Meta:
        # Each index is one that a query uses (payments 0005 dropped the others): the unique reference for the
        # API and the admin's exact search; payroll + status for every per-payroll count and list; the
        # one-per-cycle constraint for the payroll's "already paid this cycle" check; the transaction id of
        # reconciled lines for the admin's exact search (most lines have none: partial).
        constraints = [
            models.UniqueConstraint(fields=["reference"], name="benefit_reference_unique"),
            models.UniqueConstraint(
                fields=["beneficiary", "cycle"],
                condition=~Q(status__in=[BenefitStatus.CARRIED, BenefitStatus.CANCELLED]),
                name="benefit_one_per_cycle",
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0) | Q(status="held"),
                name="benefit_amount_not_negative_unless_held",
            ),
        ]
        indexes = [
            models.Index(fields=["payroll", "status"], name="benefit_payroll_status_idx"),
            # The dashboard's refresh after a reconciliation recounts the lines of some locations of a cycle.
            models.Index(fields=["cycle", "location"], name="benefit_cycle_location_idx"),
            models.Index(
                fields=["transaction_id"], condition=~Q(transaction_id=""), name="benefit_transaction_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class BenefitEventKind(models.TextChoices):
    GENERATED = "generated", _("Generated")
    CARRIED_IN = "carried_in", _("Carried in from an earlier payroll")
    APPROVED = "approved", _("Approved for payment")
    RELEASED = "released", _("Held line released")
    PAID = "paid", _("Reported paid")
    FAILED = "failed", _("Reported failed")
    CARRIED = "carried", _("Carried into another payroll")
    CANCELLED = "cancelled", _("Cancelled")
    REISSUE_APPROVED = "reissue_approved", _("Re-issue into the next payroll approved")
    REISSUED = "reissued", _("Re-issued into another payroll")
    REISSUED_IN = "reissued_in", _("Re-issued from a failed line")


class BenefitEvent(models.Model):
    """One step of one payment line's story: what happened, status before and after, the amount, who, when.

    Lines are millions: these rows are written set-based (INSERT ... SELECT over the lines an UPDATE
    changes, in the same transaction), never one history row per line from a Python loop.
    """

    # Audit references, as in simple-history's tables: no database FK checks (a row lock each per line).
    benefit = models.ForeignKey(
        Benefit, on_delete=models.CASCADE, related_name="events", db_index=False, db_constraint=False
    )
    payroll = models.ForeignKey(
        Payroll, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    kind = models.CharField(max_length=16, choices=BenefitEventKind.choices)
    from_status = models.CharField(max_length=16, choices=BenefitStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=BenefitStatus.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    amount_paid = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    note = models.TextField(blank=True)
    at = models.DateTimeField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    payment_point = models.ForeignKey(
        PaymentPoint,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
        help_text=_("The provider that reported it through the API"),
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
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["benefit", "at"], name="benefit_event_line_idx"),
            models.Index(fields=["payroll", "kind"], name="benefit_event_payroll_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.at:%Y-%m-%d %H:%M})"


class BenefitReissue(models.Model):
    """A failed payment line to be paid again in the next payroll of its payment plan (a grievance's
    resolution, approved through `payments.benefit_reissue`). Scheduled when the approval runs; issued when
    the next payroll's generation copies it (set-based), which links the new line: each way traceable."""

    original = models.OneToOneField(
        Benefit, on_delete=models.PROTECT, related_name="reissue", verbose_name=_("failed line")
    )
    payment_plan = models.ForeignKey(
        PaymentPlan,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name=_("payment plan"),
    )
    new_line = models.OneToOneField(
        Benefit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reissued_from",
        verbose_name=_("new line"),
    )
    task = models.ForeignKey(
        "approvals.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    reason = models.TextField(_("reason"), blank=True)
    scheduled_at = models.DateTimeField(_("scheduled at"), default=timezone.now)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name = _("payment line re-issue")
        verbose_name_plural = _("payment line re-issues")
        # The generation's lookup: the plan's re-issues still waiting for a payroll.
        indexes = [
            models.Index(
                fields=["payment_plan"],
                name="benefit_reissue_waiting_idx",
                condition=Q(issued_at__isnull=True),
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(new_line__isnull=True) | Q(issued_at__isnull=False),
                name="benefit_reissue_issued_has_line",
            ),
            models.CheckConstraint(
                condition=~Q(new_line=models.F("original")), name="benefit_reissue_not_itself"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_id} → {self.new_line_id or '…'}"


class ProviderRequestKind(models.TextChoices):
    RECONCILIATION = "reconciliation", "Payment results"
    EVIDENCE = "evidence", "Delivery evidence"


class ReconciliationBatch(models.Model):
    """A provider's request (results or evidence), kept under its Idempotency-Key with the answer given."""

    payment_point = models.ForeignKey(PaymentPoint, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(
        max_length=16, choices=ProviderRequestKind.choices, default=ProviderRequestKind.RECONCILIATION
    )
    idempotency_key = models.CharField(max_length=200)
    source = models.CharField(max_length=16, default="api")
    request_hash = models.CharField(max_length=64)
    response = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["payment_point", "kind", "idempotency_key"], name="provider_request_idempotent"
            )
        ]
        indexes = [models.Index(fields=["idempotency_key"], name="provider_request_key_idx")]  # admin search

    def __str__(self) -> str:
        return f"{self.payment_point} {self.idempotency_key}"


# Payment verification: a random sample of a paid payroll's lines, asked whether the money arrived.


class VerificationPlanStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active: sample drawn, being verified")
    FINISHED = "finished", _("Finished")


class VerificationMethod(models.TextChoices):
    PHONE = "phone", _("Phone call")
    VISIT = "visit", _("Visit")
    PROVIDER_DATA = "provider_data", _("Provider data")


class VerificationRecordStatus(models.TextChoices):
    PENDING = "pending", _("To verify")
    RECORDED = "recorded", _("Recorded")


def verification_seed() -> str:
    import secrets

    return secrets.token_hex(8)


class VerificationPlan(models.Model):
    """A check of a paid payroll with the people paid: how large a sample, drawn how, verified by whom.

    The sample size comes from a confidence level and a margin of error (Cochran, with the expected
    proportion and the finite population correction) or is a fixed number; it may be stratified by the
    lines' location at one level, each stratum getting its proportional share. The sample is drawn in the
    database, ordered by a hash of the stored seed and the line's id: random, and the same each time.
    """

    payroll = models.ForeignKey(Payroll, on_delete=models.PROTECT, related_name="verification_plans")
    name = models.CharField(_("name"), max_length=200, blank=True)
    status = FSMField(
        _("status"),
        max_length=16,
        choices=VerificationPlanStatus.choices,
        default=VerificationPlanStatus.DRAFT,
    )
    confidence_level = models.DecimalField(
        _("confidence level"), max_digits=4, decimal_places=3, default=Decimal("0.950")
    )
    margin_of_error = models.DecimalField(
        _("margin of error"),
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
        default=Decimal("0.050"),
        help_text=_("e.g. 0.05 for ±5 points; empty when the sample size is fixed"),
    )
    expected_proportion = models.DecimalField(
        _("expected proportion"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.500"),
        help_text=_("The share expected to have received the money; 0.5 gives the largest sample"),
    )
    finite_population_correction = models.BooleanField(_("finite population correction"), default=True)
    fixed_size = models.PositiveIntegerField(
        _("fixed sample size"), null=True, blank=True, help_text=_("Instead of a margin of error")
    )
    strata_depth = models.PositiveSmallIntegerField(
        _("stratified by location level"),
        null=True,
        blank=True,
        help_text=_("Depth of the location level (0 for the top); empty: not stratified"),
    )
    seed = models.CharField(_("seed"), max_length=32, default=verification_seed, editable=False)
    population_size = models.PositiveIntegerField(_("paid lines"), null=True, blank=True, editable=False)
    sample_size = models.PositiveIntegerField(_("sample size"), null=True, blank=True, editable=False)
    verifiers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="verification_plans", verbose_name=_("verifiers")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(m2m_fields=[])

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("verification plan")
        verbose_name_plural = _("verification plans")
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence_level__gt=Decimal("0.5")) & Q(confidence_level__lt=1),
                name="verification_confidence_range",
            ),
            models.CheckConstraint(
                condition=Q(margin_of_error__isnull=True)
                | (Q(margin_of_error__gt=0) & Q(margin_of_error__lt=Decimal("0.5"))),
                name="verification_margin_range",
            ),
            models.CheckConstraint(
                condition=Q(expected_proportion__gt=0) & Q(expected_proportion__lt=1),
                name="verification_proportion_range",
            ),
            models.CheckConstraint(
                condition=Q(fixed_size__isnull=False, fixed_size__gt=0) | Q(margin_of_error__isnull=False),
                name="verification_size_given",
            ),
        ]
        indexes = [models.Index(fields=["payroll", "status"], name="verif_plan_payroll_idx")]

    def __str__(self) -> str:
        return self.name or f"Verification #{self.pk} of {self.payroll}"

    @transition(field=status, source=VerificationPlanStatus.DRAFT, target=VerificationPlanStatus.ACTIVE)
    def activate(self) -> None:
        pass

    @transition(field=status, source=VerificationPlanStatus.ACTIVE, target=VerificationPlanStatus.FINISHED)
    def finish(self) -> None:
        pass


class VerificationRecord(models.Model):
    """One sampled payment line and what its recipient said: received or not, how much, when, checked how."""

    plan = models.ForeignKey(VerificationPlan, on_delete=models.CASCADE, related_name="records")
    benefit = models.ForeignKey(
        Benefit, on_delete=models.PROTECT, related_name="verifications", verbose_name=_("payment line")
    )
    # Copies of the line's location (the scope) and of its stratum, set when the sample is drawn.
    location = models.ForeignKey(
        "registry.Location", on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    stratum = models.ForeignKey(
        "registry.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    verifier = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("verifier"),
    )
    amount_paid = models.DecimalField(_("amount paid"), max_digits=14, decimal_places=2)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=VerificationRecordStatus.choices,
        default=VerificationRecordStatus.PENDING,
    )
    received = models.BooleanField(_("received"), null=True, blank=True)
    amount_received = models.DecimalField(
        _("amount received"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    received_on = models.DateField(_("date received"), null=True, blank=True)
    method = models.CharField(_("checked by"), max_length=16, choices=VerificationMethod.choices, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    discrepancy = models.BooleanField(_("discrepancy"), default=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["plan", "pk"]
        verbose_name = _("verification record")
        verbose_name_plural = _("verification records")
        constraints = [
            models.UniqueConstraint(fields=["plan", "benefit"], name="verification_line_once_per_plan"),
            models.CheckConstraint(
                condition=Q(amount_received__isnull=True) | Q(amount_received__gte=0),
                name="verification_amount_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(status=VerificationRecordStatus.PENDING)
                | (Q(received__isnull=False) & ~Q(method="") & Q(recorded_at__isnull=False)),
                name="verification_recorded_complete",
            ),
        ]
        indexes = [
            models.Index(fields=["plan", "status"], name="verif_record_plan_idx"),
            models.Index(fields=["verifier", "status"], name="verif_record_verifier_idx"),
            models.Index(fields=["plan", "discrepancy"], name="verif_record_disc_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.benefit} ({self.get_status_display()})"
