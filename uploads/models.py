"""Upload batches (a state machine), their staged rows and the errors found in them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django_fsm import FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords


class BatchState(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded"
    VALIDATING = "validating", "Validating"
    VALIDATED = "validated", "Validated"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    COMMITTING = "committing", "Committing"
    COMMITTED = "committed", "Committed"
    FAILED = "failed", "Failed"


class DuplicateMode(models.TextChoices):
    SKIP = "skip", "Skip duplicates"
    UPDATE = "update", "Update the existing person"
    STOP = "stop", "Stop: duplicates are errors"


class DateFormat(models.TextChoices):
    ISO = "iso", "YYYY-MM-DD (ISO)"
    DAY_FIRST = "dmy", "DD/MM/YYYY (day first; also DD-MM-YYYY, DD.MM.YYYY)"


class FileEncoding(models.TextChoices):
    AUTO = "auto", "Detect"
    UTF8 = "utf-8", "UTF-8"
    UTF16 = "utf-16", "UTF-16"
    CP1252 = "cp1252", "Windows-1252"
    LATIN1 = "latin-1", "Latin-1 (ISO-8859-1)"


class ImportBatch(FSMModelMixin, models.Model):
    """One uploaded file of beneficiaries for a benefit plan, from upload to commit."""

    benefit_plan = models.ForeignKey(
        "programs.BenefitPlan", on_delete=models.PROTECT, related_name="import_batches"
    )
    file = models.FileField(upload_to="uploads/%Y/%m/")
    original_name = models.CharField(max_length=255)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="import_batches"
    )
    encoding = models.CharField(max_length=16, choices=FileEncoding.choices, default=FileEncoding.AUTO)
    detected_encoding = models.CharField(max_length=16, blank=True)
    date_format = models.CharField(max_length=8, choices=DateFormat.choices, default=DateFormat.ISO)
    duplicate_mode = models.CharField(max_length=8, choices=DuplicateMode.choices, default=DuplicateMode.SKIP)
    state = FSMField(max_length=20, choices=BatchState.choices, default=BatchState.UPLOADED, protected=True)
    total_rows = models.PositiveIntegerField(default=0)
    new_rows = models.PositiveIntegerField("new individuals", default=0)
    update_rows = models.PositiveIntegerField("updates", default=0)
    skipped_rows = models.PositiveIntegerField("duplicates skipped", default=0)
    error_rows = models.PositiveIntegerField("rows with errors", default=0)
    duplicate_rows = models.PositiveIntegerField("duplicates found", default=0)
    new_households = models.PositiveIntegerField(default=0)
    new_beneficiaries = models.PositiveIntegerField(default=0)
    first_individual_id = models.BigIntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text="The new people are individuals first_individual_id to last_individual_id, in the file's order",
    )
    last_individual_id = models.BigIntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text="The last new person's id; the ids of rejected or skipped rows in between are unused",
    )
    header = models.JSONField(default=list, blank=True, help_text="The file's header row as read")
    areas = models.ManyToManyField(
        "registry.Location",
        related_name="+",
        blank=True,
        help_text="The uploader's locations when the file was validated (every root location for an uploader "
        "who sees everywhere): its rows lie there, and only users who see all of them see the batch",
    )
    error = models.TextField(blank=True, help_text="Why the file as a whole failed")
    validation_job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    task = models.ForeignKey(
        "approvals.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "upload"
        indexes = [models.Index(fields=["state", "created_at"], name="import_batch_state_idx")]

    def __str__(self) -> str:
        return f"Upload #{self.pk} {self.original_name}"

    @property
    def committable_rows(self) -> int:
        return self.new_rows + self.update_rows

    # Transitions only guard the states; the services check who may call them.

    @transition(
        field=state,
        source=[BatchState.UPLOADED, BatchState.VALIDATED, BatchState.FAILED],
        target=BatchState.VALIDATING,
    )
    def start_validation(self) -> None:
        self.error = ""

    @transition(field=state, source=BatchState.VALIDATING, target=BatchState.VALIDATED)
    def finish_validation(self) -> None:
        pass

    @transition(field=state, source=BatchState.VALIDATED, target=BatchState.AWAITING_APPROVAL)
    def request_commit(self) -> None:
        pass

    @transition(field=state, source=BatchState.AWAITING_APPROVAL, target=BatchState.VALIDATED)
    def withdraw(self) -> None:
        pass

    @transition(field=state, source=BatchState.AWAITING_APPROVAL, target=BatchState.COMMITTING)
    def start_commit(self) -> None:
        pass

    @transition(field=state, source=BatchState.COMMITTING, target=BatchState.COMMITTED)
    def finish_commit(self) -> None:
        pass

    @transition(
        field=state,
        source=[
            BatchState.UPLOADED,
            BatchState.VALIDATING,
            BatchState.AWAITING_APPROVAL,
            BatchState.COMMITTING,
        ],
        target=BatchState.FAILED,
    )
    def fail(self, *, error: str) -> None:
        # Messages may quote a damaged file: keep them printable (PostgreSQL refuses NUL in text).
        self.error = "".join(char if char.isprintable() or char == "\n" else "?" for char in error)[:5000]


class RowStatus(models.TextChoices):
    NEW = "new", "New"
    UPDATE = "update", "Update"
    SKIP = "skip", "Duplicate, skipped"
    ERROR = "error", "Error"


class StagedRow(models.Model):
    """One row of an uploaded file, typed and normalised, waiting for the set-based checks and the commit.

    Plain integer ids instead of foreign keys: the staging table is written with
    COPY and read by SQL, and must not slow either down with constraints.
    """

    batch_id = models.BigIntegerField()
    row_number = models.IntegerField()
    status = models.CharField(max_length=8, choices=RowStatus.choices, default=RowStatus.NEW)
    raw = models.TextField(
        help_text="The row's cells as read, joined by the unit separator (\\x1f), for the rejected-rows file"
    )
    given_name = models.CharField(max_length=100, blank=True)
    family_name = models.CharField(max_length=100, blank=True)
    other_names = models.CharField(max_length=200, blank=True)
    given_key = models.CharField(max_length=100, blank=True)
    family_key = models.CharField(max_length=100, blank=True)
    sex = models.CharField(max_length=1, blank=True)
    birth_date = models.DateField(null=True)
    birth_date_estimated = models.BooleanField(default=False)
    phone = models.CharField(max_length=32, blank=True)
    location_code = models.CharField(max_length=64, blank=True)
    national_id = models.CharField(max_length=64, blank=True)
    voter_card = models.CharField(max_length=64, blank=True)
    birth_certificate = models.CharField(max_length=64, blank=True)
    passport = models.CharField(max_length=64, blank=True)
    refugee_id = models.CharField(max_length=64, blank=True)
    social_security = models.CharField(max_length=64, blank=True)
    household_code = models.CharField(max_length=64, blank=True)
    household_role = models.CharField(max_length=16, blank=True)
    primary_recipient = models.BooleanField(default=False)
    ind_data = models.TextField(default="{}")
    hh_data = models.TextField(default="{}")
    plan_data = models.TextField(default="{}")
    location_id = models.BigIntegerField(null=True)
    match_individual_id = models.BigIntegerField(
        null=True, help_text="The existing person this row duplicates"
    )
    match_kind = models.CharField(
        max_length=32,
        blank=True,
        db_default="",
        help_text="document, name, file:<what>, ambiguous:<what>, or outside (a document of someone outside "
        "the uploader's area)",
    )
    duplicate_of_row = models.IntegerField(null=True)
    existing_household_id = models.BigIntegerField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["batch_id", "row_number"], name="staged_row_unique")]

    def __str__(self) -> str:
        return f"Row {self.row_number} of upload #{self.batch_id}"


class StagedError(models.Model):
    """One problem of one row: which column, what is wrong."""

    batch_id = models.BigIntegerField()
    row_number = models.IntegerField()
    column = models.CharField(max_length=100, blank=True)
    message = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["batch_id", "row_number"], name="staged_error_row_idx")]

    def __str__(self) -> str:
        return f"Row {self.row_number}, {self.column}: {self.message}"
