#!/usr/bin/env python
"""Django's command-line utility for the Social Protection Portal."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db.utils import OperationalError

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        sys.exit(f"Configuration error: {exc}")
    except OperationalError as exc:
        # A wrong DATABASE_URL (host, port, name, password) ends here: say so plainly.
        from django.conf import settings

        db = settings.DATABASES["default"]
        where = f"{db.get('HOST') or 'local'}:{db.get('PORT') or ''}/{db.get('NAME')}"
        reason = " ".join(str(exc).split())  # drivers spread one reason over several lines
        sys.exit(f"Cannot use the database at {where} (from DATABASE_URL): {reason}")


if __name__ == "__main__":
    main()
