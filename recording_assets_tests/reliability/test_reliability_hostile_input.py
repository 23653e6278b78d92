"""Hostile input: bad partition keys, malformed settings, wrong credentials, malformed API JSON and hostile
ids must end in clear errors, and nothing already archived may ever be overwritten.

- partition keys that are not days (or outside the partitions) are refused before one request is sent;
- each malformed setting fails with a message naming its variable (and never echoing a secret);
- the four response parsers of ``genesys/models.py``, fuzzed with Hypothesis, either parse or raise a
  ``GenesysError`` (``ResponseFormatError``), never anything else;
- ids with path separators, ``..``, control characters or non-ASCII can never produce a key outside the
  archive's prefix and day (a sandbox-independent property test of ``archive/keys.py``);
- a day is archived, then runs under hostile conditions meet it (wrong secret, unknown region, bad URLs,
  bad buckets, bad partitions, every media fault with persistent corruption, a sandbox that serves
  different bytes for the same ids, and an archiver whose S3 listing is stale): every pre-existing
  object keeps its bytes and its ETag.

The bugs this file found are fixed; their tests are at the end (RELIABILITY.md lists them).
"""

from __future__ import annotations

import asyncio
import string
from datetime import date

import dagster as dg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from recording_assets import settings as cfg
from recording_assets.archive import ArchiveStore, InvalidIdentifierError
from recording_assets.archive.keys import (
    parse_quarantine_key,
    parse_recording_key,
    quarantine_key,
    recording_key,
)
from recording_assets.archive.sidecar_keys import is_sidecar_key
from recording_assets.clock import SystemClock
from recording_assets.genesys import GenesysClient
from recording_assets.genesys.errors import GenesysError
from recording_assets.genesys.models import (
    BatchResult,
    BatchStatus,
    ConversationSummary,
    Recording,
    RecordingMetadata,
    ResponseFormatError,
)
from recording_assets.genesys.secret import Secret
from recording_assets.pipeline.archiver import DayArchiver
from recording_assets.pipeline.audit import AuditTrail
from recording_assets.pipeline.discovery import discover_day
from recording_assets.pipeline.window import PartitionConfigError, day_window, parse_day
from recording_assets.sandbox import Faults
from recording_assets.settings import (
    AutomationSettings,
    ConfigError,
    GenesysSettings,
    PartitionSettings,
    StorageSettings,
)
from recording_assets_tests.pipeline.support import run_settings
from recording_assets_tests.reliability import reliability_support as rs

DAY = "2026-11-19"
CONVERSATIONS = 12
FUZZ = settings(max_examples=400, suppress_health_check=list(HealthCheck), database=None, deadline=None)


@pytest.fixture(scope="module")
def s3():
    server = rs.S3Server()
    yield server
    server.stop()


# ------------------------------------------------------------------------------------------ partition keys

BAD_KEYS = [
    "2026-02-30",  # not a calendar day
    "../2026-11-20",
    "2026-11-20/../../etc",
    "20261120",
    "2026-11-20T00:00",
    "２０２６-11-20",  # full-width digits
    "2026-11-20\x00",
    "2024-12-31",  # before the first partition
    "2099-01-01",  # after the last
    "",
]


def test_partition_keys_that_are_not_days_are_refused_before_any_request(s3):
    server = rs.sandbox(conversations_per_day=3)
    buckets = s3.fresh_buckets("pk")
    outcomes = {}
    try:
        for key in BAD_KEYS:
            try:
                result = rs.materialise(rs.run_env(s3, server, buckets), key)
                outcomes[key] = "ran" if result.success else "failed"
            except dg.DagsterUnknownPartitionError as error:
                assert repr(key)[1:-1] in str(error) or key in str(error)
                outcomes[key] = "refused"
        stats = server.stats()
    finally:
        server.stop()
    # "" is not a partition key at all: Dagster runs it unpartitioned and the first step fails on it.
    assert outcomes == {**{key: "refused" for key in BAD_KEYS}, "": "failed"}
    assert stats["requests"] == {}, "a refused partition must not reach Genesys"
    client = s3.client()
    assert all(client.list_objects_v2(Bucket=b).get("KeyCount", 0) == 0 for b in buckets)


