"""Each analytics session is kept as the archive describes it: media, messaging channel, direction, span
from its first segmentStart to its last segmentEnd. Descriptive only: a value that fails its check is left
out, and never fails the conversation's recordings (no ``invalid_reason``)."""

from __future__ import annotations

from datetime import datetime, timezone

from recording_assets.genesys.conversations import ConversationSummary, SessionSummary
from recording_assets.genesys.session_log import SessionLog


def at(minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, 20, 9, minute, second, tzinfo=timezone.utc)


def conversation(*sessions: dict) -> dict:
    return {
        "conversationId": "c-1",
        "conversationStart": "2026-11-20T09:00:00.000Z",
        "participants": [{"purpose": "customer", "sessions": list(sessions)}],
    }


def segment(start: str, end: str | None = None) -> dict:
    return {"segmentStart": start, **({"segmentEnd": end} if end else {})}


def test_a_sessions_span_media_channel_and_flag():
    raw = conversation(
        {
            "sessionId": "s-1",
            "mediaType": "message",
            "messageType": "whatsapp",
            "direction": "inbound",
            "recording": True,
            # Out of order on purpose: the span is the earliest start to the latest end.
            "segments": [
                segment("2026-11-20T09:01:00Z", "2026-11-20T09:04:30Z"),
                segment("2026-11-20T09:00:10Z", "2026-11-20T09:01:00Z"),
            ],
        },
        {"sessionId": "s-2", "mediaType": "voice", "segments": [segment("2026-11-20T09:02:00Z")]},
    )
    found, sessions = ConversationSummary.parse(raw)
    assert sessions == (
        SessionSummary("s-1", "message", "whatsapp", "inbound", at(0, 10), at(4, 30), True),
        SessionSummary("s-2", "voice", None, None, at(2), None, False),  # its segment is still open
    )
    assert found.invalid_reason is None


def test_hostile_session_values_are_left_out_and_fail_nothing():
    raw = conversation(
        {
            "sessionId": "../../x",
            "mediaType": 7,
            "messageType": "sms\x1b[31m",
            "direction": {"in": True},
            "recording": "yes",
            "segments": [
                segment("yesterday", "2026-11-20T09:03:00Z"),
                segment("2026-11-20T09:01:00Z", "later"),
            ],
        }
    )
    found, (session,) = ConversationSummary.parse(raw)
    assert session == SessionSummary(None, None, None, None, at(1), None, False)
    # mediaType is also the conversation's media list, which names its problem; the session's own
    # fields (sessionId, messageType, direction, the times) name none.
    assert found.invalid_reason == "mediaType: expected a string, got int"


def test_the_day_log_gives_each_conversation_its_sessions_and_a_later_copy_wins():
    """What the metadata table reads of the log: each conversation's current copy, none for one without."""
    first = (SessionSummary("s-1", "voice", None, "inbound", at(0), at(1), True),)
    again = (
        SessionSummary("s-1", "voice", None, "inbound", at(0), at(2, 30), True),
        SessionSummary(None, None, "sms", None, None, None, False),
    )
    log = SessionLog()
    log.put("c-1", first)
    log.put("c-2", ())
    log.put("c-1", again)  # the conversation on a page read again
    offsets, rows = log.spans(["c-1", "c-2", "c-3"])
    assert (list(offsets), list(rows)) == ([0, 2, 2, 2], [1, 2])
    columns = log.columns()
    data, ends, present = columns["session_id"]
    assert [data[ends[i] : ends[i + 1]].decode() if present[i] else None for i in rows] == ["s-1", None]
    assert [columns["message_type"][i] for i in rows] == [None, "sms"]
    assert [columns["recorded"][i] for i in rows] == [1, 0]
