"""The approval of an upload in "update" mode shows, for a sample of rows, each field it changes: the
registry's value before, the file's after; read in one query and escaped on the task page."""

from __future__ import annotations

from datetime import date

from django.urls import reverse

from approvals.actions import action_get
from registry.models import IdentityDocument, Individual, Location
from tests.uploads.conftest import csv_bytes, upload
from uploads.models import DuplicateMode
from uploads.selectors import UPDATE_SAMPLE, batch_update_changes
from uploads.services import batch_commit_request

HEADER = [
    "given_name",
    "family_name",
    "sex",
    "birth_date",
    "phone",
    "location_code",
    "national_id",
    "voter_card",
    "ind.education",
]


def _person(number: int, **fields) -> Individual:
    person = Individual.objects.create(
        given_name=f"Given{number}",
        family_name=f"Family{number}",
        sex="F",
        birth_date=date(1970, 1, 1),
        phone="+221 700",
        location=Location.objects.get(code="N-A"),
        data={"education": "primary", "disability": True},
        **fields,
    )
    IdentityDocument.objects.create(individual=person, doc_type="national_id", value=f"NID-{number}")
    return person


def test_each_changed_field_before_and_after(maker, individual_plan):
    person = _person(1)
    rows = [["Given1", "Family1-Diop", "F", "", "", "N-B", "NID-1", "V-9", "secondary"]]
    batch = upload(
        maker, individual_plan, csv_bytes(rows, header=HEADER), duplicate_mode=DuplicateMode.UPDATE
    )
    assert batch.update_rows == 1
    at = f"Row 2, individual #{person.pk}: "
    # Unchanged: given name, sex, national_id; kept when the cell is empty: birth date, phone.
    assert batch_update_changes(batch=batch) == [
        (at + "family_name", "Family1", "Family1-Diop"),
        (at + "location_code", "N-A", "N-B"),
        (at + "ind.education", "primary", "secondary"),
        (at + "voter_card", None, "V-9"),
    ]
    description = action_get("uploads.commit").describe(target=batch, payload={})
    assert (at + "family_name", "Family1", "Family1-Diop") in description.changes
    assert "registry value before, file value after" in description.summary


def test_a_sample_of_rows_in_one_query(maker, individual_plan, django_assert_num_queries):
    people = [_person(number) for number in range(UPDATE_SAMPLE + 5)]
    rows = [
        [
            f"Given{number}",
            f"Renamed{number}",
            "F",
            "1970-01-01",
            "+221 700",
            "N-A",
            f"NID-{number}",
            "",
            "primary",
        ]
        for number in range(len(people))
    ]
    batch = upload(
        maker, individual_plan, csv_bytes(rows, header=HEADER), duplicate_mode=DuplicateMode.UPDATE
    )
    assert batch.update_rows == len(people)
    with django_assert_num_queries(1):
        changes = batch_update_changes(batch=batch)
    assert changes == [
        (f"Row {number + 2}, individual #{person.pk}: family_name", f"Family{number}", f"Renamed{number}")
        for number, person in enumerate(people[:UPDATE_SAMPLE])
    ]


def test_the_task_page_escapes_the_values(client, maker, checker, individual_plan):
    person = _person(1)
    rows = [["Given1", "<script>alert(1)</script>", "F", "", "", "N-A", "NID-1", "", ""]]
    batch = upload(
        maker, individual_plan, csv_bytes(rows, header=HEADER), duplicate_mode=DuplicateMode.UPDATE
    )
    task = batch_commit_request(batch=batch, user=maker)
    client.force_login(checker)
    page = client.get(reverse("admin:approvals_task_change", args=[task.pk])).content.decode()
    assert f"Row 2, individual #{person.pk}: family_name" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
