"""``Outcome`` is a row of the outcomes table: same columns, same order, checked when the module loads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from recording_assets.pipeline.outcome import ArchiveReport, Outcome, check_row_fields, parse_time
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
