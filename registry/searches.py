"""Saved advanced searches: the query string a user named, kept per user and dataset."""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _

from registry.filters import FILTERSETS
from registry.models import SavedSearch, SearchColumns

NOT_SAVED_PARAMS = ("page", "name", "csrfmiddlewaretoken", "query", "dataset", "background")


class SavedSearchForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True, label="Name this search")


def search_query(data: QueryDict) -> str:
    """The query string that reproduces a search: its filters, sort and page size, not its page."""
    query = data.copy()
    for param in NOT_SAVED_PARAMS:
        query.pop(param, None)
    for key in [k for k, values in query.lists() if not any(v.strip() for v in values)]:
        query.pop(key)
    return query.urlencode()


def saved_search_list(*, user: AbstractBaseUser, dataset: str) -> QuerySet[SavedSearch]:
    return SavedSearch.objects.filter(user=user, dataset=dataset)


@transaction.atomic
def saved_search_save(*, user: AbstractBaseUser, name: str, dataset: str, query: str) -> SavedSearch:
    """Save (or replace) the user's search of that name; a search whose filters are invalid is refused."""
    if dataset not in FILTERSETS:
        raise ValidationError({"dataset": f"Unknown dataset {dataset!r}."})
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the search a name."})
    filterset = FILTERSETS[dataset](QueryDict(query), user=user)
    if not filterset.is_valid():
        raise ValidationError("The search has errors: correct them before saving it.")
    saved, _ = SavedSearch.objects.update_or_create(
        user=user, dataset=dataset, name=name[:100], defaults={"query": search_query(QueryDict(query))}
    )
    return saved


@transaction.atomic
def saved_search_delete(*, user: AbstractBaseUser, saved_search_id: int) -> bool:
    """Delete one of the user's own saved searches; False when there is none of theirs with that id."""
    deleted, _ = SavedSearch.objects.filter(user=user, pk=saved_search_id).delete()
    return bool(deleted)


ALWAYS_SHOWN = ("id",)  # the link to the record


def search_columns_get(*, user: AbstractBaseUser, dataset: str) -> list[str] | None:
    """The columns the user chose for `dataset`, or None (all)."""
    return SearchColumns.objects.filter(user=user, dataset=dataset).values_list("columns", flat=True).first()


@transaction.atomic
def search_columns_save(
    *, user: AbstractBaseUser, dataset: str, columns: list[str], available: list[str]
) -> list[str]:
    """Remember the user's columns for `dataset`: names the table has, in its order; none chosen means all."""
    if dataset not in FILTERSETS:
        raise ValidationError({"dataset": _("Unknown dataset %(dataset)r.") % {"dataset": dataset}})
    unknown = sorted(set(columns) - set(available))
    if unknown:
        raise ValidationError({"columns": _("Unknown column(s): %(names)s.") % {"names": ", ".join(unknown)}})
    chosen = [name for name in available if name in columns or name in ALWAYS_SHOWN]
    SearchColumns.objects.update_or_create(user=user, dataset=dataset, defaults={"columns": chosen})
    return chosen
