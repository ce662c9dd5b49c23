"""The role check's old home: import `user_in_roles` from `access.roles`.

Kept only while portal.tasks (outside the access change) imports it from here; tests/access/test_one_door.py
fails once nothing does, and this module is then deleted.
"""

from __future__ import annotations

from access.roles import user_in_roles  # noqa: F401

TRANSITIONAL = ("user_in_roles",)