@given(st.text(max_size=40))
@FUZZ
def test_parse_day_returns_a_day_or_says_what_a_day_looks_like(text):
    try:
        day = parse_day(text)
    except PartitionConfigError as error:
        assert "YYYY-MM-DD" in str(error)
        return
    assert isinstance(day, date)


# ------------------------------------------------------------------------------------------ malformed settings

GOOD = {
    cfg.CLIENT_ID: "client",
    cfg.CLIENT_SECRET: "s3cr3t-value-never-shown",
    cfg.API_BASE_URL: "https://api.example.test",
    cfg.ARCHIVE_BUCKET: "archive-bucket",
    cfg.MANIFEST_BUCKET: "manifest-bucket",
}

BAD_SETTINGS = [
    # (variable, value, loader)
    (cfg.REGION, "mars-north-9", "genesys"),
    (cfg.REGION, "eu-west-1; rm -rf /", "genesys"),
    (cfg.API_BASE_URL, "ftp://api.example.test", "genesys"),
    (cfg.API_BASE_URL, "javascript:alert(1)", "genesys"),
    (cfg.API_BASE_URL, "http://", "genesys"),
    (cfg.API_BASE_URL, "https://api.example.test/?token=x", "genesys"),
    (cfg.LOGIN_BASE_URL, "file:///etc/passwd", "genesys"),
    (cfg.CLIENT_ID, "   ", "genesys"),
    (cfg.CLIENT_SECRET, "", "genesys"),
    (cfg.ARCHIVE_BUCKET, "Bad_Bucket", "storage"),
    (cfg.ARCHIVE_BUCKET, "../etc", "storage"),
    (cfg.ARCHIVE_BUCKET, "ab", "storage"),
    (cfg.ARCHIVE_BUCKET, "a" * 64, "storage"),
    (cfg.MANIFEST_BUCKET, "my..bucket", "storage"),
    (cfg.MANIFEST_BUCKET, "-leading-dash", "storage"),
    (cfg.AWS_ENDPOINT_URL, "not a url", "storage"),
    (cfg.AWS_ENDPOINT_URL, "s3://bucket", "storage"),
    ("RECORDING_TIMEZONE", "Mars/Olympus", "partitions"),
    ("RECORDING_TIMEZONE", "../../etc/localtime", "partitions"),
    ("RECORDING_PARTITIONS_START", "yesterday", "partitions"),
    ("RECORDING_SETTLE_LAG_MINUTES", "-5", "automation"),
    ("RECORDING_SETTLE_LAG_MINUTES", "abc", "automation"),
    ("RECORDING_SETTLE_LAG_MINUTES", "1e3", "automation"),
    ("RECORDING_SETTLE_LAG_MINUTES", "99999", "automation"),
    ("RECORDING_RESWEEP_DAYS", "31", "automation"),
    ("RECORDING_FRESHNESS_DEADLINE", "25:00", "automation"),
]

LOADERS = {
    "genesys": GenesysSettings.from_env,
    "storage": StorageSettings.from_env,
    "partitions": PartitionSettings.from_env,
    "automation": AutomationSettings.from_env,
}


@pytest.mark.parametrize(
    ("name", "value", "loader"), BAD_SETTINGS, ids=[f"{n}={v!r}" for n, v, _ in BAD_SETTINGS]
)
def test_a_malformed_setting_fails_naming_its_variable(name, value, loader):
    environ = {**GOOD, name: value}
    if name == cfg.REGION:
        environ.pop(cfg.API_BASE_URL)
    with pytest.raises((ConfigError, PartitionConfigError, ValueError)) as raised:
        LOADERS[loader](environ)
    message = str(raised.value)
    assert name in message
    assert GOOD[cfg.CLIENT_SECRET] not in message


# ------------------------------------------------------------------------------------------ malformed API JSON

_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        ["2026-11-20T10:00:00Z", "2026-11-20T10:00:00.5+01:00", "2026-13-45T99:00:00Z", "", "AVAILABLE"]
    ),
)
ANY_JSON = st.recursive(
    _LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)
_ID = st.text(min_size=1, max_size=12)
_TS = st.sampled_from(["2026-11-20T10:00:00Z", "2026-11-20T10:00:00.123+02:00", "2026-11-20T10:00:00"])


def _or_junk(strategy):
    """Mostly well-typed values (so parsing goes deep), sometimes any JSON at all."""
    return st.one_of(strategy, strategy, ANY_JSON)


