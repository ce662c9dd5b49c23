"""The role check every app shares, re-exported from `access.roles` (the one door) for older imports."""

from __future__ import annotations

from access.roles import user_in_roles

__all__ = ["user_in_roles"]
