"""Run by tests/files/test_limits.py in a fresh process: read one file the way an upload (or the location
import) reads it, then print, as JSON, the refusal if any and how much the process grew meanwhile.

usage: python tests/files/read_in_child.py upload|table PATH
"""

from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def main() -> None:
    kind, path = sys.argv[1], Path(sys.argv[2])
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    import openpyxl.reader.excel  # noqa: F401  (imported before measuring, as in a running worker)
    from django.core.exceptions import ValidationError

    from files.readers import table_read
    from uploads.readers import table_open

    before = _status_kb("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from here
    except OSError:
        pass
    refused = None
    rows = 0
    try:
        if kind == "upload":
            table = table_open(path, name=path.name)
            try:
                for _row in table.rows:
                    rows += 1
            finally:
                table.close()
        else:
            rows = len(table_read(path)[1])
    except ValidationError as exc:
        refused = " ".join(exc.messages)
    peak = max(_status_kb("VmHWM"), 0) or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"refused": refused, "rows": rows, "grown_mb": round((peak - before) / 1024, 1)}))


if __name__ == "__main__":
    main()
