"""Loading the location tree from a file: whole-file checks, parents first, re-import updates."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import tablib
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from registry.models import Location, LocationLevel
from registry.resources import location_import
from registry.selectors import location_subtree

HEADER = "code,name,parent_code,level,latitude,longitude\n"


def dataset(text: str) -> tablib.Dataset:
    return tablib.Dataset().load(text, format="csv")


def import_text(text: str, **kwargs):  # type: ignore[no-untyped-def]
    return location_import(dataset=dataset(text), **kwargs)


def problems(text: str) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        import_text(text)
    return caught.value.messages


def tree_of() -> dict[str, tuple[str | None, int]]:
    return {
        loc.code: (loc.parent.code if loc.parent else None, loc.depth)
        for loc in Location.objects.select_related("parent")
    }


def assert_paths_consistent() -> None:
    for location in Location.objects.select_related("parent"):
        expected = (location.parent.path if location.parent else "") + f"{location.pk:08d}."
        assert location.path == expected, location.code
        assert location.depth == expected.count(".") - 1


@pytest.mark.django_db
def test_children_before_parents_are_written_parents_first():
    result = import_text(
        HEADER
        + "V1,Village 1,W1,Village,,\n"
        + "W1,Ward 1,D1,Ward,,\n"
        + "R1,Region 1,,Region,-1.5,36.8\n"
        + "D1,District 1,R1,District,,\n"
    )
    assert result.totals["new"] == 4
    assert tree_of() == {"R1": (None, 0), "D1": ("R1", 1), "W1": ("D1", 2), "V1": ("W1", 3)}
    assert_paths_consistent()
    assert list(LocationLevel.objects.values_list("depth", "name")) == [
        (0, "Region"),
        (1, "District"),
        (2, "Ward"),
        (3, "Village"),
    ]
    region = Location.objects.get(code="R1")
    assert str(region.latitude) == "-1.500000" and str(region.longitude) == "36.800000"
    assert {loc.code for loc in location_subtree(location=region)} == {"R1", "D1", "W1", "V1"}


@pytest.mark.django_db
def test_reimport_updates_by_code_and_moves_subtrees():
    import_text(HEADER + "R1,Region 1,,,,\nR2,Region 2,,,,\nD1,District 1,R1,,,\nW1,Ward 1,D1,,,\n")
    first_ids = dict(Location.objects.values_list("code", "pk"))

    result = import_text("code,name,parent_code\nD1,District One,R2\nR1,Region 1,\n")

    assert result.totals["update"] == 1 and result.totals["skip"] == 1
    assert dict(Location.objects.values_list("code", "pk")) == first_ids  # updated, not duplicated
    assert Location.objects.get(code="D1").name == "District One"
    assert tree_of()["W1"] == ("D1", 2)
    assert {loc.code for loc in location_subtree(location=Location.objects.get(code="R2"))} == {
        "R2",
        "D1",
        "W1",
    }
    assert {loc.code for loc in location_subtree(location=Location.objects.get(code="R1"))} == {"R1"}
    assert_paths_consistent()


@pytest.mark.django_db
def test_columns_missing_from_the_file_are_left_alone():
    import_text(HEADER + "R1,Region 1,,Region,1.25,2.5\nD1,District 1,R1,District,,\n")
    import_text("code,name\nD1,District renamed\n")
    district = Location.objects.get(code="D1")
    assert district.name == "District renamed"
    assert district.parent.code == "R1"  # no parent_code column: the parent stays
    assert str(Location.objects.get(code="R1").latitude) == "1.250000"


@pytest.mark.django_db
def test_unknown_parent_names_row_column_and_code():
    messages = problems(HEADER + "R1,Region 1,,,,\nD1,District 1,R9,,,\n")
    assert messages == [
        "Row 3, column parent_code: parent 'R9' of 'D1' is neither in this file nor an existing location."
    ]
    assert not Location.objects.exists()


@pytest.mark.django_db
def test_parent_may_be_an_existing_location(tree):
    import_text("code,name,parent_code\nN-A-1,Ward 1,N-A\n")
    assert Location.objects.get(code="N-A-1").path.startswith(tree.north_a.path)


@pytest.mark.django_db
def test_cycle_in_the_file_is_named_and_nothing_written():
    messages = problems(HEADER + "R1,Region 1,,,,\nA,A,B,,,\nB,B,A,,,\n")
    assert len(messages) == 1
    assert "cycle: A → B → A" in messages[0] and "rows 3, 4" in messages[0]
    assert not Location.objects.exists()


@pytest.mark.django_db
def test_cycle_through_existing_locations(tree):
    # N-A lies under N: making N a child of N-A closes a loop through the database.
    messages = problems("code,name,parent_code\nN,North,N-A\n")
    assert len(messages) == 1 and "N → N-A → N" in messages[0]
    assert Location.objects.get(code="N").parent is None


@pytest.mark.django_db
def test_self_parent():
    assert problems("code,name,parent_code\nA,A,A\nB,B,A\n") == [
        "Row 2, column parent_code: location 'A' cannot be its own parent."
    ]


@pytest.mark.django_db
def test_duplicate_codes_name_both_rows():
    messages = problems("code,name,parent_code\nA,A,\nB,B,A\nA,A again,\n")
    assert messages == ["Rows 2 and 4, column code: code 'A' appears twice in the file."]
    assert not Location.objects.exists()


@pytest.mark.django_db
def test_every_problem_is_listed_and_bad_cells_are_named():
    messages = problems(HEADER + ",No code,,,,\nA,,,,,\nB,B,,,north,\nC,C,,,,200\nD,D,,,1.1234567,\n")
    assert messages == [
        "Row 2, column code: the code is empty.",
        "Row 3, column name: the name of A is empty.",
        "Row 4, column latitude: 'north' is not a number.",
        "Row 5, column longitude: 200 is outside -180..180.",
        "Row 6, column latitude: 1.1234567 has more than 6 decimal places.",
    ]


@pytest.mark.django_db
def test_missing_columns_and_conflicting_level_names():
    assert problems("code,label\nA,x\n") == [
        "The file has no 'name' column (columns found: code, label; expected: "
        "code, name, parent_code, level, latitude, longitude)."
    ]
    messages = problems(HEADER + "A,A,,Region,,\nB,B,,Province,,\n")
    assert messages == ["Rows 2 and 3, column level: level 0 is called both 'Region' and 'Province'."]
    assert not LocationLevel.objects.exists()


@pytest.mark.django_db
def test_dry_run_writes_nothing():
    result = import_text(HEADER + "R1,Region 1,,Region,,\n", dry_run=True)
    assert result.totals["new"] == 1
    assert not Location.objects.exists() and not LocationLevel.objects.exists()


@pytest.mark.django_db
def test_export_round_trip(tree):
    from registry.resources import LocationResource

    LocationLevel.objects.create(depth=1, name="District")
    exported = LocationResource().export(Location.objects.select_related("parent").order_by("path"))
    assert exported.headers == ["code", "name", "parent_code", "level", "latitude", "longitude"]
    rows = {row[0]: row for row in exported}
    assert rows["N-A"][2] == "N" and rows["N-A"][3] == "District" and rows["N"][2] == ""
    result = location_import(dataset=exported)
    assert result.totals["skip"] == 4


@pytest.mark.django_db
def test_command_imports_and_reports(tmp_path: Path):
    good = tmp_path / "locations.csv"
    good.write_text("code,name,parent_code\nD1,District 1,R1\nR1,Region 1,\n")
    out = io.StringIO()
    call_command("import_locations", str(good), stdout=out)
    assert "2 new, 0 updated, 0 unchanged" in out.getvalue()

    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,parent_code\nX,X,NOPE\n")
    with pytest.raises(CommandError) as caught:
        call_command("import_locations", str(bad))
    assert "nothing was imported" in str(caught.value)
    assert "Row 2, column parent_code: parent 'NOPE'" in str(caught.value)
    assert Location.objects.count() == 2


@pytest.mark.django_db
def test_a_failure_while_writing_leaves_nothing_behind(monkeypatch):
    import registry.services

    real = registry.services.location_rebuild_path

    def failing(*, location: Location) -> None:
        if location.code == "W1":
            raise RuntimeError("disk full")
        real(location=location)

    monkeypatch.setattr(registry.services, "location_rebuild_path", failing)
    messages = problems(HEADER + "R1,Region 1,,Region,,\nD1,District 1,R1,District,,\nW1,Ward 1,D1,Ward,,\n")
    assert any("disk full" in message for message in messages)
    assert not Location.objects.exists() and not LocationLevel.objects.exists()


@pytest.mark.django_db
def test_spreadsheet_with_numeric_codes():
    sheet = tablib.Dataset(headers=["Code", "Name", "Parent code", "Latitude"])
    sheet.append([102, "District", 1, None])
    sheet.append([1, "Region", None, -1.25])
    loaded = tablib.Dataset().load(sheet.export("xlsx"), format="xlsx")
    location_import(dataset=loaded)
    assert tree_of() == {"1": (None, 0), "102": ("1", 1)}
    assert str(Location.objects.get(code="1").latitude) == "-1.250000"


@pytest.mark.django_db
def test_moving_an_ancestor_and_editing_its_descendants_in_one_file():
    import_text("code,name,parent_code\nR1,Region 1,\nD1,District 1,R1\nW1,Ward 1,D1\nV1,Village 1,W1\n")
    import_text(
        "code,name,parent_code\nW1,Ward renamed,D1\nD1,District renamed,R1\nR1,Region 1,R2\nR2,Region 2,\n"
    )
    assert tree_of() == {
        "R2": (None, 0),
        "R1": ("R2", 1),
        "D1": ("R1", 2),
        "W1": ("D1", 3),
        "V1": ("W1", 4),
    }
    assert Location.objects.get(code="W1").name == "Ward renamed"
    assert_paths_consistent()
