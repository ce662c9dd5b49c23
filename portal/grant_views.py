"""Admin pages for administrators and auditors: who holds what (with export), and a user's audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from files.spreadsheets import CSV_CONTENT_TYPE, csv_stream
from identity.apikeys import ApiKeyEventKind
from identity.models import SignInEventKind
from portal.grant_selectors import (
    AuditFilters,
    HoldingFilters,
    audit_query,
    audit_trail,
    holding_list,
    holding_query,
    user_reads_grants,
)
from portal.models import ScopeKind
from registry.dates import LocaleDateField

PAGE_SIZE = 100


class HoldingFilterForm(forms.Form):
    user = forms.CharField(label=_("User name"), required=False, max_length=150)
    kind = forms.ChoiceField(
        label=_("Holds"),
        required=False,
        choices=[("", _("roles, locations and plans")), ("role", _("roles")), *ScopeKind.choices],
    )
    role = forms.ModelChoiceField(label=_("Role"), required=False, queryset=Group.objects.order_by("name"))
    ending_within = forms.IntegerField(
        label=_("Ending within (days)"), required=False, min_value=0, max_value=3660
    )
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[
            ("", _("any")),
            ("in_force", _("in force today")),
            ("ending", _("ends within 7 days")),
            ("expired", _("expired")),
            ("future", _("not started yet")),
        ],
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def filters(self) -> HoldingFilters:
        data = self.cleaned_data
        return HoldingFilters(
            username=data["user"].strip(),
            kind=data["kind"],
            role_id=data["role"].pk if data["role"] else None,
            ending_within=data["ending_within"],
            state=data["state"],
        )


KIND_LABELS = {"role": _("role"), **dict(ScopeKind.choices)}
HISTORY_LABELS = {"+": _("granted"), "~": _("changed"), "-": _("taken away")}
HOLDING_HEADERS = (
    _("user"),
    _("name"),
    _("holds"),
    _("what"),
    _("since"),
    _("from"),
    _("until"),
    _("in force"),
    _("granted by"),
)


def _reader(request: HttpRequest) -> None:
    if not user_reads_grants(request.user):
        raise PermissionDenied


def _page(form: forms.Form) -> int:
    return (form.cleaned_data.get("page") or 1) if form.is_valid() else 1


def _in_force(row: dict[str, Any], today: Any) -> bool:
    return (row["h_from"] is None or row["h_from"] <= today) and (
        row["h_until"] is None or today <= row["h_until"]
    )


def _holding_cells(rows: Any) -> Iterator[tuple[Any, ...]]:
    today = timezone.localdate()
    for row in rows:
        yield (
            row["h_username"],
            (row["h_name"] or "").strip(),
            KIND_LABELS.get(row["h_kind"], row["h_kind"]),
            row["h_what"],
            row["h_given"].date() if row["h_given"] else "",
            row["h_from"] or "",
            row["h_until"] or "",
            gettext("yes") if _in_force(row, today) else gettext("no"),
            row["h_by"] or "",
        )


@require_GET
def holdings_view(request: HttpRequest) -> HttpResponse:
    """Who holds which role, location and plan, since when, until when, granted by whom; CSV export."""
    _reader(request)
    form = HoldingFilterForm(request.GET or None)
    valid = form.is_valid() if request.GET else False
    filters = form.filters() if valid else HoldingFilters()
    if request.GET and not valid:
        rows: list[dict[str, Any]] = []
    elif request.GET.get("export") == "csv":
        query = holding_query(user=request.user, filters=filters)
        response = StreamingHttpResponse(
            csv_stream(
                [str(header) for header in HOLDING_HEADERS],
                _holding_cells(query.iterator() if query is not None else []),
            ),
            content_type=CSV_CONTENT_TYPE,
        )
        response["Content-Disposition"] = (
            f'attachment; filename="who-holds-what-{timezone.localdate().isoformat()}.csv"'
        )
        return response
    else:
        page = _page(form)
        rows = holding_list(
            user=request.user, filters=filters, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
    page = _page(form)
    context = {
        **admin.site.each_context(request),
        "title": _("Who holds what"),
        "form": form,
        "headers": HOLDING_HEADERS,
        "rows": list(_holding_cells(rows[:PAGE_SIZE])),
        "page": page,
        "has_next": len(rows) > PAGE_SIZE,
        "query": _query_without_page(request),
    }
    return TemplateResponse(request, "portal/grants.html", context)


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("export", None)
    return query.urlencode()


class AuditFilterForm(forms.Form):
    user = forms.CharField(label=_("User name"), max_length=150)
    topic = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[
            ("", _("everything")),
            ("sign_in", _("sign-ins and failures")),
            ("two_factor", _("two-factor sign-in")),
            ("grants", _("roles and scopes")),
            ("api_keys", _("API keys made and rotated")),
        ],
    )
    since = LocaleDateField(label=_("From"), required=False)
    until = LocaleDateField(label=_("Until"), required=False)
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("since") and cleaned.get("until") and cleaned["until"] < cleaned["since"]:
            self.add_error("until", _("The end of the period cannot be before its start."))
        return cleaned


AUDIT_HEADERS = (_("at"), _("event"), _("about"), _("from"), _("until"), _("done by"), _("address"))
EVENT_LABELS = dict(SignInEventKind.choices)
API_KEY_LABELS = dict(ApiKeyEventKind.choices)


def _audit_cells(rows: Any) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        at = row["a_at"]
        if isinstance(at, str):  # SQLite hands a UNION's datetimes back as text
            at = parse_datetime(at) or at
        if row["a_source"] == "event":
            event = EVENT_LABELS.get(row["a_code"], row["a_code"])
        elif row["a_source"] == "api_key":
            event = f"{_('API key')}: {API_KEY_LABELS.get(row['a_code'], row['a_code'])}"
        else:
            kind = KIND_LABELS.get(row["a_source"], row["a_source"])
            event = f"{kind}: {HISTORY_LABELS.get(row['a_code'], row['a_code'])}"
        yield (
            timezone.localtime(at) if hasattr(at, "tzinfo") and at.tzinfo else at,
            event,
            row["a_what"] or "",
            row["a_from"] or "",
            row["a_until"] or "",
            row["a_actor"] or "",
            # PostgreSQL casts an inet to text with its mask ("10.1.2.3/32"): a host address is shown bare.
            (row["a_address"] or "").removesuffix("/32").removesuffix("/128"),
        )


@require_GET
def user_audit_view(request: HttpRequest) -> HttpResponse:
    """Everything about one user: sign-ins, failures, two-factor steps, grants given, changed, ended."""
    _reader(request)
    form = AuditFilterForm(request.GET or None)
    rows: list[dict[str, Any]] = []
    if request.GET and form.is_valid():
        filters = AuditFilters(
            username=form.cleaned_data["user"].strip(),
            topic=form.cleaned_data["topic"],
            since=form.cleaned_data["since"],
            until=form.cleaned_data["until"],
        )
        if request.GET.get("export") == "csv":
            query = audit_query(user=request.user, filters=filters)
            response = StreamingHttpResponse(
                csv_stream(
                    [str(header) for header in AUDIT_HEADERS],
                    _audit_cells(query.iterator() if query is not None else []),
                ),
                content_type=CSV_CONTENT_TYPE,
            )
            response["Content-Disposition"] = (
                f'attachment; filename="audit-{timezone.localdate().isoformat()}.csv"'
            )
            return response
        page = _page(form)
        rows = audit_trail(user=request.user, filters=filters, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    context = {
        **admin.site.each_context(request),
        "title": _("Audit trail of a user"),
        "form": form,
        "headers": AUDIT_HEADERS,
        "rows": list(_audit_cells(rows[:PAGE_SIZE])),
        "page": _page(form),
        "has_next": len(rows) > PAGE_SIZE,
        "query": _query_without_page(request),
        "searched": bool(request.GET) and form.is_valid(),
    }
    return TemplateResponse(request, "portal/user_audit.html", context)


def grant_app_list_entries(request: HttpRequest) -> list[dict[str, Any]]:
    """Sidebar entries (Administration) for the two pages, shaped like the admin's model entries."""
    if not user_reads_grants(request.user):
        return []
    pages = (
        (_("Who holds what"), "WhoHoldsWhat", "admin:portal_grants"),
        (_("Audit trail of a user"), "UserAuditTrail", "admin:portal_user_audit"),
    )
    return [
        {
            "name": name,
            "object_name": object_name,
            "admin_url": reverse(url),
            "add_url": None,
            "view_only": True,
            "perms": {"view": True},
        }
        for name, object_name, url in pages
    ]
