"""The individuals list and page: search, filters, household link, scope, query counts, custom fields."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from programs.models import Beneficiary, BeneficiaryStatus, BenefitPlan
from registry.admin.individuals import age_band_q, years_before
from registry.models import Individual
from registry.services import household_member_add

pytestmark = pytest.mark.django_db
LIST = reverse("admin:registry_individual_changelist")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def names(response) -> set[str]:
    return {f"{person.given_name} {person.family_name}" for person in response.context["cl"].result_list}


@pytest.fixture
def people(tree, make_individual, make_household):
    household = make_household(tree.north_a, code="HH-ONE")
    amina = make_individual(
        tree.north_a,
        given_name="Amina",
        family_name="Okafor",
        sex="F",
        birth_date=years_before(date.today(), 30),
        documents=[("national_id", "NI-123")],
    )
    kofi = make_individual(
        tree.north_b,
        given_name="Kofi",
        family_name="Okoro",
        sex="M",
        birth_date=years_before(date.today(), 3),
    )
    esi = make_individual(
        tree.north_b,
        given_name="Esi",
        family_name="Mensah",
        sex="F",
        birth_date=years_before(date.today(), 70),
        status="deceased",
    )
    sam = make_individual(
        tree.south, given_name="Sam", family_name="Okafor", sex="M", documents=[("voter_card", "V-9")]
    )
    household_member_add(household=household, individual=amina, role="head", is_primary_recipient=True)
    household_member_add(household=household, individual=kofi, role="child")
    return {"household": household, "amina": amina, "kofi": kofi, "esi": esi, "sam": sam}


def test_search_by_exact_document_number_and_by_name_prefix(maker, people) -> None:
    client = client_for(maker)
    assert names(client.get(LIST, {"q": "NI-123"})) == {"Amina Okafor"}
    assert names(client.get(LIST, {"q": "NI-12"})) == set()  # numbers match exactly
    assert names(client.get(LIST, {"q": "oka"})) == {"Amina Okafor"}  # Sam Okafor is in the South
    assert names(client.get(LIST, {"q": "ok"})) == {"Amina Okafor", "Kofi Okoro"}
    assert names(client.get(LIST, {"q": "ami oka"})) == {"Amina Okafor"}
    assert names(client.get(LIST, {"q": "V-9"})) == set()  # another location's document


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"sex": "F"}, {"Amina Okafor", "Esi Mensah"}),
        ({"status": "deceased"}, {"Esi Mensah"}),
        ({"age": "0-4"}, {"Kofi Okoro"}),
        ({"age": "18-59"}, {"Amina Okafor"}),
        ({"age": "60+"}, {"Esi Mensah"}),
        ({"role": "head"}, {"Amina Okafor"}),
        ({"role": "child"}, {"Kofi Okoro"}),
        ({"role": "none"}, {"Esi Mensah"}),
    ],
)
def test_filters(maker, people, params, expected) -> None:
    assert names(client_for(maker).get(LIST, params)) == expected


def test_location_filter_takes_a_subtree_and_only_visible_locations(maker, tree, people) -> None:
    client = client_for(maker)
    assert names(client.get(LIST, {"location": tree.north_b.pk})) == {"Kofi Okoro", "Esi Mensah"}
    assert names(client.get(LIST, {"location": tree.north.pk})) == {
        "Amina Okafor",
        "Kofi Okoro",
        "Esi Mensah",
    }
    assert names(client.get(LIST, {"location": tree.south.pk})) == set()


def test_age_bands_cut_at_birthdays() -> None:
    today = date(2026, 3, 1)
    four = Individual(birth_date=date(2021, 3, 2))  # four until tomorrow's fifth birthday
    five = Individual(birth_date=date(2021, 3, 1))
    band = age_band_q("0-4", today=today)
    assert band.children == [("birth_date__lte", date(2026, 3, 1)), ("birth_date__gt", date(2021, 3, 1))]
    assert four.age(today) == 4 and five.age(today) == 5


def test_household_shown_with_a_link(maker, people) -> None:
    response = client_for(maker).get(LIST)
    household_url = reverse("admin:registry_household_change", args=[people["household"].pk])
    assert f'<a href="{household_url}">HH-ONE</a>' in response.content.decode()


def test_list_query_count_does_not_grow_with_rows(
    maker, tree, make_individual, make_household, django_assert_max_num_queries
) -> None:
    client = client_for(maker)

    def build(count: int) -> None:
        household = make_household(tree.north_a)
        for index in range(count):
            person = make_individual(tree.north_a, documents=[("national_id", f"Q{count}-{index}")])
            household_member_add(
                household=household, individual=person, role="head" if index == 0 else "child"
            )

    build(5)
    client.get(LIST)  # warm the session and content types
    with django_assert_max_num_queries(16) as small:
        assert client.get(LIST).status_code == 200
    build(45)
    with django_assert_max_num_queries(16) as large:
        response = client.get(LIST)
    assert len(response.context["cl"].result_list) == 50
    assert len(large.captured_queries) == len(small.captured_queries)
    full_counts = [
        q["sql"]
        for q in large.captured_queries
        if q["sql"].startswith('SELECT COUNT(*) AS "__count" FROM "registry_')
    ]
    assert not full_counts  # only the capped count: SELECT COUNT(*) FROM (SELECT ... LIMIT 10001)


def test_another_locations_person_is_not_found(maker, people) -> None:
    client = client_for(maker)
    url = reverse("admin:registry_individual_change", args=[people["sam"].pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"given_name": "Hacked"}).status_code == 404
    assert (
        client.get(reverse("admin:registry_individual_history", args=[people["sam"].pk])).status_code == 404
    )
    people["sam"].refresh_from_db()
    assert people["sam"].given_name == "Sam"


def test_the_page_shows_household_enrolments_and_custom_fields(
    maker, people, django_assert_max_num_queries
) -> None:
    client = client_for(maker)
    url = reverse("admin:registry_individual_change", args=[people["amina"].pk])
    client.get(url)
    with django_assert_max_num_queries(30):
        response = client.get(url)
    page = response.content.decode()
    assert "HH-ONE" in page and "Head, primary recipient" in page
    assert "Not enrolled in any programme you can see." in page
    form = response.context["adminform"].form
    assert form.fields["data__education"].__class__.__name__ == "ChoiceField"
    assert form.fields["data__school_attendance"].max_value == 1
    assert form.fields["data__disability"].__class__.__name__ == "NullBooleanField"
    assert 'name="data__school_attendance"' in page and "Share of school days attended" in page


def add_form(location, **extra) -> dict[str, str]:
    data = {
        "given_name": "Ngozi",
        "family_name": "Adeyemi",
        "other_names": "",
        "sex": "F",
        "birth_date": "1985-04-02",
        "phone": "",
        "location": str(location.pk),
        "registration_date": "2026-01-10",
        "status": "active",
        "documents-TOTAL_FORMS": "1",
        "documents-INITIAL_FORMS": "0",
        "documents-0-doc_type": "national_id",
        "documents-0-value": "N-555",
        "data__education": "primary",
        "data__school_attendance": "0.9",
        "data__disability": "true",
        "data__occupation": "",
        "data__chronic_illness": "unknown",
    }
    data.update(extra)
    return data


def test_an_officer_registers_a_person_with_custom_fields(maker, tree) -> None:
    response = client_for(maker).post(reverse("admin:registry_individual_add"), add_form(tree.north_a))
    assert response.status_code == 302, response.context["adminform"].form.errors
    person = Individual.objects.get()
    assert person.data == {"education": "primary", "school_attendance": 0.9, "disability": True}
    assert list(person.documents.values_list("value", flat=True)) == ["N-555"]


def test_bad_input_is_shown_at_the_field_and_nothing_is_stored(maker, tree, people) -> None:
    response = client_for(maker).post(
        reverse("admin:registry_individual_add"),
        add_form(
            tree.north_a,
            **{"data__school_attendance": "7", "documents-0-value": "NI-123", "data__education": "phd"},
        ),
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["data__school_attendance"] == ["Ensure this value is less than or equal to 1."]
    assert "data__education" in form.errors
    inline = response.context["inline_admin_formsets"][0].formset
    assert inline.forms[0].errors["value"] == [
        f"National ID NI-123 is already used by Amina Okafor (id {people['amina'].pk})."
    ]
    assert not Individual.objects.filter(given_name="Ngozi").exists()


def test_an_officer_cannot_register_outside_their_locations(maker, tree) -> None:
    response = client_for(maker).post(reverse("admin:registry_individual_add"), add_form(tree.south))
    assert response.status_code == 200
    assert "location" in response.context["adminform"].form.errors
    assert not Individual.objects.exists()


def test_the_page_query_count_does_not_grow_with_documents(
    maker, tree, make_individual, django_assert_max_num_queries
) -> None:
    client = client_for(maker)
    one = make_individual(tree.north_a, documents=[("national_id", "D-1")])
    many = make_individual(
        tree.north_a,
        documents=[
            (kind, f"D-{kind}")
            for kind in ("national_id", "voter_card", "passport", "refugee_id", "social_security")
        ],
    )
    client.get(reverse("admin:registry_individual_change", args=[one.pk]))
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("admin:registry_individual_change", args=[one.pk]))
    with django_assert_max_num_queries(30) as more:
        response = client.get(reverse("admin:registry_individual_change", args=[many.pk]))
    assert len(response.context["inline_admin_formsets"][0].formset.forms) == 5
    assert len(more.captured_queries) == len(few.captured_queries)


def test_custom_field_filters_from_the_schema(maker, tree, make_individual) -> None:
    make_individual(
        tree.north_a, given_name="Ada", family_name="One", data={"disability": True, "education": "primary"}
    )
    make_individual(
        tree.north_a, given_name="Bea", family_name="Two", data={"disability": False, "education": "primary"}
    )
    make_individual(tree.north_a, given_name="Cal", family_name="Three")
    client = client_for(maker)
    assert names(client.get(LIST, {"cf_disability": "true"})) == {"Ada One"}
    assert names(client.get(LIST, {"cf_disability": "false"})) == {"Bea Two"}
    assert names(client.get(LIST, {"cf_education": "primary"})) == {"Ada One", "Bea Two"}
    response = client.get(LIST)
    titles = {spec.title for spec in response.context["cl"].filter_specs}
    assert {"living with a disability", "education", "occupation"} <= titles
    assert "share of school days attended" not in titles  # numbers get no list filter


def test_an_administrator_deletes_people_and_their_households_are_recounted(administrator, people) -> None:
    # Household size is stored (formulas and payrolls read it): a delete must not leave it counting the dead.
    client = client_for(administrator)
    household = people["household"]
    household.refresh_from_db()
    assert household.size == 2
    response = client.post(
        reverse("admin:registry_individual_delete", args=[people["kofi"].pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    household.refresh_from_db()
    assert household.size == 1
    response = client.post(
        LIST,
        {
            "action": "delete_selected",
            "_selected_action": [people["amina"].pk, people["esi"].pk],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    household.refresh_from_db()
    assert household.size == 0
    assert set(Individual.objects.values_list("given_name", flat=True)) == {"Sam"}


def test_a_beneficiary_cannot_be_deleted_and_nothing_changes(administrator, people) -> None:
    plan = BenefitPlan.objects.create(
        code="P", name="Plan", plan_type="individual", start_date=date(2026, 1, 1)
    )
    now = timezone.now()
    Beneficiary.objects.create(
        benefit_plan=plan,
        individual=people["kofi"],
        location=people["kofi"].location,
        status=BeneficiaryStatus.ACTIVE,
        status_changed_at=now,
        enrolled_at=now,
    )
    response = client_for(administrator).post(
        reverse("admin:registry_individual_delete", args=[people["kofi"].pk]), {"post": "yes"}
    )
    assert response.status_code == 200
    assert response.context["title"] == "Cannot delete individual"
    assert len(response.context["protected"]) == 1  # the beneficiary row, listed for the administrator
    people["household"].refresh_from_db()
    assert people["household"].size == 2
    assert Individual.objects.filter(pk=people["kofi"].pk).exists()
