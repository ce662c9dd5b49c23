"""Load or update the location tree from a CSV or XLSX file, with the admin import's checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tablib
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

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
            if file.suffix.lower() == ".xlsx":
                dataset = tablib.Dataset().load(file.read_bytes(), format="xlsx")
            else:
                dataset = tablib.Dataset().load(file.read_text(encoding="utf-8-sig"), format="csv")
        except OSError as exc:
            raise CommandError(f"{file}: cannot be read ({exc.strerror or exc}).") from exc
        except Exception as exc:  # tablib raises various errors for malformed files
            raise CommandError(f"{file}: not a readable CSV or XLSX file ({exc}).") from exc
        try:
            result = location_import(dataset=dataset, dry_run=dry_run)
        except ValidationError as exc:
            raise CommandError(f"{file}: nothing was imported.\n" + "\n".join(exc.messages)) from exc
        totals = result.totals
        self.stdout.write(
            ("Checked (nothing written): " if dry_run else "Imported: ")
            + f"{totals['new']} new, {totals['update']} updated, {totals['skip']} unchanged."
        )
