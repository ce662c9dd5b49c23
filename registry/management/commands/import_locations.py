"""Load or update the location tree from a CSV or XLSX file, with the admin import's checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from files.formats import tablib_dataset
from files.readers import table_read
from registry.resources import COLUMNS, location_import


class Command(BaseCommand):
    help = f"Import locations from a CSV or XLSX file with columns {', '.join(COLUMNS)} (matched on code)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--dry-run", action="store_true", help="Check the file and report, write nothing."
        )

    def handle(self, *args: Any, file: Path, dry_run: bool, **options: Any) -> None:
        try:
            header, rows = table_read(file)  # within the limits on untrusted files
        except OSError as exc:
            raise CommandError(f"{file}: cannot be read ({exc.strerror or exc}).") from exc
        except ValidationError as exc:
            raise CommandError(f"{file}: {' '.join(exc.messages)}") from exc
        dataset = tablib_dataset(header, rows)
        try:
            result = location_import(dataset=dataset, dry_run=dry_run)
        except ValidationError as exc:
            raise CommandError(f"{file}: nothing was imported.\n" + "\n".join(exc.messages)) from exc
        totals = result.totals
        self.stdout.write(
            ("Checked (nothing written): " if dry_run else "Imported: ")
            + f"{totals['new']} new, {totals['update']} updated, {totals['skip']} unchanged."
        )
