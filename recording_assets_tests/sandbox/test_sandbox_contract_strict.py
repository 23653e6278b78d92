"""Strict contract: every key the sandbox answers and every key the product sends is one
the official SDK's model declares, at every depth.

The SDK contract test reads answers through the SDK, whose deserialiser drops unknown keys silently; here
the raw JSON of each exchange is walked beside the model (``sdk_shape``). The exchanges are the product's
own calls (``genesys/`` objects on a transport whose httpx client records the wire), so the request bodies
are the ones the product builds; the answers it never asks for (plural recordings, tokens/me, a 400) are
fetched directly. Error answers are checked against ``ErrorBody``.
"""

from __future__ import annotations

import asyncio
import pathlib
from datetime import datetime, timedelta, timezone

import pytest

PureCloud = pytest.importorskip("PureCloudPlatformClientV2")

from recording_assets.genesys import names  # noqa: E402
from recording_assets.genesys.analytics import MEDIA_TYPES, Analytics, build_filters  # noqa: E402
from recording_assets.genesys.auth import ClientCredentialsAuth  # noqa: E402
from recording_assets.genesys.control import RecordingControl  # noqa: E402
from recording_assets.genesys.errors import GoneError, NotFoundError  # noqa: E402
from recording_assets.genesys.preflight import preflight  # noqa: E402
from recording_assets.genesys.recordings import BatchItem, Recordings  # noqa: E402
from recording_assets.genesys.secret import Secret  # noqa: E402
from recording_assets.genesys.transport import Transport  # noqa: E402
from recording_assets.sandbox import DIALECTS, Faults  # noqa: E402
from recording_assets.sandbox.config import ALL_PERMISSIONS, OAUTH_CLIENT_VIEW  # noqa: E402
from recording_assets.sandbox.org import DELETED_AGENTS  # noqa: E402
from recording_assets_tests.sandbox.sdk_shape import (  # noqa: E402
    Exchanges,
    SdkEndpoint,
    contract_breaches,
    documented_nulls,
    endpoint_for,
    platform_paths,
    undeclared,
)
from recording_assets_tests.sandbox.test_sandbox_support import YESTERDAY, Api, find_recording  # noqa: E402

