"""The JSON API root (django-ninja): each app adds its router here; OpenAPI docs at /api/docs."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import ValidationError as NinjaValidationError

api = NinjaAPI(
    title="Social Protection Portal API",
    version="1",
    urls_namespace="api",
    description=(
        "For payment providers, grievance partners, field apps and partner systems of the registry. "
        "Authenticate with the X-API-Key header."
    ),
)


@api.exception_handler(NinjaValidationError)
def request_invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    """A request the schema refuses (a missing header, a wrong type) gets the API's one error shape: a
    sentence in `detail`, and each fault with its JSON pointer (`/header/Idempotency-Key`)."""
    errors = [
        {
            "pointer": "/" + "/".join(str(part) for part in error.get("loc", ())),
            "detail": str(error.get("msg", "")),
        }
        for error in exc.errors
    ]
    detail = _("The request is not valid: %(count)d problem(s), each named by its pointer.") % {
        "count": len(errors)
    }
    record = getattr(request, "registry_call_record", None)
    if record is not None:  # a registry API client's call: on its call trail too
        record(422)
    return api.create_response(request, {"detail": detail, "errors": errors}, status=422)


def _add_routers() -> None:
    from grievances.api import router as grievances_router
    from payments.api import router as payments_router
    from registry.api import RateLimited
    from registry.api import router as registry_router

    api.add_router("/payments/", payments_router)
    api.add_router("/grievances/", grievances_router)
    api.add_router("/registry/", registry_router)

    @api.exception_handler(RateLimited)
    def rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
        detail = _("Too many calls from this client: try again in %(seconds)d seconds.") % {
            "seconds": exc.retry_after
        }
        response = api.create_response(request, {"detail": detail, "errors": []}, status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response


_add_routers()
