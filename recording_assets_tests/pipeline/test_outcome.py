"""``Outcome`` is a row of the outcomes table: same columns, same order, checked when the module loads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from recording_assets.pipeline.outcome import (
    ArchiveReport,
    Outcome,
    check_row_fields,
    outcomes_from_rows,
    parse_time,
)
from recording_assets.pipeline.states import State
from recording_assets.pipeline.tables import OUTCOMES, to_table

AT = datetime(2026, 11, 20, 10, 30, tzinfo=timezone.utc)


def test_row_has_every_outcomes_column_in_order():
    outcome = Outcome(
        "c1",
        "r1",
        State.ARCHIVED,
        sha256="ab" * 32,
        size_bytes=10,
        attempts=2,
        archived_at=AT,
        archived_run_id="run-1",
        checksum_verified_by="s3-checksum",
    )
    row = outcome.row("run-2")
    assert list(row) == OUTCOMES.names
    assert row["state"] == "archived" and row["run_id"] == "run-2" and row["archived_run_id"] == "run-1"
    assert to_table([row], OUTCOMES).to_pylist() == [row]


def test_a_row_read_back_is_the_outcome_that_wrote_it():
    quarantined = Outcome(
        "c1",
        "r2",
        State.QUARANTINED,
        reason="bad",
        sha256="cd" * 32,
        size_bytes=64,
        quarantine_uri="s3://a/quarantine/x",
        attempts=2,
        quarantine_repeats=2,
    )
    restoring = Outcome("c1", "r3", State.RESTORING, file_state="RESTORING", restore_until=AT)
    for outcome in (quarantined, restoring):
        assert Outcome.from_row(outcome.row("run-1")) == outcome
    back = to_table([quarantined.row("run-1")], OUTCOMES).to_pylist()[0]  # as Parquet gives it back
    assert Outcome.from_row(back) == quarantined


def test_a_row_read_back_takes_absent_columns_as_null_and_a_restore_date_as_text():
    assert Outcome.from_row({"conversation_id": "c1", "recording_id": "r1", "state": "failed"}) == Outcome(
        "c1", "r1", State.FAILED, attempts=0
    )
    row = {"conversation_id": "c1", "recording_id": "r1", "state": "restoring"}
    assert Outcome.from_row({**row, "restore_until": AT.isoformat()}).restore_until == AT
    assert Outcome.from_row({**row, "restore_until": "soon"}).restore_until is None
    rows = [{**row, "recording_id": None}, {**row, "recording_id": ""}, row]
    assert outcomes_from_rows(rows) == [Outcome("c1", "r1", State.RESTORING)]


def test_defaults_and_key():
    outcome = Outcome("c1", "r1", State.FAILED, reason="no attempt left")
    assert outcome.key == ("c1", "r1")
    assert (outcome.attempts, outcome.sha256, outcome.storage_uri) == (0, None, None)


def test_a_row_type_that_misses_a_column_is_refused():
    @dataclass
    class Short:
        conversation_id: str
        recording_id: str

    with pytest.raises(TypeError, match="Short fields"):
        check_row_fields(Short, OUTCOMES, added=("run_id",))
    check_row_fields(Outcome, OUTCOMES, added=("run_id",))  # the real one passes
    with pytest.raises(TypeError):
        check_row_fields(Outcome, OUTCOMES)  # run_id is the table's, not the outcome's


def test_parse_time_trusts_nothing():
    assert parse_time("2026-11-20T10:30:00+00:00") == AT
    assert parse_time(None) is None
    assert parse_time("") is None
    assert parse_time("yesterday") is None


def test_report_starts_empty():
    report = ArchiveReport()
    assert report.outcomes == [] and report.outcomes is not ArchiveReport().outcomes
    assert (report.batch_rounds, report.lookups, report.uploads, report.uploaded_bytes) == (0, 0, 0, 0)