GENESYS_DIR = pathlib.Path(__file__).parents[2] / "recording_assets" / "genesys"
ANALYTICS, RECORDING, CONVERSATIONS = "AnalyticsApi", "RecordingApi", "ConversationsApi"
GDPR = "GeneralDataProtectionRegulationApi"
ENDPOINTS = [
    SdkEndpoint.of(api, name)
    for api, name in (
        (ANALYTICS, "post_analytics_conversations_details_query"),
        (ANALYTICS, "post_analytics_conversations_details_jobs"),
        (ANALYTICS, "get_analytics_conversations_details_jobs_availability"),
        (ANALYTICS, "get_analytics_conversations_details_job"),
        (ANALYTICS, "get_analytics_conversations_details_job_results"),
        (RECORDING, "get_conversation_recordingmetadata"),
        (RECORDING, "get_conversation_recording"),
        (RECORDING, "get_conversation_recordings"),
        (RECORDING, "post_recording_batchrequests"),
        (RECORDING, "get_recording_batchrequest"),
        (RECORDING, "get_recordings_retention_query"),
        (RECORDING, "put_conversation_recording"),
        (RECORDING, "put_recordings_deletionprotection"),
        (RECORDING, "post_recordings_deletionprotection"),
        (RECORDING, "get_orphanrecordings"),
        (RECORDING, "get_recording_settings"),
        (RECORDING, "get_conversation_recording_annotations"),
        ("OAuthApi", "get_oauth_client"),
        ("AuthorizationApi", "get_authorization_role"),
        ("AuthorizationApi", "get_authorization_divisions"),
        ("TokensApi", "get_tokens_me"),
        (CONVERSATIONS, "get_conversation"),
        (CONVERSATIONS, "get_conversations_call"),
        (CONVERSATIONS, "put_conversations_call_recordingstate"),
        (CONVERSATIONS, "patch_conversation_recordingstate"),
        (CONVERSATIONS, "patch_conversations_call_participant"),
        (GDPR, "get_gdpr_requests"),
        (GDPR, "get_gdpr_request"),
        ("UsersApi", "get_users"),
        ("RoutingApi", "get_routing_queues"),
        ("RoutingApi", "get_routing_wrapupcodes"),
    )
]
RETENTION = {  # the retention features' endpoints, exercised by test_sandbox_contract_retention.py
    "put_conversation_recording",
    "put_recordings_deletionprotection",
    "post_recordings_deletionprotection",
    "get_orphanrecordings",
    "get_recording_settings",
    "get_conversation_recording_annotations",
}
# What each scenario below must exercise; together, every endpoint of the table.
COVERS = {
    "discovery": {e.name for e in ENDPOINTS if e.api == ANALYTICS},
    "recordings": {e.name for e in ENDPOINTS if e.api == RECORDING}
    - {"get_recordings_retention_query"}
    - RETENTION,
    "retention": RETENTION | {"get_conversation_recordingmetadata", "get_recordings_retention_query"},
    "identity": {
        "post_analytics_conversations_details_query",
        "get_recordings_retention_query",
        "get_oauth_client",
        "get_authorization_role",
        "get_authorization_divisions",
        "get_tokens_me",
    },
    "control": {e.name for e in ENDPOINTS if e.api == CONVERSATIONS},
    "gdpr": {e.name for e in ENDPOINTS if e.api == GDPR},  # test_sandbox_contract_gdpr.py
    "names": {"get_users", "get_routing_queues", "get_routing_wrapupcodes", "get_authorization_divisions"},
}
DIALECT_NAMES = ("default", "independent")  # the first reading, and every other reading at once
UNKNOWN_CONVERSATION = "8f1e0d4c-2b1a-4c3d-9e8f-0a1b2c3d4e5f"
CLIENT = "sandbox-client"


class Product:
    """The product's Genesys objects on a transport whose httpx client records every exchange."""

    def __init__(self, sandbox, clock) -> None:
        self.exchanges = Exchanges()
        secret = Secret("sandbox-secret")
        auth = ClientCredentialsAuth(
            login_base_url=sandbox.base_url, client_id=CLIENT, client_secret=secret, clock=clock
        )
        http = self.exchanges.client()
        self.transport = Transport(api_base_url=sandbox.base_url, auth=auth, clock=clock, http=http)
        self.analytics = Analytics(self.transport, clock, page_size=100, job_page_size=200)
        self.recordings = Recordings(self.transport, clock)
        self.control = RecordingControl(self.transport, self.analytics, clock)

    def run(self, scenario) -> list:
        async def main():
            try:
                await scenario(self)
            finally:
                await self.transport.aclose()

        asyncio.run(main())
        return self.exchanges.seen


def _assert_no_breach(exchanges) -> None:
    breaches = contract_breaches(exchanges, ENDPOINTS)
    assert not breaches, f"{len(breaches)} breaches of the SDK's models:\n" + "\n".join(breaches[:25])


def _assert_covered(exchanges, scenario: str) -> None:
    _assert_no_breach(exchanges)
    endpoints = [endpoint_for(ENDPOINTS, e.method, e.path) for e in exchanges]
    assert None not in endpoints  # every exchange is an SDK endpoint (contract_breaches says which not)
    assert {e.name for e in endpoints if e is not None} >= COVERS[scenario]


def _midnight(day) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


