"""The django-import-export resource of beneficiary files: the template columns of a plan, and an import entry
point that hands the file to the bulk upload pipeline instead of import-export's row-by-row `import_data`.

The admin import screen and the template downloads use it. A file goes through
`import_file`: checked as the validation will read it (so a file that cannot be
read is refused before anything is stored), then `batch_create`, which queues
the background validation; the commit waits for approval on the batch page.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from import_export import fields, resources, widgets

from files.limits import file_size_check
from programs.models import BenefitPlan, PlanType
from uploads.columns import columns_for
from uploads.models import DateFormat, DuplicateMode, FileEncoding, ImportBatch
from uploads.parsing import header_resolve
from uploads.readers import table_open
from uploads.services import ACCEPTED_SUFFIXES, batch_create

User = AbstractBaseUser | AnonymousUser

WIDGETS: dict[str, type[widgets.Widget]] = {
    "date": widgets.DateWidget,
    "boolean": widgets.BooleanWidget,
    "integer": widgets.IntegerWidget,
    "number": widgets.FloatWidget,
}


class BeneficiaryUploadResource(resources.Resource):
    """The columns of a beneficiary file for one benefit plan (built per plan: the custom fields differ).

    Import goes through `import_file`, the bulk pipeline; `import_data` (row by
    row, the whole file in memory as a tablib Dataset) is refused.
    """

    class Meta:
        name = "Beneficiaries"

    def __init__(self, *, plan: BenefitPlan | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        # Without a plan: the columns every plan's file has (no plan.* fields, household columns optional).
        self.columns = columns_for(plan or BenefitPlan(plan_type=PlanType.INDIVIDUAL, beneficiary_schema={}))
        for column in self.columns:
            widget = WIDGETS.get(column.kind, widgets.CharWidget)
            self.fields[column.name] = fields.Field(
                attribute=column.name, column_name=column.name, widget=widget()
            )

    @classmethod
    def get_display_name(cls) -> str:
        return cls._meta.name

    def get_queryset(self) -> list[Any]:
        return []

    # ---- export: the blank template ----------------------------------------

    def template_headers(self) -> list[str]:
        """The template's columns, in order (`uploads.exports` writes them through the one writer)."""
        return [field.column_name for field in self.get_export_fields()]

    # ---- import: the bulk pipeline -----------------------------------------

    def import_data(
        self, dataset: Any, dry_run: bool = False, raise_errors: bool = False, **kwargs: Any
    ) -> Any:
        raise NotImplementedError(
            "Beneficiary files are imported by the bulk upload pipeline, not row by row: "
            "call BeneficiaryUploadResource(plan=...).import_file(...) (the admin import screen and "
            "the import_beneficiaries command do)."
        )

    def import_file(
        self,
        *,
        user: User,
        file: UploadedFile,
        encoding: str = FileEncoding.AUTO,
        date_format: str = DateFormat.ISO,
        duplicate_mode: str = DuplicateMode.SKIP,
    ) -> ImportBatch:
        """Check the file can be read and has this plan's columns, then store it as a batch and queue its
        validation. Raises ValidationError (nothing stored) when it cannot be imported."""
        if self.plan is None:
            raise ValidationError("Choose the benefit plan the file is for.")
        upload_file_check(plan=self.plan, file=file, encoding=encoding)
        return batch_create(
            user=user,
            plan=self.plan,
            file=file,
            encoding=encoding,
            date_format=date_format,
            duplicate_mode=duplicate_mode,
        )


def upload_path_check(*, plan: BenefitPlan, path: Path, encoding: str = FileEncoding.AUTO) -> None:
    """The same checks as `upload_file_check`, on a file already on disk (the `import_beneficiaries` command)."""
    name = path.name
    _suffix_check(name)
    size = path.stat().st_size
    file_size_check(size, name=name)
    if not size:
        raise ValidationError(f"{name} is empty.")
    _table_check(path, name=name, plan=plan, encoding=encoding)


def _suffix_check(name: str) -> None:
    if not name.lower().endswith(ACCEPTED_SUFFIXES):
        accepted = ", ".join(ACCEPTED_SUFFIXES)
        raise ValidationError(f"{name}: upload a .csv or .xlsx file (accepted: {accepted}).")


def upload_file_check(*, plan: BenefitPlan, file: UploadedFile, encoding: str = FileEncoding.AUTO) -> None:
    """Open the file as the validation will and read its header and first data row.

    Refuses, with a message saying what is wrong, a file of the wrong kind or
    size, an empty one or one with only a header, one that cannot be decoded,
    an XLSX that is a zip bomb or declares entities, and unknown, repeated or
    missing required columns. Reads only the start of the file (an XLSX's
    parts are checked before it is opened).
    """
    name = Path(file.name or "upload").name
    _suffix_check(name)
    file_size_check(file.size, name=name)
    if not file.size:
        raise ValidationError(f"{name} is empty.")
    temporary_path = getattr(file, "temporary_file_path", None)
    if temporary_path is not None:
        _table_check(Path(temporary_path()), name=name, plan=plan, encoding=encoding)
        return
    with tempfile.NamedTemporaryFile(suffix=Path(name).suffix) as copy:
        for chunk in file.chunks():
            copy.write(chunk)
        copy.flush()
        _table_check(Path(copy.name), name=name, plan=plan, encoding=encoding)
    file.seek(0)


def _table_check(path: Path, *, name: str, plan: BenefitPlan, encoding: str) -> None:
    try:
        table = table_open(path, encoding=encoding, name=name)
    except ValidationError as exc:
        raise ValidationError(f"{name}: {' '.join(exc.messages)}") from None
    try:
        if not table.header or not any(table.header):
            raise ValidationError(f"{name} is empty: it has no header row.")
        try:
            header_resolve(table.header, columns_for(plan))
        except ValidationError as exc:
            raise ValidationError(f"{name}: {' '.join(exc.messages)}") from None
        try:
            has_data = any(any(cell.strip() for cell in cells) for _number, cells in table.rows)
        except ValidationError as exc:
            raise ValidationError(f"{name}: {' '.join(exc.messages)}") from None
        if not has_data:
            raise ValidationError(f"{name} has a header but no data rows.")
    finally:
        table.close()
