"""Parsing is strict only where the archive needs a field: timestamps and counts the product does not use are
read in any ISO-8601 form or dropped, never a reason to abort (docs/genesys-api.md §11)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from recording_assets.genesys.models import Recording, RecordingMetadata, ResponseFormatError

ITEM = {"id": "r-1", "conversationId": "c-1", "media": "audio", "fileState": "AVAILABLE"}
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-03-10T12:00:00.000Z", NOON),
        ("2026-03-10T12:00:00Z", NOON),
        ("2026-03-10T13:00:00+01:00", NOON),
        ("2026-03-10T13:00:00.000+0100", NOON),
        ("2026-03-10T12:00:00.123456789Z", NOON.replace(microsecond=123456)),
        ("yesterday", None),
        (1773144000000, None),
        ("", None),
    ],
)
def test_recording_metadata_times_are_read_in_any_iso_form_or_dropped(raw, expected):
    parsed = RecordingMetadata.from_api({**ITEM, "endTime": raw, "archiveDate": raw, "deleteDate": raw})
    assert parsed.end_time == expected and parsed.archive_date == expected and parsed.delete_date == expected
    assert (parsed.recording_id, parsed.file_state) == ("r-1", "AVAILABLE")


@pytest.mark.parametrize("field", ["id", "conversationId"])
def test_a_missing_identifier_is_still_an_error_naming_it(field):
    item = {k: v for k, v in ITEM.items() if k != field}
    with pytest.raises(ResponseFormatError, match=field):
        RecordingMetadata.from_api(item)


def test_recording_counts_that_are_not_integers_are_dropped():
    body = {**ITEM, "outputSizeInBytes": "12kB", "outputDurationMs": True, "estimatedTranscodeTimeMs": 1500}
    recording = Recording.from_api(body, transcoding=True)
    assert (recording.output_size_bytes, recording.output_duration_ms, recording.estimated_transcode_ms) == (
        None,
        None,
        1500,
    )


def test_batch_results_that_cannot_be_placed_are_left_out_and_odd_fields_read_as_absent():
    from recording_assets.genesys.models import BatchStatus

    body = {
        "id": "job-1",
        "status": "Completed",
        "expectedResultCount": 4,
        "resultCount": 4,
        "errorCount": 1,
        "results": [
            {
                "conversationId": "c-1",
                "recordingId": "r-1",
                "resultUrl": "https://x/1",
                "contentType": "audio/ogg",
            },
            {"recordingId": "r-2", "resultUrl": "https://x/2"},  # no conversation: cannot be placed
            {"conversationId": "c-3", "recordingId": 7, "resultUrl": ["not", "a", "url"]},  # wrong kinds
            {"conversationId": "c-4", "recordingId": "r-4", "errorMsg": {"code": "archived"}},
        ],
    }
    status = BatchStatus.from_api(body)
    assert [r.conversation_id for r in status.results] == ["c-1", "c-3", "c-4"]
    odd = status.results[1]
    assert (odd.recording_id, odd.result_url) == (None, None)  # looked up by the plan, never guessed
    assert status.results[2].error_msg == "errorMsg" and status.results[2].result_url is None


@pytest.mark.parametrize("raw", ["2026-03-10T12:00:00.000Z", "2026-03-10T12:00:00Z"])
def test_recording_own_times_and_subtype_are_read_in_both_sandbox_dialects(raw):
    item = {**ITEM, "media": "screen", "mediaSubtype": "Screen", "startTime": raw, "endTime": raw}
    parsed = RecordingMetadata.from_api(item)
    assert (parsed.media_subtype, parsed.start_time, parsed.end_time) == ("Screen", NOON, NOON)
    assert parsed.invalid_reason is None


@pytest.mark.parametrize(
    ("field", "raw", "problem"),
    [
        ("mediaSubtype", 7, "mediaSubtype: expected a string"),
        ("mediaSubtype", "Trunk; drop", "mediaSubtype: not a plain word"),
        ("startTime", "yesterday", "startTime"),
    ],
)
def test_a_malformed_subtype_or_start_is_dropped_with_its_reason(field, raw, problem):
    parsed = RecordingMetadata.from_api({**ITEM, "endTime": "2026-03-10T12:00:00Z", field: raw})
    assert (parsed.media_subtype, parsed.start_time) == (None, None)
    assert parsed.end_time == NOON and parsed.file_state == "AVAILABLE"
    assert parsed.invalid_reason is not None and problem in parsed.invalid_reason
