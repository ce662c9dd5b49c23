"""Admin screens of the registry, one module per concern."""

from registry.admin import api_clients, households, individuals, locations, schemas  # noqa: F401  (registers)