_SEGMENT = st.fixed_dictionaries({}, optional={"queueId": _or_junk(_ID), "wrapUpCode": _or_junk(_ID)})
_SESSION = st.fixed_dictionaries(
    {},
    optional={
        "mediaType": _or_junk(_ID),
        "recording": _or_junk(st.booleans()),
        "segments": _or_junk(st.lists(_or_junk(_SEGMENT), max_size=3)),
    },
)
_PARTICIPANT = st.fixed_dictionaries(
    {},
    optional={
        "purpose": _or_junk(st.sampled_from(["agent", "customer", "acd"])),
        "userId": _or_junk(_ID),
        "screenRecording": _or_junk(st.booleans()),
        "sessions": _or_junk(st.lists(_or_junk(_SESSION), max_size=3)),
    },
)
CONVERSATION = st.fixed_dictionaries(
    {"conversationId": _or_junk(_ID), "conversationStart": _or_junk(_TS)},
    optional={
        "conversationEnd": _or_junk(_TS),
        "participants": _or_junk(st.lists(_or_junk(_PARTICIPANT), max_size=3)),
        "divisionIds": _or_junk(st.lists(_ID, max_size=2)),
        "originatingDirection": ANY_JSON,
    },
)
METADATA = st.fixed_dictionaries(
    {"id": _or_junk(_ID), "conversationId": _or_junk(_ID)},
    optional={
        **{
            name: _or_junk(_TS)
            for name in ("startTime", "endTime", "archiveDate", "deleteDate", "exportDate")
        },
        "fileState": ANY_JSON,
        "media": ANY_JSON,
        "sessionId": ANY_JSON,
    },
)
RESULT = st.fixed_dictionaries(
    {"conversationId": _or_junk(_ID)},
    optional={"recordingId": ANY_JSON, "resultUrl": ANY_JSON, "contentType": ANY_JSON, "errorMsg": ANY_JSON},
)
BATCH = st.fixed_dictionaries(
    {"id": _or_junk(_ID), "status": _or_junk(st.sampled_from(["Completed", "InProgress"]))},
    optional={
        "expectedResultCount": _or_junk(st.integers(0, 100)),
        "resultCount": _or_junk(st.integers(0, 100)),
        "errorCount": _or_junk(st.integers(0, 10)),
        "results": _or_junk(st.lists(_or_junk(RESULT), max_size=3)),
    },
)
RECORDING = st.fixed_dictionaries(
    {"id": _or_junk(_ID), "conversationId": _or_junk(_ID)},
    optional={
        "mediaUris": _or_junk(
            st.dictionaries(
                st.sampled_from(["0", "1"]),
                _or_junk(st.fixed_dictionaries({}, optional={"mediaUri": ANY_JSON})),
            )
        ),
        "fileState": ANY_JSON,
        "outputSizeInBytes": ANY_JSON,
    },
)


def parses_or_says_why(parse, raw) -> None:
    try:
        parse(raw)
    except GenesysError:
        pass  # ResponseFormatError (a GenesysError) naming the field: the promised failure


@given(st.one_of(CONVERSATION, ANY_JSON))
@FUZZ
def test_conversation_summary_parses_or_raises_a_genesys_error(raw):
    parses_or_says_why(ConversationSummary.parse, raw)


@given(st.one_of(METADATA, ANY_JSON))
@FUZZ
def test_recording_metadata_parses_or_raises_a_genesys_error(raw):
    parses_or_says_why(RecordingMetadata.from_api, raw)


@given(st.one_of(RECORDING, ANY_JSON), st.booleans())
@FUZZ
def test_recording_parses_or_raises_a_genesys_error(raw, transcoding):
    parses_or_says_why(lambda r: Recording.from_api(r, transcoding=transcoding), raw)


@given(st.one_of(RESULT, ANY_JSON))
@FUZZ
def test_batch_result_parses_or_raises_a_genesys_error(raw):
    parses_or_says_why(BatchResult.from_api, raw)


@given(BATCH)
@example({"id": "job-1", "status": "InProgress", "expectedResultCount": "many"})
@FUZZ
def test_batch_status_parses_or_raises_a_genesys_error(raw):
    parses_or_says_why(BatchStatus.from_api, raw)


