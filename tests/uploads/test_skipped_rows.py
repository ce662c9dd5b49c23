"""Nothing silent: rows skipped as duplicates are listed row by row, with why and the record they matched,
in the same file as the rejected rows; the file goes back in as an upload."""

from __future__ import annotations

import csv
import io
from datetime import date

from django.urls import reverse

from registry.models import IdentityDocument, Individual, Location
from tests.uploads.conftest import csv_bytes, upload
from uploads.exports import rejected_rows_csv
from uploads.models import BatchState, RowStatus, StagedRow

HEADER = ["given_name", "family_name", "sex", "birth_date", "location_code", "national_id"]


def _listed(batch) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(rejected_rows_csv(batch=batch)).lstrip("\ufeff"))))


def test_skipped_and_rejected_rows_in_file_order_with_reason_and_reference(maker, individual_plan):
    by_document = Individual.objects.create(
        given_name="Awa", family_name="Ba", sex="F", location=Location.objects.get(code="N-A")
    )
    IdentityDocument.objects.create(individual=by_document, doc_type="national_id", value="X1")
    by_name = Individual.objects.create(
        given_name="Binta",
        family_name="Sy",
        sex="F",
        birth_date=date(1975, 5, 5),
        location=Location.objects.get(code="N-B"),
    )
    rows = [
        ["Awa", "Ba", "F", "1970-01-01", "N-A", "X1"],  # 2: in the registry by document
        ["New", "One", "M", "1990-01-01", "N-A", "X2"],  # 3: new
        ["Twice", "Same", "M", "1990-01-01", "N-A", "X2"],  # 4: same national_id as row 3
        ["Bad", "Sex", "Q", "1990-01-01", "N-A", "X4"],  # 5: rejected
        ["binta", "SY", "F", "1975-05-05", "N-B", ""],  # 6: in the registry by name, birth date, location
        ["Kofi", "Mensah", "M", "1991-01-01", "N-A", ""],  # 7: new
        ["KOFI", "mensah", "M", "1991-01-01", "N-A", ""],  # 8: same name... as row 7
    ]
    batch = upload(maker, individual_plan, csv_bytes(rows, header=HEADER))
    assert (batch.new_rows, batch.skipped_rows, batch.error_rows) == (2, 4, 1)
    listed = _listed(batch)
    assert listed[0] == [*HEADER, "outcome", "errors"]
    assert [row[0] for row in listed[1:]] == ["Awa", "Twice", "Bad", "binta", "KOFI"]  # as read, file order
    assert [row[-2:] for row in listed[1:]] == [
        [
            "skipped",
            f"row 2: skipped: Already in the registry as individual #{by_document.pk} "
            "(same identity document).",
        ],
        ["skipped", "row 4: skipped: Duplicate of row 3 of this file (same national_id)."],
        ["rejected", "row 5: sex: 'Q' is not one of: F, M, X."],
        [
            "skipped",
            f"row 6: skipped: Possibly already in the registry as individual #{by_name.pk} "
            "(same name, birth date and location).",
        ],
        ["skipped", "row 8: skipped: Duplicate of row 7 of this file (same name, birth date and location)."],
    ]


def test_the_listing_goes_back_in_as_an_upload(maker, individual_plan):
    rows = [
        ["Kofi", "Mensah", "M", "1991-01-01", "N-A", "X7"],
        ["Kofi", "Mensah", "M", "1991-01-01", "N-A", "X7"],
        ["Bad", "Sex", "Q", "1990-01-01", "N-A", "X8"],
    ]
    first = upload(maker, individual_plan, csv_bytes(rows, header=HEADER))
    listed = _listed(first)
    listed[2][2] = "M"
    fixed = io.StringIO()
    csv.writer(fixed).writerows(listed)
    again = upload(maker, individual_plan, fixed.getvalue().encode("utf-8"), name="again.csv")
    assert again.state == BatchState.VALIDATED, again.error
    assert dict(StagedRow.objects.filter(batch_id=again.pk).values_list("row_number", "status")) == {
        2: RowStatus.NEW,
        3: RowStatus.NEW,
    }


def test_the_batch_page_offers_the_listing_when_rows_were_only_skipped(client, maker, individual_plan):
    rows = [
        ["Kofi", "Mensah", "M", "1991-01-01", "N-A", "X7"],
        ["Kofi", "Mensah", "M", "1991-01-01", "N-A", "X7"],
    ]
    batch = upload(maker, individual_plan, csv_bytes(rows, header=HEADER))
    assert (batch.skipped_rows, batch.error_rows) == (1, 0)
    client.force_login(maker)
    page = client.get(reverse("admin:uploads_importbatch_change", args=[batch.pk])).content.decode()
    assert 'id="download-rejected"' in page and "0 rejected and 1 skipped rows" in page
    response = client.get(reverse("admin:uploads_importbatch_rejected", args=[batch.pk]))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "row 3: skipped: Duplicate of row 2 of this file (same national_id)." in text


def test_the_listing_reads_by_chunks_not_by_row(
    maker, individual_plan, django_assert_num_queries, monkeypatch
):
    rows = [[f"Kofi{n}", "Mensah", "M", "1991-01-01", "N-A", f"X{n % 3}"] for n in range(9)]
    rows[4][2] = "Q"
    batch = upload(maker, individual_plan, csv_bytes(rows, header=HEADER))
    assert (batch.skipped_rows, batch.error_rows) == (5, 1)
    with django_assert_num_queries(3):  # the rows, their errors, then no more rows
        assert len(_listed(batch)) == 1 + 6
    monkeypatch.setattr("uploads.selectors.CHUNK", 2)
    with django_assert_num_queries(2 * 3 + 1):
        assert len(_listed(batch)) == 1 + 6
