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
