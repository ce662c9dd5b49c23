"""The JSON API root (django-ninja): each app adds its router here; OpenAPI docs at /api/docs."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(
    title="Social Protection Portal API",
    version="1",
    urls_namespace="api",
    description="For payment providers and field apps. Authenticate with the X-API-Key header.",
)


def _add_routers() -> None:
    from grievances.api import router as grievances_router
    from payments.api import router as payments_router

    api.add_router("/payments/", payments_router)
    api.add_router("/grievances/", grievances_router)


_add_routers()