@pytest.mark.parametrize("dialect", DIALECT_NAMES)
def test_discovery_pages_jobs_and_the_empty_page(sandbox_factory, fake_clock, dialect):
    # Two days of data lag: the lake does not yet hold yesterday, so the day and the quiet second are read by
    # the details query (its pages and its empty page); the day 60 days back is beyond the query's reach and
    # is read by a details job and its result pages.
    sandbox = sandbox_factory(
        clock=fake_clock, conversations_per_day=300, dialect=DIALECTS[dialect], data_lag_s=2 * 86_400.0
    )
    day = _midnight(YESTERDAY)

    async def scenario(product: Product) -> None:
        found = await product.analytics.conversations(start=day, end=day + timedelta(days=1))
        assert found.method == "query" and found.pages > 1
        quiet = day + timedelta(hours=3, seconds=1)  # one second of the night: nothing started then
        end = quiet + timedelta(seconds=1)
        found = await product.analytics.conversations(
            start=quiet, end=end, media_types=MEDIA_TYPES, ended=None
        )
        assert found.method == "query" and not found.conversations
        old = day - timedelta(days=60)
        found = await product.analytics.conversations(start=old, end=old + timedelta(days=1))
        assert found.method == "jobs" and found.pages > 1

    exchanges = Product(sandbox, fake_clock).run(scenario)
    _assert_covered(exchanges, "discovery")
    assert any(e.answer_body == {"totalHits": 0} for e in exchanges)


@pytest.mark.parametrize("dialect", DIALECT_NAMES)
def test_recording_metadata_single_plural_and_batch_answers(sandbox_factory, fake_clock, dialect):
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=300, dialect=DIALECTS[dialect])
    org = sandbox.org
    archived, deleted = (
        find_recording(org, lambda r, s=state: r.file_state == s) for state in ("ARCHIVED", "DELETED")
    )
    recordings = [r for c in org.conversations_for_day(YESTERDAY)[:150] for r in c.recordings]
    shown = {r.media: r for r in recordings if r.file_state == "AVAILABLE"}  # one of each media
    shown["audio"] = find_recording(org, lambda r: r.codec == "ogg_opus" and r.file_state == "AVAILABLE")
    conversations = sorted({r.conversation_id for r in [archived, deleted, *shown.values()]})
    uploading = org.live_calls[0].recordings[0]  # the call is still going on

    async def scenario(product: Product) -> None:
        for conversation_id in [*conversations, uploading.conversation_id]:
            await product.recordings.metadata(conversation_id)
        for rec in [*shown.values(), archived, uploading]:
            await product.recordings.get(rec.conversation_id, rec.id, format_id="WAV")  # 202, then 200
        items = [BatchItem(c) for c in conversations]
        items += [BatchItem(r.conversation_id, r.id) for r in (archived, deleted)]
        await product.recordings.run_batches(items)

    exchanges = Product(sandbox, fake_clock).run(scenario)
    api = Api(sandbox)
    for conversation_id in conversations:  # the plural GET, which the product does not use
        for _ in range(2):  # the first look may be transcoding (202)
            response = api.get(f"/api/v2/conversations/{conversation_id}/recordings")
            exchanges.append(Exchanges.exchange(response))
    _assert_covered(exchanges, "recordings")
    assert documented_nulls(exchanges) == []
    assert {e.status for e in exchanges if e.path.endswith(shown["audio"].id)} == {200, 202}
    listed = [item for e in exchanges if e.path.endswith("/recordingmetadata") for item in e.answer_body]
    assert {m["fileState"] for m in listed} >= {"AVAILABLE", "ARCHIVED", "DELETED", "UPLOADING"}
    assert set(shown) >= {"audio", "chat", "email", "message", "screen"}
    batch = [r for e in exchanges if "/batchrequests/" in e.path for r in e.answer_body.get("results", [])]
    assert any("errorMsg" in r for r in batch) == (DIALECTS[dialect].batch_unavailable == "error_item")


def test_preflight_identity_and_a_403(sandbox_factory, fake_clock):
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=50)
    exchanges = Product(sandbox, fake_clock).run(lambda p: preflight(p.transport, client_id=CLIENT))
    exchanges.append(Exchanges.exchange(Api(sandbox).get("/api/v2/tokens/me")))
    no_client_view = ALL_PERMISSIONS - {OAUTH_CLIENT_VIEW}
    limited = sandbox_factory(clock=fake_clock, conversations_per_day=50, permissions=no_client_view)

    async def denied(product: Product) -> None:
        assert (await preflight(product.transport, client_id=CLIENT)).sensitive_data is None

    unreadable = Product(limited, fake_clock).run(denied)
    _assert_no_breach(unreadable)
    assert 403 in {e.status for e in unreadable}
    # Roles that show the download permission spare the retention-query probe; unreadable roles do not.
    names = {endpoint_for(ENDPOINTS, e.method, e.path).name for e in unreadable}
    assert "get_recordings_retention_query" in names
    assert "get_recordings_retention_query" not in {
        endpoint_for(ENDPOINTS, e.method, e.path).name for e in exchanges
    }
    _assert_covered(exchanges + unreadable, "identity")


