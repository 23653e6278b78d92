from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recording_assets.archive.errors import InvalidIdentifierError
from recording_assets.archive.keys import (
    QuarantineKeyParts,
    RecordingKeyParts,
    audit_key,
    control_audit_key,
    manifest_key,
    metadata_key,
    outcomes_key,
    parse_quarantine_key,
    parse_recording_key,
    quarantine_day_prefix,
    quarantine_key,
    recording_day_prefix,
    recording_key,
    validate_prefix,
)

DAY = date(2026, 11, 3)
CONVERSATION = "3f1c2a9e-6b1d-4c57-9d2e-8a0b7c6d5e4f"
RECORDING = "0b9e8d7c-1a2b-4c3d-8e9f-a1b2c3d4e5f6"
QUEUE = "e2a1c3b4-5d6e-4f70-8192-a3b4c5d6e7f8"


def test_recording_key_layout():
    key = recording_key(
        prefix="genesys/",
        day=DAY,
        queue_id=QUEUE,
        conversation_id=CONVERSATION,
        recording_id=RECORDING,
        ext=".wav",
    )
    assert key == (
        f"genesys/recordings/year=2026/month=11/day=03/queue={QUEUE}/{CONVERSATION}/{RECORDING}.wav"
    )
    assert key.startswith(recording_day_prefix(prefix="genesys/", day=DAY))
    assert parse_recording_key(key) == RecordingKeyParts(DAY, QUEUE, CONVERSATION, RECORDING, ".wav")
    assert parse_recording_key(key, prefix="genesys/").recording_id == RECORDING


def test_missing_queue_is_none_both_ways():
    key = recording_key(prefix="", day=DAY, queue_id=None, conversation_id="c", recording_id="r", ext=".ogg")
    assert key == "recordings/year=2026/month=11/day=03/queue=none/c/r.ogg"
    assert parse_recording_key(key).queue is None


def test_queue_named_none_is_reserved():
    with pytest.raises(InvalidIdentifierError, match="reserved"):
        recording_key(prefix="", day=DAY, queue_id="none", conversation_id="c", recording_id="r", ext=".ogg")


def test_dotted_recording_ids_round_trip():
    key = recording_key(
        prefix="", day=DAY, queue_id=None, conversation_id="c", recording_id="a.b.", ext=".wav"
    )
    assert parse_recording_key(key).recording_id == "a.b."


def test_day_prefixes():
    assert recording_day_prefix(prefix="", day=DAY) == "recordings/year=2026/month=11/day=03/"
    assert quarantine_day_prefix(prefix="x/", day=DAY) == "x/quarantine/year=2026/month=11/day=03/"


def test_quarantine_keys_keep_every_attempt():
    common = dict(
        prefix="p/", day=DAY, queue_id=QUEUE, conversation_id=CONVERSATION, recording_id=RECORDING, ext=".bin"
    )
    first = quarantine_key(**common, attempt_id="20261103T101500Z-a1")
    second = quarantine_key(**common, attempt_id="20261103T111500Z-b2")
    assert first != second
    assert first.startswith(quarantine_day_prefix(prefix="p/", day=DAY))
    assert first.endswith(f"/{RECORDING}.bin.20261103T101500Z-a1")
    assert parse_quarantine_key(first) == QuarantineKeyParts(
        DAY, QUEUE, CONVERSATION, RECORDING, ".bin", "20261103T101500Z-a1"
    )


def test_quarantine_attempt_ids_cannot_contain_dots():
    with pytest.raises(InvalidIdentifierError, match="attempt_id"):
        quarantine_key(
            prefix="",
            day=DAY,
            queue_id=None,
            conversation_id="c",
            recording_id="r",
            ext=".wav",
            attempt_id="1.2",
        )


def test_manifest_bucket_keys():
    assert manifest_key(day=DAY) == "manifests/date=2026-11-03/manifest.parquet"
    assert audit_key(day=DAY, run_id="4f1e", part=1) == "audit/date=2026-11-03/run=4f1e/part-00001.parquet"
    assert metadata_key(day=DAY) == "metadata/date=2026-11-03/recording_metadata.parquet"
    assert outcomes_key(day=DAY) == "outcomes/date=2026-11-03/outcomes.parquet"
    assert control_audit_key(day=DAY, event_id="evt-1") == "control-audit/date=2026-11-03/evt-1.json"
    assert manifest_key(day=DAY, prefix="prod/") == "prod/manifests/date=2026-11-03/manifest.parquet"
    with pytest.raises(InvalidIdentifierError, match="run_id"):
        audit_key(day=DAY, run_id="../../etc", part=1)
    with pytest.raises(InvalidIdentifierError, match="event_id"):
        control_audit_key(day=DAY, event_id="a/b")


def test_datetime_is_not_a_day():
    with pytest.raises(TypeError, match="datetime"):
        manifest_key(day=datetime(2026, 11, 3, 23, 30))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        (".", "relative path"),
        ("..", "relative path"),
        ("a..b", "relative path"),
        ("../../secrets", "relative path"),
        ("a/b", "path separator"),
        ("a\\b", "path separator"),
        ("a\x00b", "control character"),
        ("a\nb", "control character"),
        ("a\x7f", "control character"),
        ("a b", "whitespace"),
        ("caf\u00e9", "non-ASCII"),
        ("\u202eevil", "non-ASCII"),
        ("a" * 129, "129 characters"),
        ("a:b", "':'"),
        ("a%2Fb", "'%'"),
    ],
)
def test_hostile_ids_are_refused_with_a_clear_message(value, reason):
    with pytest.raises(InvalidIdentifierError) as raised:
        recording_key(prefix="", day=DAY, queue_id=None, conversation_id="c", recording_id=value, ext=".wav")
    message = str(raised.value)
    assert raised.value.field == "recording_id"
    assert "recording_id" in message and reason in message
    # The value is shown repr-escaped (so control characters cannot forge log lines) and cut short.
    assert "\n" not in message and "\x00" not in message
    assert len(message) < 400


