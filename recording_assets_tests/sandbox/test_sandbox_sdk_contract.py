"""The official Genesys Cloud Python SDK must accept everything the sandbox says.

The SDK's models are generated from the live OpenAPI spec; if its deserialiser drops a field
(unknown enum values become "outdated_sdk_version") or refuses a response, the sandbox is wrong.
"""

from __future__ import annotations

import httpx
import pytest

PureCloud = pytest.importorskip("PureCloudPlatformClientV2")

OUTDATED = "outdated_sdk_version"


@pytest.fixture
def sdk(sandbox_factory, fake_clock):
    sandbox = sandbox_factory(clock=fake_clock, seed=11, conversations_per_day=300, batch_latency_s=2.0)
    token = httpx.post(
        f"{sandbox.base_url}/oauth/token",
        auth=("sandbox-client", "sandbox-secret"),
        data={"grant_type": "client_credentials"},
    ).json()["access_token"]
    client = PureCloud.ApiClient(host=sandbox.base_url)
    client.access_token = token
    return sandbox, client


def _no_outdated(model) -> None:
    """Walk an SDK model: no enum value may have been rejected as unknown."""
    if isinstance(model, list):
        for item in model:
            _no_outdated(item)
        return
    if isinstance(model, dict):
        for item in model.values():
            _no_outdated(item)
        return
    if not hasattr(model, "swagger_types"):
        assert model != OUTDATED
        return
    for attribute in model.swagger_types:
        _no_outdated(getattr(model, attribute))


def test_sdk_reads_details_query_metadata_batch_and_single_fetch(sdk, fake_clock):
    sandbox, client = sdk
    analytics = PureCloud.AnalyticsApi(client)
    recordings_api = PureCloud.RecordingApi(client)

    query = PureCloud.ConversationQuery()
    query.interval = "2025-12-31T00:00:00.000Z/2026-01-01T00:00:00.000Z"
    query.order = "asc"
    query.order_by = "conversationStart"
    paging = PureCloud.PagingSpec()
    paging.page_size = 100
    paging.page_number = 1
    query.paging = paging
    predicate = PureCloud.SegmentDetailQueryPredicate()
    predicate.dimension = "mediaType"
    predicate.operator = "matches"
    predicate.value = "voice"
    segment_filter = PureCloud.SegmentDetailQueryFilter()
    segment_filter.type = "and"
    segment_filter.predicates = [predicate]
    query.segment_filters = [segment_filter]

    result = analytics.post_analytics_conversations_details_query(query)
    assert isinstance(result, PureCloud.AnalyticsConversationQueryResponse)
    assert result.total_hits and result.total_hits > 0
    assert len(result.conversations) == min(100, result.total_hits)
    _no_outdated(result)
    first = result.conversations[0]
    assert first.conversation_id and first.conversation_start and first.originating_direction
    assert first.division_ids
    participant = first.participants[0]
    assert participant.participant_id and participant.purpose
    session = participant.sessions[0]
    assert session.session_id and session.media_type == "voice" and session.direction
    assert session.segments[0].segment_start and session.segments[0].segment_type

    conversation = next(
        c
        for c in result.conversations
        if any(s.recording for p in c.participants for s in p.sessions) and c.conversation_end
    )
    metadata = recordings_api.get_conversation_recordingmetadata(conversation.conversation_id)
    assert metadata and all(isinstance(m, PureCloud.RecordingMetadata) for m in metadata)
    _no_outdated(metadata)
    for item in metadata:
        assert item.id and item.conversation_id == conversation.conversation_id
        assert item.media and item.file_state and item.session_id and item.end_time and item.delete_date
        assert (item.start_time is not None) == (item.media == "screen")  # documented for screens only

    submission = PureCloud.BatchDownloadJobSubmission()
    requests = []
    for c in result.conversations[:10]:
        request = PureCloud.BatchDownloadRequest()
        request.conversation_id = c.conversation_id
        requests.append(request)
    submission.batch_download_request_list = requests
    submitted = recordings_api.post_recording_batchrequests(submission)
    assert submitted.id and submitted.self_uri

    status = recordings_api.get_recording_batchrequest(submitted.id)
    polls = 0
    while status.status != "Completed":
        polls += 1
        assert polls < 20
        fake_clock.advance(1)
        status = recordings_api.get_recording_batchrequest(submitted.id)
    _no_outdated(status)
    assert status.id == submitted.id and status.job_id == submitted.id
    assert status.expected_result_count == status.result_count == len(status.results)
    assert status.error_count is not None
    ok = [r for r in status.results if r.result_url]
    assert ok and all(r.conversation_id and r.recording_id and r.content_type for r in ok)
    assert all(r.error_msg for r in status.results if not r.result_url)
    downloaded = httpx.get(ok[0].result_url)
    assert downloaded.status_code == 200 and downloaded.headers["content-type"] == ok[0].content_type

    available = next(m for m in metadata if m.file_state == "AVAILABLE")
    recording = recordings_api.get_conversation_recording(
        conversation.conversation_id, available.id, format_id="NONE"
    )
    assert isinstance(recording, PureCloud.Recording)
    _no_outdated(recording)
    assert recording.id == available.id and recording.file_state == "AVAILABLE"
    assert recording.media_uris["0"].media_uri.startswith(sandbox.base_url)
    assert recording.output_size_in_bytes > 0 and recording.output_duration_ms > 0
    assert recording.session_id and recording.media_subtype in (None, "Trunk", "Consult", "Screen")
    body = httpx.get(recording.media_uris["0"].media_uri)
    assert body.status_code == 200 and len(body.content) == recording.output_size_in_bytes


