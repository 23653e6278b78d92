"""The ledger: the day's run state, changed only through its methods, and the report it makes."""

from __future__ import annotations

import pytest

from recording_assets.pipeline.ledger import Ledger
from recording_assets.pipeline.outcome import Outcome
from recording_assets.pipeline.states import State
from recording_assets_tests.pipeline.test_classify import conversation


def test_a_second_outcome_for_a_recording_replaces_the_first():
    ledger = Ledger()
    ledger.finish(Outcome("c1", "r1", State.FAILED, reason="batch download: no result"))
    ledger.finish_all([Outcome("c1", "r2", State.DELETED), Outcome("c1", "r1", State.ARCHIVED)])
    assert {k: o.state for k, o in ledger.outcomes.items()} == {
        ("c1", "r1"): State.ARCHIVED,
        ("c1", "r2"): State.DELETED,
    }
    assert [o.key for o in ledger.report().outcomes] == [("c1", "r1"), ("c1", "r2")]


def test_the_first_object_found_for_a_recording_stands_and_is_its_outcome():
    ledger = Ledger()
    first = Outcome("c1", "r1", State.ALREADY_ARCHIVED, storage_uri="s3://a/q1/r1.wav")
    second = Outcome("c1", "r1", State.ALREADY_ARCHIVED, storage_uri="s3://a/q2/r1.wav")
    ledger.found_in_archive([first, second, Outcome("c2", "r1", State.ALREADY_ARCHIVED)])
    assert ledger.existing[("c1", "r1")] is first and ledger.outcomes[("c1", "r1")] is first
    assert list(ledger.existing) == list(ledger.outcomes) == [("c1", "r1"), ("c2", "r1")]
    ledger.finish(Outcome("c2", "r1", State.FAILED))  # the outcome may change; what the archive held does not
    assert ledger.existing[("c2", "r1")].state is State.ALREADY_ARCHIVED


def test_views_are_read_only():
    ledger = Ledger()
    with pytest.raises(TypeError):
        ledger.outcomes[("c1", "r1")] = Outcome("c1", "r1", State.FAILED)
    with pytest.raises(TypeError):
        ledger.conversations["c1"] = conversation("c1", 1)


def test_conversations_are_taken_once_as_pages_arrive():
    ledger = Ledger()
    assert list(ledger.add_conversations([conversation("c1", 1), conversation("c2", 0)])) == ["c1", "c2"]
    assert list(ledger.add_conversations([conversation("c2", 3), conversation("c3", 1)])) == ["c3"]
    assert ledger.conversations["c2"].recorded_sessions == 0  # the first page's stands
    assert list(ledger.conversations) == ["c1", "c2", "c3"]


def test_unsettled_conversations():
    ledger = Ledger()
    ledger.mark_unsettled("c1")
    assert ledger.is_unsettled("c1") and not ledger.is_unsettled("c2")


def test_the_report_counts_what_the_steps_counted():
    ledger = Ledger()
    empty = ledger.report()
    assert (empty.batch_rounds, empty.lookups, empty.uploads, empty.protection) == (0, 0, 0, {})
    ledger.count_batch_round()
    ledger.count_batch_round()
    ledger.count_lookups(3)
    ledger.count_lookups(2)
    for size in (10, 20):
        ledger.count_download_attempt()
        ledger.count_upload(size)
    ledger.count_download_attempt()
    ledger.count_quarantined_attempt()
    ledger.count_url_refreshes(4)
    ledger.count_restoration()
    ledger.count_protected(100)
    ledger.count_protected(20)
    ledger.count_protection_lifted(lifted=110, kept=10)
    rows = [
        {"conversation_id": "c1", "recorded_sessions": 1, "recordings": 1, "settled": True, "run_id": "r"}
    ]
    report = ledger.report(rows)
    assert (report.batch_rounds, report.lookups, report.downloads) == (2, 5, 3)
    assert (report.uploads, report.uploaded_bytes, report.quarantined_attempts) == (2, 30, 1)
    assert (report.url_refreshes, report.restorations, report.annotation_requests) == (4, 1, 0)
    assert report.protection == {"protected": 120, "lifted": 110, "kept": 10}
    assert report.conversations == rows
    report.protection["kept"] = 0  # a report is a copy: the ledger's counts stay
    assert ledger.report().protection["kept"] == 10
