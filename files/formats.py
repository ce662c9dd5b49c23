"""django-import-export formats that read through the bounded readers and write through the one writer.

An admin using import-export's screens lists these as its `import_formats` and
`export_formats` (and `BoundedImportForm` as its `import_form_class`, which
refuses a file over UPLOADS_MAX_FILE_BYTES before import-export reads it into
memory); `tests/files/test_writers.py` fails for an admin offering another format.
"""

from __future__ import annotations

from typing import Any

import tablib
from import_export.formats import base_formats
from import_export.forms import ImportForm

from files.limits import file_size_check
from files.readers import content_read
from files.spreadsheets import CSV_CONTENT_TYPE, Sheet, csv_text, xlsx_bytes


def tablib_dataset(header: list[str], rows: list[list[str]]) -> tablib.Dataset:
    """Rows read by `files.readers` as a tablib Dataset, each padded or cut to the header's width."""
    width = len(header)
    dataset = tablib.Dataset(headers=header)
    for cells in rows:
        dataset.append((cells + [""] * (width - len(cells)))[:width])
    return dataset


class CSV(base_formats.CSV):
    """CSV in (bounded, UTF-8, comma, semicolon or tab) and out (neutralised, with a BOM)."""

    CONTENT_TYPE = CSV_CONTENT_TYPE

    def createtablib_dataset(self, in_stream: Any, **kwargs: Any) -> tablib.Dataset:
        return tablib_dataset(*content_read(in_stream, suffix=".csv"))

    def export_data(self, dataset: tablib.Dataset, **kwargs: Any) -> str:
        return csv_text(dataset.headers, dataset)


class XLSX(base_formats.XLSX):
    """XLSX in (checked for bombs and limits before it is opened) and out (typed cells)."""

    def createtablib_dataset(self, in_stream: Any, **kwargs: Any) -> tablib.Dataset:
        return tablib_dataset(*content_read(in_stream, suffix=".xlsx"))

    def export_data(self, dataset: tablib.Dataset, **kwargs: Any) -> bytes:
        return xlsx_bytes([Sheet(dataset.title or "Export", dataset.headers, dataset)])


FORMATS = [CSV, XLSX]


class BoundedImportForm(ImportForm):
    """import-export's import form, refusing a file over UPLOADS_MAX_FILE_BYTES before it is read."""

    def clean_import_file(self) -> Any:
        upload = self.cleaned_data["import_file"]
        if upload is not None:
            file_size_check(upload.size, name=upload.name)
        return upload