@pytest.mark.parametrize("count", ["many", "3", -1, True, 2.5, float("inf"), float("nan"), [], {}])
def test_a_batch_count_that_is_not_a_whole_number_is_a_response_format_error_naming_it(count):
    with pytest.raises(ResponseFormatError, match="resultCount"):
        BatchStatus.from_api({"id": "job-1", "status": "InProgress", "resultCount": count})


def test_well_typed_batch_counts_parse_and_absent_ones_are_zero():
    raw = {"id": "job-1", "status": "Completed", "expectedResultCount": 7, "resultCount": 5}
    status = BatchStatus.from_api(raw)
    assert (status.expected_result_count, status.result_count, status.error_count) == (7, 5, 0)


# ------------------------------------------------------------------------------------------ hostile ids

HOSTILE_PIECES = st.sampled_from(
    [
        "/",
        "\\",
        "..",
        ".",
        "%2F",
        "%2e%2e",
        "\x00",
        "\n",
        " ",
        "é",
        "Ω",
        "\u202e",
        "\ufeff",
        "ｆ",
        "?",
        "#",
        "*",
        "=",
        ":",
    ]
)
SAFE = st.text(alphabet=string.ascii_letters + string.digits + "._-", min_size=1, max_size=20)
HOSTILE_ID = st.one_of(
    SAFE,
    st.lists(st.one_of(SAFE, HOSTILE_PIECES), min_size=1, max_size=6).map("".join),
    st.text(max_size=30),
    st.just("a" * 129),
)
PREFIXES = st.sampled_from(["", "tenant-a/", "org=1/env.prod/"])
EXTENSIONS = st.sampled_from([".wav", ".ogg", ".webm", ".mp3", ".json"])


@given(PREFIXES, HOSTILE_ID, HOSTILE_ID, HOSTILE_ID, EXTENSIONS, st.dates(date(2000, 1, 1), date(2100, 1, 1)))
@FUZZ
def test_a_key_built_from_any_ids_stays_under_its_prefix_and_day(
    prefix, queue, conversation, recording, ext, day
):
    try:
        key = recording_key(
            prefix=prefix,
            day=day,
            queue_id=queue,
            conversation_id=conversation,
            recording_id=recording,
            ext=ext,
        )
    except InvalidIdentifierError as error:
        assert error.field in ("queue_id", "conversation_id", "recording_id")
        return
    day_path = f"{prefix}recordings/year={day.year:04d}/month={day.month:02d}/day={day.day:02d}/"
    assert key.startswith(day_path)
    tail = key[len(day_path) :].split("/")
    assert tail == [f"queue={queue}", conversation, f"{recording}{ext}"]
    assert all(segment not in ("", ".", "..") for segment in key.split("/"))
    assert key.isascii() and key.isprintable()
    assert parse_recording_key(key, prefix=prefix) == (day, queue, conversation, recording, ext)


@given(HOSTILE_ID, HOSTILE_ID, HOSTILE_ID)
@FUZZ
def test_a_quarantine_key_from_any_ids_stays_under_quarantine(conversation, recording, attempt):
    day = date(2026, 11, 20)
    try:
        key = quarantine_key(
            prefix="",
            day=day,
            queue_id=None,
            conversation_id=conversation,
            recording_id=recording,
            ext=".wav",
            attempt_id=attempt,
        )
    except InvalidIdentifierError:
        return
    assert key.startswith("quarantine/year=2026/month=11/day=20/queue=none/")
    assert parse_quarantine_key(key, prefix="").recording_id == recording


# ------------------------------------------------------------------------------------------ nothing overwritten


def snapshot(client, bucket: str) -> dict[str, tuple[str, str]]:
    """key -> (sha256 of the bytes read back, ETag)."""
    archive = rs.Archive.read(client, bucket)
    return {key: (obj.sha256, obj.etag) for key, obj in archive.objects.items()}


class StaleListing:
    """An ArchiveStore whose listing misses everything (eventual consistency, or a concurrent writer that
    landed after the listing): the archiver must then meet the create-only guard, not overwrite."""

    def __init__(self, store: ArchiveStore) -> None:
        self._store = store

    def list_day(self, prefix: str, **kwargs):
        return iter(())

    def __getattr__(self, name):
        return getattr(self._store, name)


