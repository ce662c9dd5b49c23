"""Writes of field collection: forms and their mappings, and an export converted into an upload batch.

The admin, the tests and the bench call these; each checks the user's right to the form's plan itself.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from access.plans import user_can_manage_plan
from files.limits import file_size_check
from intake.conversion import NAME, export_convert, export_open
from intake.models import IGNORE, FieldForm, FieldImport
from intake.xlsform import mapping_propose
from programs.models import BenefitPlan, PlanStatus
from uploads.columns import columns_for
from uploads.models import DuplicateMode, ImportBatch
from uploads.services import batch_create

User = AbstractBaseUser | AnonymousUser


def _require_manager(user: User, plan: BenefitPlan) -> None:
    if not user_can_manage_plan(user, plan):
        raise ValidationError(
            _("You may not collect data for %(plan)s: you do not manage this plan.") % {"plan": plan}
        )
    if plan.status == PlanStatus.CLOSED:
        raise ValidationError(_("%(plan)s is closed: no one can be added to it.") % {"plan": plan})


def mapping_check(*, plan: BenefitPlan, mapping: object) -> dict[str, str]:
    """A mapping as stored: {export column: upload column or "" to ignore}; errors name the entry."""
    if not isinstance(mapping, dict):
        raise ValidationError({"mapping": _("The mapping must be a JSON object of column → column.")})
    targets = {column.name for column in columns_for(plan)}
    problems = []
    used: dict[str, str] = {}
    for source, target in mapping.items():
        if not isinstance(source, str) or not NAME.match(source):
            problems.append(_("%(source)r is not a column name of an XLSForm export.") % {"source": source})
            continue
        if not isinstance(target, str):
            problems.append(_("%(source)s: the upload column must be text.") % {"source": source})
            continue
        if target != IGNORE and target not in targets:
            problems.append(
                _("%(source)s → %(target)s: the upload has no column %(target)s.")
                % {"source": source, "target": target}
            )
        elif target != IGNORE and target in used:
            problems.append(
                _("%(target)s is mapped from both %(first)s and %(second)s.")
                % {"target": target, "first": used[target], "second": source}
            )
        else:
            used[target] = source
    if problems:
        raise ValidationError({"mapping": problems})
    return dict(mapping)


@transaction.atomic
def field_form_create(
    *,
    user: User,
    plan: BenefitPlan,
    form_id: str,
    version: str,
    title: str,
    mapping: dict[str, str] | None = None,
) -> FieldForm:
    """A form of the plan, its mapping proposed from the XLSForm's names unless given."""
    _require_manager(user, plan)
    if FieldForm.objects.filter(form_id=form_id, version=version).exists():
        raise ValidationError(
            {
                "version": _("Form %(form)s already has a version %(version)s.")
                % {"form": form_id, "version": version}
            }
        )
    proposed = mapping_propose(plan) if not mapping else mapping_check(plan=plan, mapping=mapping)
    return FieldForm.objects.create(
        form_id=form_id, version=version, title=title, benefit_plan=plan, mapping=proposed, created_by=user
    )


@transaction.atomic
def field_form_update(*, user: User, form: FieldForm, title: str, mapping: dict[str, str]) -> FieldForm:
    """Change a form's title and column mapping (the id, version and plan stay: a new version is a new
    form)."""
    form = FieldForm.objects.select_for_update().select_related("benefit_plan").get(pk=form.pk)
    _require_manager(user, form.benefit_plan)
    form.title = title
    form.mapping = mapping_check(plan=form.benefit_plan, mapping=mapping)
    form.save()
    return form


def field_import(
    *,
    user: User,
    form: FieldForm,
    files: list[UploadedFile],
    duplicate_mode: str = DuplicateMode.SKIP,
    background: bool = True,
) -> ImportBatch:
    """Convert an ODK Central or KoboToolbox export of the form into an upload batch and start its
    validation: the same checks, errors, rejected-rows file and commit approval as any upload.

    A problem with the export as a whole (columns the mapping does not know, columns missing, no members)
    is refused before anything is stored; a problem with a row rejects that row in the batch."""
    plan = form.benefit_plan
    _require_manager(user, plan)
    if not files:
        raise ValidationError(_("Choose the export's file (or its two CSV files)."))
    names = [Path(file.name or "export").name for file in files]
    with tempfile.TemporaryDirectory(prefix="intake-") as directory:
        stored = []
        for index, (file, name) in enumerate(zip(files, names, strict=True)):
            file_size_check(file.size, name=name)
            target = Path(directory) / f"source-{index}{Path(name).suffix.lower()[:8]}"
            with target.open("wb") as copy:
                for chunk in file.chunks():
                    copy.write(chunk)
            stored.append((target, name))
        export = export_open(stored)
        converted_path = Path(directory) / "converted.csv"
        try:
            with converted_path.open("w", newline="", encoding="utf-8") as converted:
                counts = export_convert(export, form, converted)
        finally:
            export.close()
        if counts.members == 0 and counts.households == 0:
            raise ValidationError(_("The export holds no submission."))
        upload_name = f"{form.form_id}-v{form.version}-intake.csv"
        with transaction.atomic(), converted_path.open("rb") as handle:
            batch = batch_create(
                user=user,
                plan=plan,
                file=File(handle, name=upload_name),
                date_format="iso",
                duplicate_mode=duplicate_mode,
                background=background,
            )
            FieldImport.objects.create(
                form=form,
                batch=batch,
                source_name=", ".join(names)[:500],
                households=counts.households,
                members=counts.members,
            )
    return batch
