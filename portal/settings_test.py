"""Settings for the test suite: the normal settings with DJANGO_ENV=test."""

import os

os.environ["DJANGO_ENV"] = "test"
# Playwright's sync API runs an event loop in the test thread; the ORM calls the
# tests make beside it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from portal.settings import *  # noqa: E402,F403
