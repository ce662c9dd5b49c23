"""`import_beneficiaries`: the same pipeline from the command line, queued or approved in one go."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from approvals.models import Approval, Task, TaskState
from registry.models import Individual
from tests.uploads.conftest import csv_bytes, household_rows
from uploads.models import BatchState, ImportBatch


def test_queues_the_commit_and_writes_rejected_rows(maker, household_plan, tmp_path, capsys):
    rows = household_rows() + [["Bad", "Row", "Q", "1990-01-01", "N-A", "ID9", "H9", "head", "", "", ""]]
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes(rows))
    call_command("import_beneficiaries", str(path), plan="CASH", username="maker", no_progress=True)
    out = capsys.readouterr().out
    assert "3 new individuals, 1 new households" in out and "1 rows with errors" in out
    assert "people-rejected.csv" in out
    assert "'Q' is not one of" in (tmp_path / "people-rejected.csv").read_text(encoding="utf-8-sig")
    batch = ImportBatch.objects.get()
    assert batch.state == BatchState.AWAITING_APPROVAL
    assert Task.objects.get().state == TaskState.PENDING and Individual.objects.count() == 0


def test_approve_as_commits_in_one_go_recorded_as_an_approval(
    maker, checker, household_plan, tmp_path, capsys
):
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes(household_rows()))
    call_command(
        "import_beneficiaries", str(path), plan="CASH", username="maker", approver="checker", no_progress=True
    )
    assert "Committed" in capsys.readouterr().out
    task = Task.objects.get()
    assert task.state == TaskState.EXECUTED
    assert Approval.objects.get(task=task).user == checker
    assert Individual.objects.count() == 3
    assert ImportBatch.objects.get().state == BatchState.COMMITTED


def test_nothing_committable_exits_non_zero(maker, household_plan, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes([["Bad", "Row", "Q", "1990-01-01", "N-A", "ID9", "H9", "head", "", "", ""]]))
    with pytest.raises(CommandError, match="Nothing can be committed"):
        call_command("import_beneficiaries", str(path), plan="CASH", username="maker", no_progress=True)


def test_maker_cannot_approve_own_import(maker, household_plan, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes(household_rows()))
    with pytest.raises(CommandError, match="another user"):
        call_command(
            "import_beneficiaries",
            str(path),
            plan="CASH",
            username="maker",
            approver="maker",
            no_progress=True,
        )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (csv_bytes([], header=["nonsense"]), "people.csv: Unknown column\\(s\\): nonsense"),
        (csv_bytes([]), "people.csv has a header but no data rows"),
        (b"", "people.csv is empty"),
        (
            b"given_name,family_name\n\xff\xfe\x00bad",
            "people.csv: The file cannot be read as utf-8: choose its encoding",
        ),
    ],
)
def test_a_bad_file_is_refused_before_any_batch_is_stored(maker, household_plan, tmp_path, content, message):
    path = tmp_path / "people.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        call_command(
            "import_beneficiaries",
            str(path),
            plan="CASH",
            username="maker",
            encoding="utf-8",
            no_progress=True,
        )
    assert not ImportBatch.objects.exists()
