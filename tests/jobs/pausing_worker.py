"""A real worker process for the crash tests: `manage.py jobs_worker`, stopping inside a job on request.

When a job's progress message contains $JOBS_TEST_PAUSE_AT, the process writes the job id to
$JOBS_TEST_PAUSED and waits there until $JOBS_TEST_RELEASE exists (or for ever, until killed).
$JOBS_TEST_PAYROLL_CHUNK makes payroll generation write its lines in chunks of that many.
Extra arguments go to `jobs_worker` (e.g. --batch).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from jobs import services  # noqa: E402

PAUSE_AT = os.environ.get("JOBS_TEST_PAUSE_AT", "")
PAUSED = os.environ.get("JOBS_TEST_PAUSED", "")
RELEASE = os.environ.get("JOBS_TEST_RELEASE", "")
_job_progress = services.job_progress


def job_progress(job_id: int, *, done: int, total: int | None = None, message: str | None = None) -> None:
    _job_progress(job_id, done=done, total=total, message=message)
    if PAUSE_AT and message and PAUSE_AT in message and not Path(PAUSED).exists():
        Path(PAUSED).write_text(str(job_id))
        while not (RELEASE and Path(RELEASE).exists()):
            time.sleep(0.05)


services.job_progress = job_progress  # type: ignore[assignment]
if os.environ.get("JOBS_TEST_PAYROLL_CHUNK"):
    from payments import services as payments_services

    payments_services.payroll_generate.__kwdefaults__["chunk_size"] = int(
        os.environ["JOBS_TEST_PAYROLL_CHUNK"]
    )

call_command("jobs_worker", "--no-startup-delay", "--interval", "0.1", "--no-reload", *sys.argv[1:])