@pytest.mark.parametrize("deleted_users", ["absent", "listed"])
def test_names_users_queues_wrapup_codes_and_divisions(sandbox_factory, fake_clock, deleted_users):
    sandbox = sandbox_factory(
        clock=fake_clock, conversations_per_day=5, divisions=3, deleted_users=deleted_users
    )
    directory = sandbox.org.directory
    found = {}

    async def scenario(product: Product) -> None:
        ids = {
            names.USERS: [a.id for a in directory.agents],
            names.QUEUES: [q.id for q in directory.queues],
            names.WRAP_UP_CODES: [w.id for w in directory.wrapups],
            names.DIVISIONS: [d.id for d in directory.divisions],
        }
        for kind, wanted in ids.items():
            found[kind] = await names.resolve(product.transport, kind, wanted)

    exchanges = Product(sandbox, fake_clock).run(scenario)
    _assert_covered(exchanges, "names")
    deleted = [a for a in directory.agents if directory.agent_deleted(a)]
    users = found[names.USERS].names
    assert len(deleted) == DELETED_AGENTS and all(
        users[a.id].name is not None for a in directory.agents if a not in deleted
    )
    assert all((users[a.id].name is None) == (deleted_users == "absent") for a in deleted)
    if deleted_users == "listed":  # listed, a deleted user keeps its name and says it is deleted
        assert {users[a.id].state for a in deleted} == {"deleted"}
    # The SDK sends a list as one comma-joined value; every users request is one such bulk request.
    (users_asked,) = [e for e in sandbox.stats()["log"] if e["path"] == "/api/v2/users"]
    assert users_asked["query"].count("%2C") + users_asked["query"].count(",") == len(directory.agents) - 1


def test_live_control_reads_and_writes(sandbox_factory, fake_clock):
    conflicts = Faults(conflict_409_every=3)  # a 409 now and then: re-read and written again
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=300, faults=conflicts)
    now_ms = int(fake_clock.time() * 1000)
    chats = (c for c in sandbox.org.conversations_for_day(YESTERDAY) if c.media_type == "chat")
    chat = next(c for c in chats if c.is_live(now_ms) and c.recordings)  # not a call: PATCH recordingstate
    call = sandbox.org.live_calls[0]

    async def scenario(product: Product) -> None:
        control = product.control
        live = await control.active_conversations(since=timedelta(hours=6), media_types=None)
        assert {call.id, chat.id} <= {c.conversation_id for c in live}
        summary = next(c for c in live if c.conversation_id == call.id)
        await control.active_conversations(
            since=timedelta(hours=6), queue_id=summary.queue_ids[0], user_id=summary.agent_ids[0]
        )
        for conversation_id in (call.id, chat.id):
            await control.set_recording_state(conversation_id, paused=True)
            await control.set_recording_state(conversation_id, paused=False)
        agent = next(p for p in (await control.inspect(call.id)).participants if p.purpose == "agent")
        await control.set_participant_recording(call.id, agent.participant_id, on=False)
        await control.set_participant_recording(call.id, agent.participant_id, on=True)

    exchanges = Product(sandbox, fake_clock).run(scenario)
    _assert_covered(exchanges, "control")
    assert 409 in {e.status for e in exchanges}


