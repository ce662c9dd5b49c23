"""Field forms (an XLSForm's id and version, with the mapping of its columns) and the imports they fed."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

IGNORE = ""  # a mapping's target for a column that is read and dropped


class FieldForm(models.Model):
    """One version of a field-collection form, and how the columns of its exports map to the upload's."""

    form_id = models.SlugField(_("form id"), max_length=100, help_text=_("The XLSForm's form_id setting"))
    version = models.CharField(_("version"), max_length=50, help_text=_("The XLSForm's version setting"))
    title = models.CharField(_("title"), max_length=200)
    benefit_plan = models.ForeignKey(
        "programs.BenefitPlan",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("benefit plan"),
        help_text=_("The plan its submissions are uploaded into (its custom fields are in the form)"),
    )
    mapping = models.JSONField(
        _("column mapping"),
        default=dict,
        blank=True,
        help_text=_("Column of the export → column of the upload (empty: ignored)"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["form_id", "-created_at"]
        verbose_name = _("field form")
        verbose_name_plural = _("field forms")
        constraints = [
            models.UniqueConstraint(fields=["form_id", "version"], name="field_form_version_unique")
        ]
        indexes = [models.Index(fields=["benefit_plan", "form_id"], name="field_form_plan_idx")]

    def __str__(self) -> str:
        return f"{self.title} ({self.form_id} v{self.version})"


class FieldImport(models.Model):
    """An export of a field form converted into an upload batch: what came in, how many households."""

    form = models.ForeignKey(
        FieldForm, on_delete=models.PROTECT, related_name="imports", verbose_name=_("form")
    )
    batch = models.OneToOneField(
        "uploads.ImportBatch", on_delete=models.PROTECT, related_name="+", verbose_name=_("upload")
    )
    source_name = models.CharField(_("files received"), max_length=500)
    households = models.PositiveIntegerField(_("households"), default=0)
    members = models.PositiveIntegerField(_("members"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("field import")
        verbose_name_plural = _("field imports")

    def __str__(self) -> str:
        return f"{self.source_name} → {self.batch}"
