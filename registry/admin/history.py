"""History pages that respect the same location scope as the change pages."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.utils import unquote
from django.http import Http404, HttpRequest, HttpResponse
from simple_history.admin import SimpleHistoryAdmin

from registry.selectors import user_sees_everywhere


class ScopedHistoryAdmin(SimpleHistoryAdmin):
    """SimpleHistoryAdmin falls back to the history of objects outside `get_queryset`; this does not.

    History of deleted objects is shown only to those who see every location.
    """

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        if (
            not user_sees_everywhere(request.user)
            and not self.get_queryset(request).filter(pk=unquote(object_id)).exists()
        ):
            raise Http404
        return super().history_view(request, object_id, extra_context)
