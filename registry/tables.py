"""Result tables of the advanced search (django-tables2), paginated without counting every row."""

from __future__ import annotations

from datetime import date
from typing import Any

import django_tables2 as tables
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django_tables2 import RequestConfig
from django_tables2.paginators import LazyPaginator

from registry.dates import date_display
from registry.filters import custom_fields, property_type
from registry.models import Household, HouseholdMember, Individual
from registry.selectors import name_order_key

PAGE_SIZES = (25, 50, 100, 250)
DEFAULT_PAGE_SIZE = PAGE_SIZES[0]


def page_size(request: HttpRequest) -> int:
    """The page size asked for, if it is one we offer."""
    try:
        size = int(request.GET.get("per_page", DEFAULT_PAGE_SIZE))
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE


def custom_columns(schema: dict[str, Any]) -> list[tuple[str, tables.Column]]:
    columns: list[tuple[str, tables.Column]] = []
    for key, prop in custom_fields(schema):
        label = str(prop.get("title") or key.replace("_", " ").capitalize())
        column_class = tables.BooleanColumn if property_type(prop) == "boolean" else tables.Column
        columns.append(
            (
                f"cf_{key}",
                column_class(accessor=f"data__{key}", verbose_name=label, orderable=False, default=""),
            )
        )
    return columns


class LocaleDateColumn(tables.Column):
    """A date shown as the user types it in the forms and filters (registry.forms.date_display)."""

    def render(self, value: date) -> str:
        return date_display(value)


class SearchTable(tables.Table):
    """Rendered by a lean template: cells carry `field-<column>` classes, as in the admin's changelists."""

    class Meta:
        template_name = "registry/search_table.html"


class IndividualTable(SearchTable):
    id = tables.Column(
        verbose_name="ID",
        linkify=lambda record: reverse("admin:registry_individual_change", args=[record.pk]),
    )
    family_name = tables.Column()
    given_name = tables.Column()
    sex = tables.Column()
    birth_date = LocaleDateColumn()
    age = tables.Column(empty_values=(), order_by=("-birth_date",), verbose_name="Age")
    location = tables.Column(order_by=("location_id",))  # grouped by place, off the location index
    household = tables.Column(empty_values=(), orderable=False)
    role = tables.Column(empty_values=(), orderable=False, verbose_name="Role")
    status = tables.Column()
    registration_date = LocaleDateColumn(verbose_name="Registered")

    class Meta(SearchTable.Meta):
        model = Individual
        fields = (
            "id",
            "family_name",
            "given_name",
            "sex",
            "birth_date",
            "age",
            "location",
            "household",
            "role",
            "status",
            "registration_date",
        )
        order_by = ("id",)

    def order_family_name(self, queryset: QuerySet, is_descending: bool) -> tuple[QuerySet, bool]:
        return _order_upper(queryset, is_descending, "family_name", "given_name"), True

    def order_given_name(self, queryset: QuerySet, is_descending: bool) -> tuple[QuerySet, bool]:
        return _order_upper(queryset, is_descending, "given_name"), True

    def render_age(self, record: Individual) -> str:
        age = record.age(date.today())
        return "" if age is None else str(age)

    def render_household(self, record: Individual) -> str:
        membership = _current(record)
        if membership is None:
            return "—"
        url = reverse("admin:registry_household_change", args=[membership.household_id])
        return format_html('<a href="{}">{}</a>', url, membership.household.code)

    def render_role(self, record: Individual) -> str:
        membership = _current(record)
        return membership.get_role_display() if membership else "—"


def _order_upper(queryset: QuerySet, is_descending: bool, *fields: str) -> QuerySet:
    """Case-insensitive order, the way the UPPER(name) indexes hold it, so a page is read off the index."""
    keys = [name_order_key(field) for field in fields]
    return queryset.order_by(
        *(key.desc() if is_descending else key.asc() for key in keys), "-pk" if is_descending else "pk"
    )


def _current(record: Individual) -> HouseholdMember | None:
    memberships = getattr(record, "current_memberships", None)
    return memberships[0] if memberships else None


class HouseholdTable(SearchTable):
    id = tables.Column(
        verbose_name="ID", linkify=lambda record: reverse("admin:registry_household_change", args=[record.pk])
    )
    code = tables.Column()
    location = tables.Column(order_by=("location_id",))  # grouped by place, off the location index
    address = tables.Column(orderable=False)
    size = tables.Column()
    registration_date = LocaleDateColumn(verbose_name="Registered")

    class Meta(SearchTable.Meta):
        model = Household
        fields = ("id", "code", "location", "address", "size", "registration_date")
        order_by = ("id",)


def individual_rows(queryset: QuerySet[Individual]) -> QuerySet[Individual]:
    """What a page of individuals needs, fetched in a fixed number of queries."""
    current = HouseholdMember.objects.filter(end_date__isnull=True).select_related("household")
    return queryset.select_related("location").prefetch_related(
        Prefetch("memberships", queryset=current, to_attr="current_memberships")
    )


def results_table(
    request: HttpRequest,
    dataset: str,
    queryset: QuerySet,
    schema: dict[str, Any],
    columns: list[str] | None = None,
) -> tables.Table:
    """The sortable, lazily paginated table of one page of results, showing `columns` (None: all)."""
    if dataset == "household":
        table: tables.Table = HouseholdTable(
            queryset.select_related("location"), extra_columns=custom_columns(schema)
        )
    else:
        table = IndividualTable(individual_rows(queryset), extra_columns=custom_columns(schema))
    if columns:
        for name in table_column_names(table):
            if name not in columns and name != "id":
                table.columns.hide(name)
    RequestConfig(request, paginate=False).configure(table)  # sorting only: page sizes are ours to bound
    page = request.GET.get("page", "1")
    try:
        table.paginate(paginator_class=LazyPaginator, per_page=page_size(request), page=int(page))
    except (ValueError, PageNotAnInteger, EmptyPage):
        table.paginate(paginator_class=LazyPaginator, per_page=page_size(request), page=1)
    return table


def table_column_names(table: tables.Table) -> list[str]:
    return [column.name for column in table.columns.all()]


def table_column_choices(dataset: str, schema: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, header) of every column the dataset's table can show, in order: the column chooser's list."""
    table_class = HouseholdTable if dataset == "household" else IndividualTable
    model = Household if dataset == "household" else Individual
    table = table_class(model.objects.none(), extra_columns=custom_columns(schema))
    return [(column.name, str(column.header)) for column in table.columns.all()]
