"""The dashboard's figures count only what the viewer may see."""

from __future__ import annotations

from registry.models import Household, Individual


def figures(client, user) -> dict[str, int]:  # type: ignore[no-untyped-def]
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 200
    return {figure.label: figure.value for figure in response.context["key_figures"]}


def test_figures_are_scoped_to_the_users_locations(client, tree, maker, south_officer, administrator):
    for location, count in ((tree.north_a, 3), (tree.north_b, 1), (tree.south, 2)):
        for number in range(count):
            Individual.objects.create(
                given_name="P", family_name=f"{location.code}{number}", sex="F", location=location
            )
    Household.objects.create(code="H-S-1", location=tree.south)

    north = figures(client, maker)
    assert north["People registered"] == 4 and north["Households registered"] == 0
    south = figures(client, south_officer)
    assert south["People registered"] == 2 and south["Households registered"] == 1
    everyone = figures(client, administrator)
    assert everyone["People registered"] == 6 and everyone["Households registered"] == 1