def test_error_bodies_are_error_bodies(sandbox_factory, fake_clock):
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=100)
    deleted = find_recording(sandbox.org, lambda r: r.file_state == "DELETED")

    async def scenario(product: Product) -> None:
        with pytest.raises(NotFoundError):
            await product.recordings.metadata(UNKNOWN_CONVERSATION)
        sandbox.set_faults(Faults(deleted_status=410))
        with pytest.raises(GoneError):
            await product.recordings.get(deleted.conversation_id, deleted.id)
        for faults in (Faults(burst_429_every=2, burst_429_length=1), Faults(error_5xx_every=2)):
            sandbox.set_faults(faults)
            for _ in range(2):  # answered after a retry
                await product.recordings.metadata(deleted.conversation_id)
        sandbox.set_faults(Faults())

    exchanges = Product(sandbox, fake_clock).run(scenario)
    api = Api(sandbox)
    ended = sandbox.org.conversations_for_day(YESTERDAY)[0]
    for response in (
        api.get("/api/v2/recordings/retention/query"),  # no retentionThresholdDays
        api.patch(f"/api/v2/conversations/{ended.id}/recordingstate", json={"recordingState": "PAUSED"}),
    ):
        exchanges.append(Exchanges.exchange(response))
    _assert_no_breach(exchanges)
    statuses = {e.status for e in exchanges}
    assert {400, 404, 410, 429} <= statuses and statuses & {502, 503, 504}


def test_the_walker_names_a_planted_unknown_field():
    recording = {"id": "r", "mediaUris": {"0": {"mediaUri": "https://x", "expires": 1}}, "region": "eu"}
    assert undeclared(recording, "Recording") == [
        'Recording.mediaUris["0"].expires (not in MediaResult)',
        "Recording.region (not in Recording)",
    ]
    segment = {"segmentType": "interact", "extra": 1}
    conversation = {"conversationId": "c", "participants": [{"sessions": [{"segments": [segment]}]}]}
    page = {"totalHits": 1, "conversations": [conversation]}
    assert undeclared(page, "AnalyticsConversationQueryResponse") == [
        "AnalyticsConversationQueryResponse.conversations[0].participants[0].sessions[0].segments[0].extra"
        " (not in AnalyticsConversationSegment)"
    ]
    assert undeclared({"results": {"a": 1}}, "BatchDownloadJobStatusResult") == [
        "BatchDownloadJobStatusResult.results: a dict where the SDK has list[BatchDownloadJobResult]"
    ]
    wrong = {"outputSizeInBytes": "12", "deleteDate": "soon", "archiveDate": "2026-01-01T02:00+02:00"}
    assert undeclared({**wrong, "fileState": "Available", "media": "audio"}, "Recording") == [
        "Recording.outputSizeInBytes: a str where the SDK has int",
        "Recording.deleteDate: a str where the SDK has datetime",
        "Recording.fileState: 'Available' is none of ARCHIVED, AVAILABLE, DELETED, RESTORED, RESTORING,"
        " UPLOADING, ERROR",
    ]
    nested = {"message": "m", "limit": {"key": "k"}}
    error = {"status": 404, "code": "not.found", "details": [], "errors": [nested]}
    assert undeclared(error, "ErrorBody") == []


def test_the_products_pure_request_builders_match_the_sdk():
    for ended in (True, False, None):
        filters = build_filters(media_types=MEDIA_TYPES, ended=ended)
        assert undeclared(filters, "ConversationQuery") == undeclared(filters, "AsyncConversationQuery") == []
    batch = {"batchDownloadRequestList": [BatchItem("c").to_api(), BatchItem("c", "r").to_api()]}
    assert undeclared(batch, "BatchDownloadJobSubmission") == []
    planted = {**build_filters(media_types=None, ended=True), "unknownFilters": []}
    assert undeclared(planted, "ConversationQuery") == [
        "ConversationQuery.unknownFilters (not in ConversationQuery)"
    ]


def test_every_platform_path_the_product_names_is_in_the_table_and_exercised():
    named = platform_paths(GENESYS_DIR)
    assert len(named) >= 12 and "/api/v2/analytics/conversations/details/jobs/x/results" in named
    assert {path for path in named if not any(e.matches(e.method, path) for e in ENDPOINTS)} == set()
    assert set().union(*COVERS.values()) == {e.name for e in ENDPOINTS}
