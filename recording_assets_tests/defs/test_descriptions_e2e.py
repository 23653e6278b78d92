"""What analytics and the look-ups say, kept: on a sandbox day archived through the code location, the
metadata table carries each conversation's sessions as analytics gives them (messaging's channel
included), and every manifest row its participants' addresses and the recording's own subtype, session
and times, as the sandbox serves them, where the run looked it up; its sidecar says the same; a re-run, which asks for no look-up, keeps
them all."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

from recording_assets.archive.keys import metadata_key
from recording_assets.sandbox import Faults
from recording_assets.sandbox.config import VIEW_SENSITIVE
from recording_assets.sandbox.org import UPLOADING
from recording_assets.sandbox.timeline import MESSAGE_TYPES, participants
from recording_assets_tests.defs.test_assets_e2e import DAY, manifest, materialise, read, truth

ARCHIVE = "recording-archive"


def sessions_by_conversation(local) -> dict[str, list[dict]]:
    rows = read(local, "recording-manifests", metadata_key(day=date.fromisoformat(DAY)))
    return {row["conversation_id"]: row["sessions"] for row in rows}


DESCRIBED = ("media_subtype", "session_id", "recording_start", "recording_end", "recording_duration_ms")


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, timezone.utc)


def test_rows_keep_the_sessions_and_the_recordings_own_description(local_stack):
    # Without viewSensitiveData every conversation is looked up (sensitive_check auto -> lookup), so every
    # recording has a recordingmetadata item to be described by.
    denied = Faults(deny_permissions=frozenset({VIEW_SENSITIVE}))
    local = local_stack(conversations_per_day=60, faults=denied)
    result, checks, meta = materialise()
    assert result.success and all(checks.values())
    assert meta["recording_manifest"]["sensitive_check"].value == "lookup"
    rows = manifest(local)
    recordings = truth(local)
    conversations = {c.id: c for c in local.sandbox.org.conversations_for_day(date.fromisoformat(DAY))}
    now_ms = int(local.sandbox.clock.time() * 1000)
    channels = set()
    day_sessions = sessions_by_conversation(local)
    for row in rows:
        rec = recordings[(row["conversation_id"], row["recording_id"])]
        # The recording's own: mediaSubtype, sessionId, startTime (screen only, as the SDK says), endTime.
        assert row["media_subtype"] == rec.subtype and row["session_id"] == rec.session_id, row
        assert row["recording_start"] == (at(rec.start_ms) if rec.media == "screen" else None)
        uploading = rec.file_state_at(now_ms) == UPLOADING
        assert row["recording_end"] == (None if uploading else at(rec.end_ms))
        if row["recording_start"] and row["recording_end"]:
            assert row["recording_duration_ms"] == rec.end_ms - rec.start_ms
        else:
            assert row["recording_duration_ms"] is None
        # The conversation's sessions, each as analytics gives it.
        expected = {
            s.session_id: s
            for p in participants(conversations[row["conversation_id"]])
            for s in p.sessions
            if any(seg.start_ms <= now_ms for seg in s.segments)
        }
        # Its participants' addresses, each once, in the answer's order (ani, dnis, addressFrom, addressTo).
        addresses = [a for s in expected.values() for a in (s.ani, s.dnis, s.address_from, s.address_to) if a]
        assert row["participant_addresses"] == list(dict.fromkeys(addresses))
        sessions = {s["session_id"]: s for s in day_sessions[row["conversation_id"]]}
        assert set(sessions) == set(expected)
        assert row["session_id"] in sessions  # a recording finds its session's span
        for session_id, session in sessions.items():
            wanted = expected[session_id]
            assert (session["media_type"], session["direction"]) == (wanted.media_type, wanted.direction)
            assert session["message_type"] == wanted.message_type
            assert session["recorded"] is wanted.recording
            assert session["session_start"] == at(wanted.segments[0].start_ms)
            assert session["session_end"] == at(max(seg.end_ms for seg in wanted.segments))
            assert (
                session["duration_ms"] == max(s.end_ms for s in wanted.segments) - wanted.segments[0].start_ms
            )
            if session["message_type"]:
                channels.add(session["message_type"])
    assert channels and channels <= set(MESSAGE_TYPES)  # the day holds messaging, each with its channel
    assert {row["media_subtype"] for row in rows} > {None}

    # Each sidecar says what its row says.
    s3 = local.s3_client()
    for row in (r for r in rows if r["state"] == "archived"):
        key = row["storage_uri"].removeprefix(f"s3://{ARCHIVE}/").rsplit(".", 1)[0] + "_metadata.json"
        document = json.loads(s3.get_object(Bucket=ARCHIVE, Key=key)["Body"].read())
        assert (document["mediaSubtype"], document["sessionId"]) == (row["media_subtype"], row["session_id"])
        assert document["recordingEndTime"] == (row["recording_end"] and row["recording_end"].isoformat())
        assert document["recordingDurationMs"] == row["recording_duration_ms"]

    # A re-run asks for no look-up (every conversation settled), and every description stays.
    local.sandbox.reset_stats()
    result, checks, _ = materialise()
    assert result.success and all(checks.values())
    assert not any(e["family"] == "recording.metadata" for e in local.sandbox.stats()["log"])
    again = {(r["conversation_id"], r["recording_id"]): r for r in manifest(local)}
    for row in rows:
        kept = again[(row["conversation_id"], row["recording_id"])]
        assert [kept[name] for name in DESCRIBED] == [row[name] for name in DESCRIBED]
    assert sessions_by_conversation(local) == day_sessions