def archive_with_stale_listing(server, s3: rs.S3Server, buckets, day: str, run_id: str):
    """The real DayArchiver against ``server``, straight (no Dagster), with a stale S3 listing."""
    client = s3.client()
    store = ArchiveStore(client, bucket=buckets[0])
    manifest_store = ArchiveStore(client, bucket=buckets[1])
    the_day = date.fromisoformat(day)

    async def run():
        genesys = GenesysClient(
            api_base_url=server.base_url,
            login_base_url=server.base_url,
            client_id=server.config.client_id,
            client_secret=Secret(server.config.client_secret),
            requests_per_minute=None,
        )
        async with genesys:
            discovery = await discover_day(genesys, day_window(the_day, "UTC"))
            archiver = DayArchiver(
                client=genesys,
                store=StaleListing(store),
                day=the_day,
                conversations=discovery.conversations,
                run_id=run_id,
                audit=AuditTrail(
                    store=manifest_store, day=the_day, run_id=run_id, launched_by="test", clock=SystemClock()
                ),
                **run_settings(sensitive_permission=True),
            )
            return await archiver.run()

    return asyncio.run(run())


@pytest.mark.slow
@pytest.mark.reliability_long
def test_hostile_runs_never_change_an_archived_object(s3, request):
    conversations = 60 if rs.long_mode(request.config) else CONVERSATIONS
    server = rs.sandbox(conversations_per_day=conversations)
    buckets = s3.fresh_buckets("hostile")
    client = s3.client()
    servers = [server]
    try:
        clean = rs.materialise(rs.run_env(s3, server, buckets), DAY)
        assert clean.success, clean.failure
        truth = rs.truth(server, DAY)
        archived = snapshot(client, buckets[0])
        documents = snapshot(client, buckets[1])
        # Each archived recording and its sidecar (both must stay unchanged by every hostile run below).
        recordings = [key for key in archived if not is_sidecar_key(key)]
        assert len(recordings) == len(rs.available(truth)) > 0
        assert len(archived) == 2 * len(recordings)
        base = rs.run_env(s3, server, buckets)

        # 1. refused before anything is written: the manifest bucket is untouched as well
        refused = {
            "wrong client secret": {cfg.CLIENT_SECRET: "wrong-secret-9d1f"},
            "unknown client id": {cfg.CLIENT_ID: "nobody"},
            "unknown region": {cfg.API_BASE_URL: "", cfg.REGION: "mars-north-9"},
            "bad API URL": {cfg.API_BASE_URL: "ftp://127.0.0.1/"},
            "API URL with a query": {cfg.API_BASE_URL: f"{server.base_url}/?x=1"},
            "bad S3 endpoint": {cfg.AWS_ENDPOINT_URL: "not a url"},
            "nonexistent manifest bucket": {cfg.MANIFEST_BUCKET: "no-such-bucket-here"},
        }
        messages = {}
        for label, change in refused.items():
            env = {k: v for k, v in {**base, **change}.items() if v}
            result = rs.materialise(env, DAY)
            assert not result.success, label
            messages[label] = result.failure
            assert snapshot(client, buckets[0]) == archived, label
            assert snapshot(client, buckets[1]) == documents, label
        assert "GENESYSCLOUD_OAUTHCLIENT_SECRET" in messages["wrong client secret"]
        assert "wrong-secret-9d1f" not in messages["wrong client secret"]
        assert server.config.client_secret not in "".join(messages.values())
        assert (
            "GENESYSCLOUD_REGION" in messages["unknown region"] and "eu-west-1" in messages["unknown region"]
        )
        assert "GENESYSCLOUD_API_BASE_URL" in messages["bad API URL"]
        assert "must not carry a query" in messages["API URL with a query"]
        assert "AWS_ENDPOINT_URL" in messages["bad S3 endpoint"]
        assert "is not a base URL" in messages["bad S3 endpoint"]
        assert "NoSuchBucket" in messages["nonexistent manifest bucket"]
        for bad in ("../2026-11-19", "2026-11-19/..", "2026-02-30"):
            with pytest.raises(dg.DagsterUnknownPartitionError):
                rs.materialise(base, bad)
        for label, change in {
            "bad timezone": {"RECORDING_TIMEZONE": "Mars/Olympus"},
            "bad settle lag": {"RECORDING_SETTLE_LAG_MINUTES": "-5"},
        }.items():
            with pytest.raises(ValueError) as raised:  # the code location refuses to load
                rs.materialise({**base, **change}, DAY)
            assert next(iter(change)) in str(raised.value), label

        # 2. a run that meets every media fault, corruption on every attempt included
        server.set_faults(
            Faults(
                reset_mid_body_rate=1.0,
                truncate_body_rate=1.0,
                wrong_content_type_rate=1.0,
                corrupt_magic_rate=1.0,
                corrupt_magic_persistent=True,
                batch_error_rate=1.0,
                error_5xx_every=4,
            )
        )
        faulty = rs.materialise(base, DAY)
        assert faulty.success, faulty.failure
        assert faulty.metadata["recording_audio"]["uploaded_objects"] == 0
        server.set_faults(Faults())

        # 3. the same ids served with different bytes (same seed, other media scale)
        liar = rs.sandbox(conversations_per_day=conversations, media_scale=0.003)
        servers.append(liar)
        assert set(rs.truth(liar, DAY)) == set(truth)
        lying = rs.materialise(rs.run_env(s3, liar, buckets), DAY)
        assert lying.success, lying.failure
        assert lying.metadata["recording_audio"]["uploaded_objects"] == 0
        rows = rs.manifest_rows(client, buckets[1], DAY)
        assert {r["recording_id"]: r["sha256"] for r in rows if r["state"] == "archived"} == {
            rid: rec.sha256 for (_, rid), rec in truth.items() if rec.file_state == "AVAILABLE"
        }

        # 4. a stale listing: every upload meets the create-only guard, and a read-back decides
        same = archive_with_stale_listing(server, s3, buckets, DAY, "stale-same-bytes")
        other = archive_with_stale_listing(liar, s3, buckets, DAY, "stale-other-bytes")
        liar_truth = rs.truth(liar, DAY)
        after = snapshot(client, buckets[0])
    finally:
        for each in servers:
            each.stop()

    assert after == archived, "an archived object changed, or something was added to the archive bucket"
    available = rs.available(truth)
    assert same.uploads == other.uploads == 0
    assert {(o.state.value, o.checksum_verified_by) for o in same.outcomes if o.key in available} == {
        ("already_archived", "read-back")
    }
    changed = {key for key in available if liar_truth[key].sha256 != truth[key].sha256}
    assert changed, "the lying sandbox serves the same bytes: the test proves nothing"
    for outcome in other.outcomes:
        if outcome.key in changed:
            assert outcome.state.value == "failed", outcome
            assert "already holds different bytes" in outcome.reason and "left untouched" in outcome.reason


