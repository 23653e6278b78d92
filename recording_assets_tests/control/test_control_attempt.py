"""Every control attempt leaves an audit record, whatever cuts it short (real audit bucket on moto).

``act`` is what the CLI and the Dagster job pass in (open a client, ``perform``); here it stands for
"anything that can happen in there": a bug's exception, a Genesys error, Ctrl-C.
"""

from __future__ import annotations

import json

import pytest

from recording_assets.archive.store import ArchiveStore
from recording_assets.control.actions import ControlOutcome, ControlRequest
from recording_assets.control.attempt import attempt
from recording_assets.control.audit import ControlAuditStore

CONVERSATION = "4b1c2d3e-0000-4000-8000-000000000001"
REQUEST = ControlRequest("pause", CONVERSATION)


def records(s3_client, bucket: str) -> list[dict]:
    store = ArchiveStore(s3_client, bucket=bucket)
    keys = [item.key for item in store.list_day("control-audit/")]
    return [json.loads(store.get_bytes(key) or b"{}") for key in keys]


def audited(audit, act):
    return attempt(REQUEST, act, audit=audit, launched_by="cli:alice", source="cli", reason="PCI")


@pytest.fixture
def audit(s3_client, bucket_names):
    return ControlAuditStore(ArchiveStore(s3_client, bucket=bucket_names[1]))


def test_an_unexpected_exception_is_a_failed_outcome_with_its_record(audit, s3_client, bucket_names):
    def a_bug():
        raise KeyError("https://api.example.com/x?access_token=SECRET123")

    done = audited(audit, a_bug)
    assert done.outcome.outcome == "failed" and done.outcome.error_type == "KeyError"
    assert "before the outcome was known" in done.outcome.message
    assert "SECRET123" not in done.outcome.message  # URLs in an error's text lose their query
    [record] = records(s3_client, bucket_names[1])
    assert record["outcome"] == "failed" and record["error_type"] == "KeyError"
    assert record["conversation_id"] == CONVERSATION and record["reason"] == "PCI"
    assert done.audit_uri and done.audit_uri.endswith(f"{record['event_id']}.json")
    assert "SECRET123" not in json.dumps(record)


def test_an_interruption_is_recorded_and_still_raised(audit, s3_client, bucket_names):
    def operator_presses_ctrl_c():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        audited(audit, operator_presses_ctrl_c)
    [record] = records(s3_client, bucket_names[1])
    assert record["outcome"] == "failed" and record["error_type"] == "KeyboardInterrupt"
    assert record["message"].startswith("interrupted: KeyboardInterrupt")


def test_a_normal_outcome_is_recorded_as_it_is(audit, s3_client, bucket_names):
    outcome = ControlOutcome(REQUEST, "changed", "recording paused", state="paused", http_status=200)
    done = audited(audit, lambda: outcome)
    assert done.outcome is outcome and done.audit_error is None
    [record] = records(s3_client, bucket_names[1])
    assert (record["outcome"], record["state"], record["http_status"]) == ("changed", "paused", 200)


def test_an_unwritable_audit_bucket_is_reported_with_the_event(s3_client):
    gone = ControlAuditStore(ArchiveStore(s3_client, bucket="no-such-bucket-for-audit"))
    done = audited(gone, lambda: ControlOutcome(REQUEST, "already", "already paused"))
    assert done.audit_uri is None and done.audit_error and "no-such-bucket-for-audit" in done.audit_error
    assert done.event.outcome == "already"  # the caller prints or attaches it, so nothing is lost silently


def test_no_audit_when_the_operator_chose_none():
    done = attempt(
        REQUEST,
        lambda: ControlOutcome(REQUEST, "already", "x"),
        audit=None,
        launched_by="cli:a",
        source="cli",
    )
    assert (done.audit_uri, done.audit_error) == (None, None)
