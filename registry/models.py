"""The social registry: locations, individuals, households and their members."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Q
from django.db.models.functions import Upper
from simple_history.models import HistoricalRecords

PATH_STEP = 8  # each level adds an 8-digit zero-padded id and a dot to the path


def location_path_segment(pk: int) -> str:
    return f"{pk:0{PATH_STEP}d}."


class LocationLevel(models.Model):
    """Names of the levels of the location tree (region, district, ward, village...)."""

    depth = models.PositiveSmallIntegerField(unique=True, help_text="0 for the top level")
    name = models.CharField(max_length=64)
    history = HistoricalRecords()

    class Meta:
        ordering = ["depth"]

    def __str__(self) -> str:
        return f"{self.depth}: {self.name}"


class Location(models.Model):
    """A node of the administrative tree.

    `path` is a materialised path of zero-padded ids ("00000001.00000007."), so
    "this location and everything under it" is one indexed prefix match.
    """

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=255, editable=False, default="")
    depth = models.PositiveSmallIntegerField(editable=False, default=0)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["path"]
        indexes = [
            # varchar_pattern_ops lets PostgreSQL use the index for LIKE 'prefix%'
            # whatever the collation; other databases ignore the opclass.
            models.Index(fields=["path"], name="location_path_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["depth", "name"], name="location_depth_name_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def level_name(self) -> str:
        level = LocationLevel.objects.filter(depth=self.depth).first()
        return level.name if level else f"Level {self.depth}"

    def clean(self) -> None:
        if self.parent_id and self.pk:
            if self.parent_id == self.pk:
                raise ValidationError({"parent": "A location cannot be its own parent."})
            parent_path = Location.objects.filter(pk=self.parent_id).values_list("path", flat=True).first()
            if parent_path and self.path and parent_path.startswith(self.path):
                raise ValidationError(
                    {"parent": f"{self.parent} lies under {self.name}: that would make a cycle."}
                )

    def save(self, *args, **kwargs) -> None:
        """Keep path and depth right; moving a node rewrites its subtree in one UPDATE."""
        from registry.services import location_rebuild_path

        with transaction.atomic():
            super().save(*args, **kwargs)
            location_rebuild_path(location=self)


class Sex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"
    OTHER = "X", "Other / not stated"


class IndividualStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DECEASED = "deceased", "Deceased"
    MOVED = "moved", "Moved away"


class RegistrationSource(models.TextChoices):
    MANUAL = "manual", "Entered in the portal"
    UPLOAD = "upload", "File upload"
    API = "api", "API / field app"
    GENERATED = "generated", "Generated demo data"


class Individual(models.Model):
    """A person known to the registry, beneficiary or not."""

    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    other_names = models.CharField(max_length=200, blank=True)
    sex = models.CharField(max_length=1, choices=Sex.choices)
    birth_date = models.DateField(null=True, blank=True)
    birth_date_estimated = models.BooleanField(default=False)
    phone = models.CharField(max_length=32, blank=True)
    # Served by individual_location_idx (location, status): a second index would only slow bulk writes.
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="individuals", db_index=False
    )
    registration_date = models.DateField(default=date.today)
    registration_source = models.CharField(
        max_length=16, choices=RegistrationSource.choices, default=RegistrationSource.MANUAL
    )
    status = models.CharField(
        max_length=16, choices=IndividualStatus.choices, default=IndividualStatus.ACTIVE
    )
    data = models.JSONField(default=dict, blank=True, help_text="Custom fields (registry schema)")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        # Each index is paid by every row an upload or the generator writes (a million rows: about 3 s per
        # index), so only indexes a screen uses, each as cheap to maintain as it can be:
        # - names: one (family, given, birth date, location) and one given-name index on UPPER(name) in the
        #   "C" collation (bytewise, the cheapest comparison). They serve prefix search (LIKE 'OKA%'), an upload's
        #   matching of people (names, birth date and location: one probe per row, migration 0010) and the
        #   name order of lists (registry.selectors.name_order_key); created by migrations 0007 and 0010.
        # - status and registration source: partial indexes on the values that are rare by nature (people
        #   who died or moved; registrations not from a file), the ones a filter needs an index for; a filter
        #   on the common value reads the list's own order and stops at a page. Rows an upload writes (active,
        #   from a file) enter neither.
        # - sex (two or three values) is never selective enough for one.
        indexes = [
            models.Index(
                Upper("family_name"),
                Upper("given_name"),
                F("birth_date"),
                F("location"),
                name="individual_name_idx",
            ),
            models.Index(Upper("given_name"), name="individual_given_idx"),
            models.Index(fields=["location", "status"], name="individual_location_idx"),
            models.Index(fields=["birth_date"], name="individual_birth_date_idx"),
            models.Index(fields=["status"], condition=~Q(status="active"), name="individual_rare_status_idx"),
            models.Index(fields=["registration_date"], name="individual_registered_idx"),
            models.Index(
                fields=["registration_source"],
                condition=~Q(registration_source="upload"),
                name="individual_rare_source_idx",
            ),
            # The registry API's "modified since" pages (keyset on updated_at, id).
            models.Index(fields=["updated_at", "id"], name="individual_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.given_name, self.other_names, self.family_name) if part)

    def age(self, on: date | None = None) -> int | None:
        if not self.birth_date:
            return None
        on = on or date.today()
        return (
            on.year
            - self.birth_date.year
            - ((on.month, on.day) < (self.birth_date.month, self.birth_date.day))
        )


class DocumentType(models.TextChoices):
    NATIONAL_ID = "national_id", "National ID"
    VOTER_CARD = "voter_card", "Voter card"
    BIRTH_CERTIFICATE = "birth_certificate", "Birth certificate"
    PASSPORT = "passport", "Passport"
    REFUGEE_ID = "refugee_id", "Refugee ID"
    SOCIAL_SECURITY = "social_security", "Social security number"


# The references of people and households to locations, and of documents and memberships to people and
# households, are database FK constraints (registry 0008): a row pointing at nothing cannot be stored by any
# path, present or future. The bulk writes (registry/bulk.py), which write a million of them at once for an
# upload, keep them fast by writing in parent-key order and checking the constraints together at the end.
class IdentityDocument(models.Model):
    individual = models.ForeignKey(Individual, on_delete=models.CASCADE, related_name="documents")
    doc_type = models.CharField("type", max_length=32, choices=DocumentType.choices)
    value = models.CharField(max_length=64)
    history = HistoricalRecords()

    class Meta:
        # Value first: the one index serves both "this number, any type" (search) and "this type and
        # number" (duplicates); a second index on value alone cost every uploaded row another insert.
        # varchar_pattern_ops: the same index serves "numbers starting with" (LIKE 'prefix%') whatever the
        # database's collation, as well as equality (registry.selectors.document_number_condition).
        constraints = [
            models.UniqueConstraint(
                fields=["value", "doc_type"],
                name="identity_document_unique",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_doc_type_display()} {self.value}"


class Household(models.Model):
    """A group of people living together; its size is derived from its current members."""

    code = models.CharField(max_length=64)  # unique: household_code_unique (Meta)
    # household_location_idx serves it.
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="households", db_index=False
    )
    address = models.CharField(max_length=255, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    data = models.JSONField(default=dict, blank=True, help_text="Custom fields (household schema)")
    size = models.PositiveSmallIntegerField(
        default=0, editable=False, help_text="Current members; kept by the services, never typed"
    )
    registration_date = models.DateField(default=date.today)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        indexes = [
            models.Index(fields=["location"], name="household_location_idx"),
            models.Index(fields=["size"], name="household_size_idx"),
            models.Index(fields=["registration_date"], name="household_registered_idx"),
            # The registry API's "modified since" pages (keyset on updated_at, id).
            models.Index(fields=["updated_at", "id"], name="household_updated_idx"),
        ]
        constraints = [
            # One index for the code, not two: with varchar_pattern_ops the unique index serves equality (the
            # admin's search, the upload's matching) and prefixes (the "code starts with" filter) alike.
            models.UniqueConstraint(
                fields=["code"], name="household_code_unique", opclasses=["varchar_pattern_ops"]
            ),
        ]

    def __str__(self) -> str:
        return self.code


class HouseholdRole(models.TextChoices):
    HEAD = "head", "Head"
    SPOUSE = "spouse", "Spouse / partner"
    CHILD = "child", "Child"
    GRANDCHILD = "grandchild", "Grandchild"
    PARENT = "parent", "Parent"
    OTHER_RELATIVE = "other_relative", "Other relative"
    NON_RELATIVE = "non_relative", "Non-relative"


class HouseholdMember(models.Model):
    """Membership of a person in a household; ended memberships keep the move on record."""

    # The (household, end_date) and (individual, end_date) indexes serve these keys.
    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    individual = models.ForeignKey(
        Individual, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    role = models.CharField(max_length=16, choices=HouseholdRole.choices)
    is_primary_recipient = models.BooleanField(default=False)
    start_date = models.DateField(default=date.today)
    end_date = models.DateField(null=True, blank=True, help_text="Set when the person left")
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["individual"], condition=Q(end_date__isnull=True), name="member_one_household"
            ),
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(end_date__isnull=True, role="head"),
                name="household_one_head",
            ),
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(end_date__isnull=True, is_primary_recipient=True),
                name="household_one_primary_recipient",
            ),
        ]
        indexes = [
            models.Index(fields=["household", "end_date"], name="member_household_idx"),
            models.Index(fields=["individual", "end_date"], name="member_individual_idx"),
            models.Index(
                fields=["role", "individual"],
                condition=Q(end_date__isnull=True),
                name="member_current_role_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.individual} — {self.get_role_display()} of {self.household}"


class SchemaKind(models.TextChoices):
    INDIVIDUAL = "individual", "Individuals"
    HOUSEHOLD = "household", "Households"


class RegistrySchema(models.Model):
    """The JSON Schema of the custom fields of individuals or of households, edited in the admin."""

    kind = models.CharField(max_length=16, choices=SchemaKind.choices, unique=True)
    schema = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Custom fields of {self.get_kind_display().lower()}"


class SavedSearch(models.Model):
    """A named advanced search a user can run again."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="saved_searches")
    name = models.CharField(max_length=100)
    dataset = models.CharField(max_length=16, choices=SchemaKind.choices, default=SchemaKind.INDIVIDUAL)
    query = models.TextField(help_text="The search's query string")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "dataset", "name"], name="saved_search_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class SearchColumns(models.Model):
    """The columns a user chose for the advanced search's result table of a dataset (remembered)."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="search_columns")
    dataset = models.CharField(max_length=16, choices=SchemaKind.choices)
    columns = models.JSONField(default=list, help_text="Column names, in the table's order")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "dataset"], name="search_columns_one_per_dataset"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.dataset}"


# Partner systems of the registry API (their keys, scope and call trail): imported here so Django finds them.
from registry.api_clients import RegistryApiCall, RegistryApiClient  # noqa: E402, F401