# ---------------------------------------------------------------------------- bugs this file found, fixed


@pytest.mark.parametrize(
    "name, value, message",
    [
        (cfg.ARCHIVE_BUCKET, "Bad_Bucket", "not a valid S3 bucket name"),
        (cfg.MANIFEST_BUCKET, "man..ifests", "not a valid S3 bucket name"),
        (cfg.AWS_ENDPOINT_URL, "s3://not-http", "is not a base URL"),
    ],
)
def test_a_malformed_storage_setting_fails_the_run_at_once_naming_the_variable(s3, name, value, message):
    server = rs.sandbox(conversations_per_day=3)
    buckets = s3.fresh_buckets("badname")
    try:
        result = rs.materialise({**rs.run_env(s3, server, buckets), name: value}, DAY)
        api_requests = {k: n for k, n in server.stats()["requests"].items() if k != "token"}
        tokens = server.stats()["tokens_issued"]
    finally:
        server.stop()
    assert not result.success
    assert name in result.failure and message in result.failure, result.failure
    assert (api_requests, tokens) == ({}, 0), "Genesys was asked before the bad setting was noticed"


@pytest.mark.parametrize("name", ["RECORDING_SETTLE_LAG_MINUTES", "RECORDING_RESWEEP_DAYS"])
@pytest.mark.parametrize("value", ["²", "1²", "٣", "+5", "-1", "1e3"])
def test_a_number_setting_that_is_not_ascii_digits_is_refused_naming_the_variable(name, value):
    with pytest.raises(ValueError) as raised:
        AutomationSettings.from_env({name: value})
    assert name in str(raised.value)


@pytest.mark.parametrize("name", ["bücket", "straße-archive", "archive²", "ａrchive", "archıve"])
def test_a_non_ascii_bucket_name_is_refused(name):
    with pytest.raises(ConfigError, match=cfg.ARCHIVE_BUCKET):
        StorageSettings.from_env({**GOOD, cfg.ARCHIVE_BUCKET: name})
