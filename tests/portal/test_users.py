"""An administrator creates a complete user (account, roles, profile, location scope) on one page."""

from __future__ import annotations

from django.contrib.auth.models import Group, User

from access.roles import APPROVER, REGISTRY_OFFICER
from portal.models import UserProfile

STRONG = "Harvest-Lantern-42x"


def add_user_form(tree, **overrides):  # type: ignore[no-untyped-def]
    data = {
        "username": "amina",
        "usable_password": "true",
        "password1": STRONG,
        "password2": STRONG,
        "first_name": "Amina",
        "last_name": "Okafor",
        "email": "amina@example.org",
        "is_active": "on",
        "is_staff": "on",
        "groups": [Group.objects.get(name=REGISTRY_OFFICER).pk, Group.objects.get(name=APPROVER).pk],
        "profile-TOTAL_FORMS": "1",
        "profile-INITIAL_FORMS": "0",
        "profile-MIN_NUM_FORMS": "1",
        "profile-MAX_NUM_FORMS": "1",
        "profile-0-phone": "+254700000001",
        "profile-0-preferred_language": "fr",
        "profile-0-locations": [tree.north_a.pk, tree.south.pk],
    }
    data.update(overrides)
    return data


def test_add_page_shows_roles_and_profile(client, administrator):
    client.force_login(administrator)
    response = client.get("/admin/auth/user/add/")
    assert response.status_code == 200
    page = response.content.decode()
    for field in (
        'name="groups"',
        'name="profile-0-phone"',
        'name="profile-0-preferred_language"',
        'name="profile-0-locations"',
    ):
        assert field in page, field
    assert response.context["adminform"].form.initial["is_staff"] is True


def test_administrator_creates_a_complete_user_in_one_post(client, administrator, tree):
    client.force_login(administrator)
    response = client.post("/admin/auth/user/add/", add_user_form(tree))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""

    user = User.objects.get(username="amina")
    assert user.check_password(STRONG)
    assert user.is_staff and user.is_active and not user.is_superuser
    assert set(user.groups.values_list("name", flat=True)) == {REGISTRY_OFFICER, APPROVER}
    assert user.profile.phone == "+254700000001"
    assert user.profile.preferred_language == "fr"
    assert set(user.profile.locations.values_list("code", flat=True)) == {"N-A", "S"}
    assert user.has_perm("registry.add_individual")
    # The new user signs in through the login page and sees only their scope.
    client.logout()
    signed_in = client.post("/admin/login/", {"username": "amina", "password": STRONG, "next": "/admin/"})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/admin/"
    locations = client.get("/admin/registry/location/").context["cl"].result_list
    assert {location.code for location in locations} == {"N-A", "S"}


def test_change_page_edits_roles_and_scope(client, administrator, tree, maker):
    client.force_login(administrator)
    page = client.get(f"/admin/auth/user/{maker.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {
        "username": maker.username,
        "first_name": "",
        "last_name": "",
        "email": maker.email,
        "is_active": "on",
        "is_staff": "on",
        "groups": [Group.objects.get(name=APPROVER).pk],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": form.initial["date_joined"].strftime("%Y-%m-%d"),
        "date_joined_1": form.initial["date_joined"].strftime("%H:%M:%S"),
        "profile-TOTAL_FORMS": "1",
        "profile-INITIAL_FORMS": "1",
        "profile-MIN_NUM_FORMS": "1",
        "profile-MAX_NUM_FORMS": "1",
        "profile-0-id": maker.profile.pk,
        "profile-0-user": maker.pk,
        "profile-0-phone": "+1 555",
        "profile-0-preferred_language": "pt",
        "profile-0-locations": [tree.south.pk],
    }
    response = client.post(f"/admin/auth/user/{maker.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    maker.refresh_from_db()
    assert list(maker.groups.values_list("name", flat=True)) == [APPROVER]
    assert list(maker.profile.locations.values_list("code", flat=True)) == ["S"]
    assert maker.profile.history.first().history_user == administrator


def test_weak_password_is_refused_and_nothing_is_created(client, administrator, tree):
    client.force_login(administrator)
    for weak in ("password123", "12345678901", "amina-okafor"[:8], "Amina"):
        response = client.post("/admin/auth/user/add/", add_user_form(tree, password1=weak, password2=weak))
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert "password2" in errors, weak
    assert not User.objects.filter(username="amina").exists()
    assert not UserProfile.objects.filter(user__username="amina").exists()


def test_user_added_without_profile_details_still_gets_a_profile(client, administrator, tree):
    client.force_login(administrator)
    data = add_user_form(
        tree, **{"profile-0-phone": "", "profile-0-preferred_language": "en", "profile-0-locations": []}
    )
    assert client.post("/admin/auth/user/add/", data).status_code == 302
    assert UserProfile.objects.filter(user__username="amina", phone="").exists()


def test_officers_cannot_manage_users(client, maker):
    client.force_login(maker)
    assert client.get("/admin/auth/user/add/").status_code == 403
