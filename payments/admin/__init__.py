"""Payments in the admin, one module per concern: payment plans and their preview (`plans`), cycles and
payment points with their keys (`points`), payrolls and their steps (`payrolls`), the provider files
(`exports`), results and what providers sent (`reconciliation`), payment lines and their story (`lines`),
delivery evidence photos (`evidence`), payment verification: plans and sampled lines (`verification`).
Importing the package registers every admin class."""

from payments.admin import evidence, exports, lines, payrolls, plans, points, reconciliation, verification

__all__ = ["evidence", "exports", "lines", "payrolls", "plans", "points", "reconciliation", "verification"]
