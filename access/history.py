"""History pages in the admin that respect the change page's scope and never write.

django-simple-history shows the history (list and record pages) of any object by its primary key,
whatever the admin's `get_queryset` says, and its record page saves a POSTed form ("revert") straight
through `save_model`, past the services and maker-checker. Every history admin of the portal uses this.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.utils import unquote
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from simple_history.admin import SimpleHistoryAdmin

from access.scope import user_sees_everywhere


class ScopedHistoryAdmin(SimpleHistoryAdmin):
    """History only of the objects in `get_queryset`, read-only."""

    def history_in_scope(self, request: HttpRequest, object_id: str) -> bool:
        """Those who see everywhere also read the history of deleted objects."""
        if user_sees_everywhere(request.user):
            return True
        return self.get_queryset(request).filter(pk=unquote(object_id)).exists()

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        if not self.history_in_scope(request, object_id):
            raise Http404
        return super().history_view(request, object_id, extra_context)

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET"])  # reverting would bypass the services and approvals
        if not self.history_in_scope(request, object_id):
            raise Http404
        return super().history_form_view(request, object_id, version_id, extra_context)
