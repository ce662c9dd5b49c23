"""Every admin list's search is served by an index: the changelist's own search query, planned on PostgreSQL.

For each registered ModelAdmin with `search_fields`, the query its `get_search_results` builds for a few kinds
of search term is planned with `enable_seqscan = off` (the standard way to ask whether an index *can* serve a
predicate: a sequential scan then only remains where no index applies) and `enable_indexscan = off` (nor may
it walk a whole index, filtering: bitmap and index-only scans need a condition). A scan of the listed table
or of a searched one must be driven by an index condition.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib import admin
from django.db import connection
from django.db.models import Model
from django.test import RequestFactory

pytestmark = pytest.mark.postgres

# A word (name-like), a code with digits (reference, document or transaction number), a number (an id).
SEARCH_TERMS = ("Okafor", "PR12-345", "123456")


def _searched_tables(model_admin: admin.ModelAdmin) -> set[str]:
    """The admin's own table and those whose columns its search_fields name (following relations)."""
    tables = {model_admin.model._meta.db_table}
    for field_name in model_admin.search_fields:
        model: type[Model] = model_admin.model
        for part in field_name.lstrip("^=@").split("__"):
            field = (
                model._meta.get_field(part) if part in {f.name for f in model._meta.get_fields()} else None
            )
            if field is None:
                break  # a lookup (exact, iexact...)
            if field.is_relation and field.related_model is not None:
                model = field.related_model
        tables.add(model._meta.db_table)
    return tables


def _scans(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes.extend(_scans(child))
    return nodes


def _unserved_scans(plan: dict[str, Any], tables: set[str]) -> list[str]:
    """Scans of a searched table that no index condition drives."""
    problems = []
    for node in _scans(plan):
        if node.get("Relation Name") not in tables:
            continue
        kind = node["Node Type"]
        if kind == "Seq Scan":
            problems.append(f"Seq Scan on {node['Relation Name']} (filter: {node.get('Filter')})")
        elif kind in {"Index Scan", "Index Only Scan"} and not node.get("Index Cond"):
            problems.append(
                f"{kind} on {node['Relation Name']} without an index condition ({node.get('Filter')})"
            )
    return problems


def _admin_searches() -> list[tuple[str, admin.ModelAdmin]]:
    return sorted(
        (
            (f"{model._meta.app_label}.{model.__name__}", model_admin)
            for model, model_admin in admin.site._registry.items()
            if model_admin.search_fields
        ),
        key=lambda item: item[0],
    )


def test_some_admins_have_search_fields():
    assert len(_admin_searches()) >= 10  # the parametrisation below is not vacuous


@pytest.mark.parametrize(
    "model_admin", [pytest.param(model_admin, id=name) for name, model_admin in _admin_searches()]
)
def test_admin_search_is_served_by_an_index(model_admin: admin.ModelAdmin, admin_user):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the query plan is PostgreSQL's")
    request = RequestFactory().get("/", {"q": "x"})
    request.user = admin_user
    tables = _searched_tables(model_admin)
    problems = {}
    for term in SEARCH_TERMS:
        queryset, _ = model_admin.get_search_results(request, model_admin.get_queryset(request), term)
        sql, params = queryset.order_by().query.sql_with_params()
        with connection.cursor() as cursor:
            # No sequential scan, no walk of a whole index: what is left needs an index condition.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            raw = cursor.fetchone()[0]
        plan = (raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"]
        listed = model_admin.model._meta.db_table
        assert any(node.get("Relation Name") == listed for node in _scans(plan)), (listed, plan)
        found = _unserved_scans(plan, tables)
        if found:
            problems[term] = found
    assert not problems, f"{model_admin.model.__name__}: search not served by an index: {problems}"
