"""Each user sees the portal in the language of their profile."""

from __future__ import annotations

from tests.conftest import PASSWORD


def test_the_profile_language_is_used_after_sign_in(client, maker):
    maker.profile.preferred_language = "fr"
    maker.profile.save()
    client.post("/admin/login/", {"username": "maker", "password": PASSWORD}, REMOTE_ADDR="10.0.0.5")
    response = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Language"] == "fr"
    assert "Déconnexion" in response.content.decode()  # the admin's own "Log out"


def test_without_a_choice_the_browser_language_is_used(client, db):
    response = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="pt")
    assert response["Content-Language"] == "pt"


def test_english_profile_overrides_a_french_browser(client, maker):
    client.post("/admin/login/", {"username": "maker", "password": PASSWORD}, REMOTE_ADDR="10.0.0.5")
    assert client.get("/admin/", HTTP_ACCEPT_LANGUAGE="fr")["Content-Language"] == "en"