@pytest.mark.parametrize("field", ["queue_id", "conversation_id"])
def test_queue_and_conversation_ids_are_checked_too(field):
    ids = dict(queue_id="q", conversation_id="c")
    ids[field] = "../x"
    with pytest.raises(InvalidIdentifierError) as raised:
        recording_key(prefix="", day=DAY, recording_id="r", ext=".wav", **ids)
    assert raised.value.field == field


def test_a_128_character_id_is_fine():
    recording_key(prefix="", day=DAY, queue_id=None, conversation_id="c", recording_id="a" * 128, ext=".wav")


@pytest.mark.parametrize("ext", ["", "wav", ".WAV", ".w/v", ".", ".wav.gz", ".abcdefghijk"])
def test_bad_extensions_are_refused(ext):
    with pytest.raises(InvalidIdentifierError, match="ext"):
        recording_key(prefix="", day=DAY, queue_id=None, conversation_id="c", recording_id="r", ext=ext)


@pytest.mark.parametrize("prefix", ["", "archive/", "env=prod/genesys/", "a.b_c-d/"])
def test_good_prefixes(prefix):
    assert validate_prefix(prefix) == prefix


@pytest.mark.parametrize(
    "prefix", ["archive", "/archive/", "a//", "../", "a/../", "a/./", "a b/", "a..b/", "é/", 7]
)
def test_bad_prefixes(prefix):
    with pytest.raises(InvalidIdentifierError, match="prefix"):
        validate_prefix(prefix)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "recordings/year=2026/month=11/day=03/queue=none/c",
        "recordings/year=2026/month=13/day=03/queue=none/c/r.wav",
        "recordings/year=26/month=11/day=03/queue=none/c/r.wav",
        "recordings/year=\u0662\u0660\u0662\u0666/month=11/day=03/queue=none/c/r.wav",
        "recordings/year=2026/month=11/day=03/q=none/c/r.wav",
        "recordings/year=2026/month=11/day=03/queue=none/c/r",
        "recordings/year=2026/month=11/day=03/queue=none/../r.wav",
        "quarantine/year=2026/month=11/day=03/queue=none/c/r.wav",
        "../recordings/year=2026/month=11/day=03/queue=none/c/r.wav",
    ],
)
def test_parse_refuses_foreign_keys(key):
    with pytest.raises(InvalidIdentifierError):
        parse_recording_key(key)


def test_parse_checks_the_expected_prefix():
    key = recording_key(
        prefix="a/", day=DAY, queue_id=None, conversation_id="c", recording_id="r", ext=".wav"
    )
    with pytest.raises(InvalidIdentifierError, match="not under prefix"):
        parse_recording_key(key, prefix="b/")


# -- property: hostile text either raises or yields a contained, round-tripping key ------------------

_id_like = st.from_regex(r"[A-Za-z0-9._-]{1,130}", fullmatch=True)
_tricky = st.sampled_from([".", "..", "a..b", "none", "a/b", "-"])
_any_text = st.one_of(st.text(max_size=140), _id_like, _tricky)
_prefixes = st.one_of(
    st.text(max_size=40),
    st.lists(st.from_regex(r"[A-Za-z0-9._=-]{1,12}", fullmatch=True), max_size=3).map(
        lambda segments: "".join(f"{segment}/" for segment in segments)
    ),
)


@settings(max_examples=400, deadline=None)
@given(
    prefix=_prefixes,
    queue_id=st.one_of(st.none(), _any_text),
    conversation_id=_any_text,
    recording_id=_any_text,
    day=st.dates(),
)
def test_any_text_raises_or_builds_a_contained_round_tripping_key(
    prefix, queue_id, conversation_id, recording_id, day
):
    try:
        key = recording_key(
            prefix=prefix,
            day=day,
            queue_id=queue_id,
            conversation_id=conversation_id,
            recording_id=recording_id,
            ext=".wav",
        )
    except InvalidIdentifierError:
        return
    assert key.startswith(prefix)
    segments = key.split("/")
    assert ".." not in segments and "." not in segments and "" not in segments
    assert key.isascii() and key.isprintable() and " " not in key
    assert len(segments) == prefix.count("/") + 7
    assert parse_recording_key(key, prefix=prefix) == RecordingKeyParts(
        day, queue_id, conversation_id, recording_id, ".wav"
    )


@settings(max_examples=200, deadline=None)
@given(attempt_id=_any_text, recording_id=_any_text)
def test_quarantine_keys_round_trip_or_raise(attempt_id, recording_id):
    try:
        key = quarantine_key(
            prefix="q/",
            day=DAY,
            queue_id=None,
            conversation_id="c",
            recording_id=recording_id,
            ext=".bin",
            attempt_id=attempt_id,
        )
    except InvalidIdentifierError:
        return
    assert key.startswith("q/quarantine/") and ".." not in key.split("/")
    parts = parse_quarantine_key(key, prefix="q/")
    assert (parts.recording_id, parts.attempt_id, parts.ext) == (recording_id, attempt_id, ".bin")
