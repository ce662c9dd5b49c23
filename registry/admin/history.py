"""History pages that respect the same location scope as the change pages (the rule lives in `access`)."""

from __future__ import annotations

from access.history import ScopedHistoryAdmin

__all__ = ["ScopedHistoryAdmin"]
