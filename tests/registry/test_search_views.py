"""The advanced search page: layout, scope, field errors, sorting, page sizes, query counts, saved ones."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry.models import SavedSearch
from registry.services import household_member_add
from tests.conftest import make_user

SEARCH = "/admin/registry/search/individuals/"
HOUSEHOLDS = "/admin/registry/search/households/"


@pytest.fixture
def north_and_south(tree, make_individual, make_household):
    household = make_household(tree.north_a, code="HH-N1", data={"has_electricity": True})
    ada = make_individual(
        tree.north_a,
        given_name="Ada",
        family_name="Zed",
        sex="F",
        birth_date=date(1990, 1, 1),
        data={"disability": True, "education": "secondary"},
    )
    household_member_add(household=household, individual=ada, role="head", is_primary_recipient=True)
    make_individual(tree.north_b, given_name="Bob", family_name="Young", sex="M", birth_date=date(1950, 6, 1))
    make_individual(tree.south, given_name="Sue", family_name="Xavier", sex="F", birth_date=date(1980, 3, 3))
    return household


def result_names(response) -> list[str]:
    table = response.context["table"]
    assert table is not None, response.context["filterset"].errors
    return [row.record.given_name for row in table.page.object_list]


def test_page_sits_in_the_admin_layout(client, maker, north_and_south):
    client.force_login(maker)
    response = client.get(SEARCH)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="breadcrumbs"' in html and "Advanced search: individuals" in html
    assert 'id="nav-sidebar"' in html  # the admin's sidebar, from each_context
    assert "<script>" not in html and '<script type="text/javascript">' not in html
    assert "registry/search.js" in html
    assert result_names(response) == ["Ada", "Bob"]
    assert "HH-N1" in html and "Head" in html  # household link and role columns
    assert "Living with a disability" in html  # custom-field column and filter


def test_sidebar_and_app_list_link_to_the_search(client, maker):
    client.force_login(maker)
    html = client.get("/admin/").content.decode()
    assert f'href="{SEARCH}"' in html
    assert f'href="{HOUSEHOLDS}"' in html


def test_login_and_permission_required(client, tree):
    assert client.get(SEARCH).status_code == 302
    client.force_login(make_user("nobody"))
    assert client.get(SEARCH).status_code == 403
    assert client.get(HOUSEHOLDS).status_code == 403


def test_filters_through_the_page(client, auditor, north_and_south):
    client.force_login(auditor)
    response = client.get(SEARCH, {"sex": "F", "age_min": "18", "cf_disability": "true"})
    assert result_names(response) == ["Ada"]


def test_south_officer_never_sees_north_rows(client, south_officer, tree, north_and_south):
    client.force_login(south_officer)
    assert result_names(client.get(SEARCH)) == ["Sue"]
    assert result_names(client.get(SEARCH, {"family_name": "Z"})) == []
    response = client.get(SEARCH, {"location": tree.north.pk})
    assert response.context["table"] is None
    assert "location" in response.context["filterset"].errors
    households = client.get(HOUSEHOLDS)
    assert [row.record.code for row in households.context["table"].page.object_list] == []


def test_malformed_range_shows_the_error_at_the_field(client, maker, north_and_south):
    client.force_login(maker)
    response = client.get(SEARCH, {"age_min": "70", "age_max": "20", "household_size_min": "x"})
    assert response.status_code == 200
    assert response.context["table"] is None
    html = response.content.decode()
    age_block = html[html.index('id="filter-age"') :]
    age_block = age_block[: age_block.index('id="filter-birth_date"')]
    assert "errorlist" in age_block and "is above the upper bound" in age_block
    size_block = html[html.index('id="filter-household_size"') :]
    assert "Enter a whole number" in size_block[:600]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("family_name", ["Bob", "Ada"]),
        ("-family_name", ["Ada", "Bob"]),
        ("birth_date", ["Bob", "Ada"]),
        ("age", ["Ada", "Bob"]),
        ("-id", ["Bob", "Ada"]),
        ("no_such_column", ["Ada", "Bob"]),
    ],
)
def test_sortable_columns(client, maker, north_and_south, sort, expected):
    client.force_login(maker)
    response = client.get(SEARCH, {"sort": sort})
    assert response.status_code == 200
    assert result_names(response) == expected


@pytest.fixture
def thirty(tree, make_individual):
    return [make_individual(tree.north_a, given_name=f"P{i:02d}") for i in range(30)]


@pytest.mark.parametrize(
    ("params", "rows"),
    [
        ({}, 25),
        ({"per_page": "50"}, 30),
        ({"per_page": "100000"}, 25),
        ({"per_page": "x"}, 25),
        ({"page": "2"}, 5),
        ({"page": "abc"}, 25),
        ({"page": "99"}, 25),
    ],
)
def test_page_sizes_and_pages(client, maker, thirty, params, rows):
    client.force_login(maker)
    response = client.get(SEARCH, params)
    assert response.status_code == 200
    assert len(response.context["table"].page.object_list) == rows


def test_page_size_choices_offered(client, maker, thirty):
    client.force_login(maker)
    html = client.get(SEARCH).content.decode()
    for size in (25, 50, 100, 250):
        assert f'<option value="{size}"' in html


def test_no_count_and_same_queries_for_5_and_50_rows(client, maker, tree, make_individual, make_household):
    client.force_login(maker)
    params = {"per_page": "250", "sex": "F", "age_min": "1", "location": tree.north.pk}

    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(SEARCH, params).status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    def add(n: int) -> None:
        for _ in range(n):
            household = make_household(tree.north_a, data={"has_electricity": False})
            person = make_individual(tree.north_a, data={"disability": False}, documents=[])
            household_member_add(household=household, individual=person, role="head")

    add(5)
    client.get(SEARCH)  # warm the session and content types
    five = queries()
    add(45)
    fifty = queries()
    assert len(client.get(SEARCH, params).context["table"].page.object_list) == 50
    assert len(five) == len(fifty), "\n".join(fifty)
    # The "N records match" line counts at most MatchCount's cap + 1 rows (a LIMIT inside), never the table.
    counts = [
        q
        for q in fifty
        if q.startswith("SELECT COUNT(")
        and "registry_individual" in q.split(" WHERE ")[0]
        and "LIMIT" not in q
    ]
    assert not counts, counts


def test_household_search_page(client, maker, north_and_south):
    client.force_login(maker)
    response = client.get(HOUSEHOLDS, {"size_min": "1", "cf_has_electricity": "true"})
    assert response.status_code == 200
    assert [row.record.code for row in response.context["table"].page.object_list] == ["HH-N1"]


# Saved searches


def save(client, name: str, query: str, dataset: str = "individual"):
    return client.post(reverse("admin:registry_search_save", args=[dataset]), {"name": name, "query": query})


def test_save_and_reuse_a_search(client, maker, north_and_south):
    client.force_login(maker)
    response = save(client, "Women with a disability", "sex=F&cf_disability=true&page=3&per_page=50")
    assert response.status_code == 302
    saved = SavedSearch.objects.get(user=maker)
    assert (saved.name, saved.dataset) == ("Women with a disability", "individual")
    assert "page" not in QueryDict(saved.query) and QueryDict(saved.query)["per_page"] == "50"
    assert response["Location"] == f"{SEARCH}?{saved.query}"
    page = client.get(SEARCH)
    assert list(page.context["saved_searches"]) == [saved]
    assert f'href="{SEARCH}?{saved.query.replace("&", "&amp;")}"' in page.content.decode()
    assert result_names(client.get(f"{SEARCH}?{saved.query}")) == ["Ada"]


def test_saving_again_under_the_same_name_replaces(client, maker, north_and_south):
    client.force_login(maker)
    save(client, "Mine", "sex=F")
    save(client, "Mine", "sex=M")
    assert list(SavedSearch.objects.filter(user=maker).values_list("query", flat=True)) == ["sex=M"]


def test_malformed_search_is_not_saved(client, maker, north_and_south):
    client.force_login(maker)
    response = save(client, "Broken", "age_min=9&age_max=1")
    assert response.status_code == 400
    assert "The search has errors" in response.content.decode()
    assert "is above the upper bound" in response.content.decode()
    assert not SavedSearch.objects.exists()
    response = save(client, "", "sex=F")
    assert response.status_code == 400
    assert not SavedSearch.objects.exists()


def test_users_see_and_delete_only_their_own(client, maker, checker, north_and_south):
    mine = SavedSearch.objects.create(user=maker, name="Mine", dataset="individual", query="sex=F")
    theirs = SavedSearch.objects.create(user=checker, name="Theirs", dataset="individual", query="sex=M")
    client.force_login(maker)
    page = client.get(SEARCH)
    assert list(page.context["saved_searches"]) == [mine]
    assert "Theirs" not in page.content.decode()
    assert (
        client.post(reverse("admin:registry_search_delete", args=["individual", theirs.pk])).status_code
        == 404
    )
    assert SavedSearch.objects.filter(pk=theirs.pk).exists()
    assert (
        client.get(reverse("admin:registry_search_delete", args=["individual", mine.pk])).status_code == 405
    )
    response = client.post(reverse("admin:registry_search_delete", args=["individual", mine.pk]))
    assert response.status_code == 302
    assert not SavedSearch.objects.filter(pk=mine.pk).exists()


def test_saved_searches_are_per_dataset(client, maker, north_and_south):
    client.force_login(maker)
    save(client, "Electrified", "cf_has_electricity=true", dataset="household")
    assert list(client.get(SEARCH).context["saved_searches"]) == []
    assert [s.name for s in client.get(HOUSEHOLDS).context["saved_searches"]] == ["Electrified"]
    assert (
        client.post(reverse("admin:registry_search_save", args=["nothing"]), {"name": "x"}).status_code == 404
    )


def test_pages_link_forward_and_back_keeping_the_filters(client, maker, thirty):
    client.force_login(maker)
    first = client.get(SEARCH, {"sex": "F"}).content.decode()
    assert 'rel="next"' in first and 'rel="prev"' not in first
    assert "page=2" in first and "sex=F" in first[first.index('rel="next"') - 200 :]
    second = client.get(SEARCH, {"sex": "F", "page": "2"}).content.decode()
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert "sort=family_name" in first  # sortable column headers link to their order


def test_the_search_root_leads_to_individuals_keeping_the_query(client, maker):
    client.force_login(maker)
    response = client.get("/admin/registry/search/?sex=F")
    assert response.status_code == 302
    assert response["Location"] == f"{SEARCH}?sex=F"