def test_sdk_reads_jobs_tokens_roles_and_live_calls(sdk, fake_clock):
    sandbox, client = sdk
    analytics = PureCloud.AnalyticsApi(client)

    job_query = PureCloud.AsyncConversationQuery()
    job_query.interval = "2025-12-30T00:00:00.000Z/2025-12-31T00:00:00.000Z"
    job = analytics.post_analytics_conversations_details_jobs(job_query)
    assert job.job_id
    fake_clock.advance(5)
    status = analytics.get_analytics_conversations_details_job(job.job_id)
    assert status.state == "FULFILLED" and status.submission_date and status.expiration_date
    page = analytics.get_analytics_conversations_details_job_results(job.job_id, page_size=50)
    _no_outdated(page)
    assert len(page.conversations) == 50 and page.cursor and page.data_availability_date
    availability = analytics.get_analytics_conversations_details_jobs_availability()
    assert availability.data_availability_date

    me = PureCloud.TokensApi(client).get_tokens_me()
    assert me.organization.id and me.o_auth_client.id == "sandbox-client"
    oauth_client = PureCloud.OAuthApi(client).get_oauth_client("sandbox-client")
    assert oauth_client.authorized_grant_type == "CLIENT-CREDENTIALS" and oauth_client.role_divisions
    role = PureCloud.AuthorizationApi(client).get_authorization_role(oauth_client.role_divisions[0].role_id)
    assert "recording:recording:viewSensitiveData" in role.permissions
    assert any(
        p.domain == "recording" and "viewSensitiveData" in p.action_set for p in role.permission_policies
    )

    conversations = PureCloud.ConversationsApi(client)
    live = sandbox.org.live_calls[0]
    call = conversations.get_conversations_call(live.id)
    _no_outdated(call)
    assert call.recording_state == "active" and {p.purpose for p in call.participants} >= {
        "customer",
        "agent",
    }
    assert all(p.recorders_state is not None for p in call.participants)
    conversation = conversations.get_conversation(live.id)
    _no_outdated(conversation)
    assert conversation.recording_state == "ACTIVE" and conversation.end_time is None
    body = PureCloud.SetRecordingState()
    body.recording_state = "PAUSED"
    assert conversations.put_conversations_call_recordingstate(live.id, body) == "PAUSED"
    assert conversations.get_conversations_call(live.id).recording_state == "paused"
