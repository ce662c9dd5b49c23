"""The admin site is the portal: branding, sections in delivery-chain order, the dashboard."""

from django.contrib import admin

from portal.sites import PortalAdminSite


def test_default_site_is_ours():
    assert isinstance(admin.site, PortalAdminSite)


def test_dashboard_sections_and_figures(client, admin_user, tree):
    client.force_login(admin_user)
    response = client.get("/admin/")
    assert response.status_code == 200
    sections = [app["name"] for app in response.context["app_list"]]
    assert sections[0] == "Registry"
    assert sections[-1] == "Administration"
    assert b"Social Protection Portal" in response.content
    figures = {f.label: f.value for f in response.context["key_figures"]}
    assert figures["People registered"] == 0


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_sidebar_follows_the_delivery_chain(client, admin_user):
    client.force_login(admin_user)
    sections = {
        app["name"]: [model["admin_url"] for model in app["models"]]
        for app in client.get("/admin/").context["app_list"]
    }
    assert list(sections)[:2] == ["Registry", "Programmes"]
    assert "/admin/registry/location/" in sections["Registry"]
    for name, urls in sections.items():  # uploads (intake) belong to registration
        assert name == "Registry" or not [
            u for u in urls if u.startswith(("/admin/registry/", "/admin/uploads/"))
        ]
    assert "/admin/auth/user/" in sections["Administration"]
    assert not [
        url for url in sections["Administration"] if url.startswith(("/admin/registry/", "/admin/uploads/"))
    ]
