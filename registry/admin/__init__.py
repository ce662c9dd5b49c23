"""Admin screens of the registry, one module per concern."""

from registry.admin import households, individuals, locations, schemas  # noqa: F401  (registers the admins)
