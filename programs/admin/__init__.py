"""Admin screens of the programmes, one module per concern."""

from programs.admin import beneficiaries, plans  # noqa: F401  (registers the admins)
