"""Conversation detail queries (limits, filters, order, live conversations) and the async jobs flow."""

from __future__ import annotations

import datetime as dt

import pytest

from recording_assets.sandbox.timefmt import parse_interval, parse_iso
from recording_assets_tests.sandbox.test_sandbox_support import TODAY, YESTERDAY, Api, day_interval


def _query(interval: str, size: int = 100, number: int = 1, **extra) -> dict:
    return {"interval": interval, "paging": {"pageSize": size, "pageNumber": number}, **extra}


def _all_pages(api: Api, body: dict) -> list[dict]:
    found, number = [], 1
    while True:
        page = api.query({**body, "paging": {"pageSize": 100, "pageNumber": number}}).json()
        found += page.get("conversations", [])
        if len(page.get("conversations", [])) < 100:
            return found
        number += 1


@pytest.fixture
def api(sandbox_factory, fake_clock):
    return Api(sandbox_factory(clock=fake_clock, conversations_per_day=400))


def test_query_returns_the_days_conversations_in_order_with_total_hits(api):
    org = api.sandbox.org
    expected = [c.id for c in org.conversations_for_day(YESTERDAY)]
    found = _all_pages(api, _query(day_interval(YESTERDAY)))
    assert [c["conversationId"] for c in found] == expected
    first = api.query(_query(day_interval(YESTERDAY), size=10)).json()
    assert first["totalHits"] == len(expected) and len(first["conversations"]) == 10
    starts = [parse_iso(c["conversationStart"]) for c in found]
    assert starts == sorted(starts)
    day_start, day_end = parse_interval(day_interval(YESTERDAY))
    assert all(day_start <= s < day_end for s in starts)
    descending = api.query(_query(day_interval(YESTERDAY), size=5, order="desc")).json()["conversations"]
    assert [c["conversationId"] for c in descending] == expected[::-1][:5]


def test_default_page_size_is_25_and_empty_pages_have_no_conversations_key(api):
    default = api.query({"interval": day_interval(YESTERDAY)}).json()
    assert len(default["conversations"]) == 25
    empty = api.query(_query(day_interval(YESTERDAY), size=100, number=50)).json()
    assert empty == {"totalHits": default["totalHits"]}


def test_response_shape_matches_analytics_conversation(api):
    conversation = api.query(_query(day_interval(YESTERDAY), size=50)).json()["conversations"][0]
    assert set(conversation) >= {
        "conversationId",
        "conversationStart",
        "conversationEnd",
        "originatingDirection",
        "divisionIds",
        "participants",
    }
    purposes = {p["purpose"] for p in conversation["participants"]}
    assert {"customer", "agent"} <= purposes
    agent = next(p for p in conversation["participants"] if p["purpose"] == "agent")
    assert agent["userId"] and agent["participantName"] and agent["participantId"]
    session = agent["sessions"][0]
    assert {"sessionId", "mediaType", "direction", "segments"} <= set(session)
    wrapup = next(s for s in session["segments"] if s["segmentType"] == "wrapup")
    assert wrapup["wrapUpCode"] and wrapup["queueId"] and wrapup["segmentEnd"]


@pytest.mark.parametrize(
    "body, fragment",
    [
        (_query(f"{YESTERDAY}T00:00:00Z/{YESTERDAY + dt.timedelta(days=8)}T00:00:00Z"), "7 days"),
        (_query("2025-11-20T00:00:00Z/2025-11-21T00:00:00Z"), "jobs"),
        (_query(day_interval(YESTERDAY), size=101), "pageSize"),
        (_query(day_interval(YESTERDAY), size=100, number=101), "10000"),
        (_query(day_interval(YESTERDAY), size=0), "pageSize"),
        (_query("yesterday"), "interval"),
        (_query(day_interval(YESTERDAY), orderBy="queueId"), "orderBy"),
        (
            _query(
                day_interval(YESTERDAY),
                segmentFilters=[{"type": "and", "predicates": [{"dimension": "bogus", "value": "x"}]}],
            ),
            "bogus",
        ),
    ],
)
def test_query_limits_are_400(api, body, fragment):
    response = api.query(body)
    assert response.status_code == 400, response.text
    assert fragment in response.json()["message"]
    assert response.json()["code"] == "bad.request"


def test_limits_that_are_still_allowed(api):
    exactly_7_days = f"{YESTERDAY - dt.timedelta(days=6)}T00:00:00Z/{TODAY}T00:00:00Z"
    assert api.query(_query(exactly_7_days)).status_code == 200
    assert api.query(_query("2025-11-27T00:00:00Z/2025-11-28T00:00:00Z")).status_code == 200  # 35 days back
    assert api.query(_query(day_interval(YESTERDAY), size=100, number=100)).status_code == 200


def test_segment_filters_select_recorded_voice(api):
    org = api.sandbox.org
    body = _query(
        day_interval(YESTERDAY),
        segmentFilters=[
            {
                "type": "and",
                "predicates": [
                    {"dimension": "mediaType", "operator": "matches", "value": "voice"},
                    {"dimension": "recording", "operator": "exists"},
                ],
            }
        ],
        conversationFilters=[
            {"type": "and", "predicates": [{"dimension": "conversationEnd", "operator": "exists"}]}
        ],
    )
    found = {c["conversationId"] for c in _all_pages(api, body)}
    expected = {
        c.id
        for c in org.conversations_for_day(YESTERDAY)
        if c.media_type == "voice" and c.recordings and c.end_ms <= parse_iso("2026-01-01T00:00:00Z")
    }
    assert found == expected and found


def test_filters_on_queue_user_wrapup_direction_and_or(api):
    org = api.sandbox.org
    convs = org.conversations_for_day(YESTERDAY)
    sample = next(
        c for c in convs if c.direction == "outbound" and c.end_ms < parse_iso("2026-01-01T00:00:00Z")
    )
    queue_id = org.directory.queues[sample.queue].id
    user_id = org.directory.agents[sample.agent].id
    wrapup_id = org.directory.wrapups[sample.wrapup].id

    def ids(*predicates, kind="and", level="segmentFilters"):
        return {
            c["conversationId"]
            for c in _all_pages(
                api,
                _query(day_interval(YESTERDAY), **{level: [{"type": kind, "predicates": list(predicates)}]}),
            )
        }

    assert sample.id in ids({"dimension": "queueId", "value": queue_id})
    assert ids({"dimension": "queueId", "value": queue_id}) == {
        c.id for c in convs if c.queue == sample.queue
    }
    by_user = ids({"dimension": "userId", "value": user_id}, {"dimension": "purpose", "value": "agent"})
    assert sample.id in by_user
    assert ids({"dimension": "wrapUpCode", "value": wrapup_id}) >= {sample.id}
    outbound = ids({"dimension": "originatingDirection", "value": "outbound"}, level="conversationFilters")
    assert outbound == {c.id for c in convs if c.direction == "outbound"}
    chat_or_email = ids(
        {"dimension": "mediaType", "value": "chat"}, {"dimension": "mediaType", "value": "email"}, kind="or"
    )
    assert chat_or_email == {c.id for c in convs if c.media_type in ("chat", "email")}
    assert ids({"dimension": "conversationId", "value": sample.id}, level="conversationFilters") == {
        sample.id
    }
    division = org.directory.division.id
    assert len(ids({"dimension": "divisionId", "value": division}, level="conversationFilters")) == len(convs)
    unrecorded = ids(
        {"dimension": "recording", "operator": "notExists"}, {"dimension": "purpose", "value": "customer"}
    )
    assert {c.id for c in convs if not c.recordings} <= unrecorded


def test_live_conversations_have_no_end_until_they_finish(sandbox_factory, fake_clock):
    fake_clock.advance(12 * 3600)  # noon on 2026-01-01
    api = Api(sandbox_factory(clock=fake_clock, conversations_per_day=400, live_calls=3))
    org = api.sandbox.org
    now = parse_iso("2026-01-01T12:00:00Z")
    live_filter = [{"type": "and", "predicates": [{"dimension": "conversationEnd", "operator": "notExists"}]}]
    found = _all_pages(api, _query(day_interval(TODAY), conversationFilters=live_filter))
    expected = {c.id for c in org.conversations_for_day(TODAY) if c.start_ms <= now < c.end_ms}
    assert {c["conversationId"] for c in found} == expected
    assert {c.id for c in org.live_calls} <= expected
    for conversation in found:
        assert "conversationEnd" not in conversation
        open_segments = [
            s
            for p in conversation["participants"]
            for sess in p["sessions"]
            for s in sess["segments"]
            if "segmentEnd" not in s
        ]
        assert open_segments
    # Conversations that have not started yet are invisible.
    everything = _all_pages(api, _query(day_interval(TODAY)))
    assert all(parse_iso(c["conversationStart"]) <= now for c in everything)
    fake_clock.advance(3 * 3600)
    ended = api.query(
        _query(
            day_interval(TODAY),
            size=100,
            conversationFilters=[
                {
                    "type": "and",
                    "predicates": [{"dimension": "conversationId", "value": org.live_calls[0].id}],
                }
            ],
        )
    ).json()["conversations"][0]
    assert ended["conversationEnd"]


def test_midnight_spanning_conversations_belong_to_their_start_day(api):
    org = api.sandbox.org
    spanning = [
        c
        for c in org.conversations_for_day(YESTERDAY - dt.timedelta(days=1))
        if c.end_ms > parse_iso(f"{YESTERDAY}T00:00:00Z")
    ]
    assert spanning
    found = {c["conversationId"] for c in _all_pages(api, _query(day_interval(YESTERDAY)))}
    assert not {c.id for c in spanning} & found


def test_jobs_flow_queued_fulfilled_results_and_delete(api, fake_clock):
    response = api.post(
        "/api/v2/analytics/conversations/details/jobs",
        json={"interval": day_interval(YESTERDAY - dt.timedelta(days=40))},
    )
    assert response.status_code == 202
    job_id = response.json()["jobId"]
    status = api.get(f"/api/v2/analytics/conversations/details/jobs/{job_id}").json()
    assert status["state"] == "QUEUED" and status["submissionDate"] and status["expirationDate"]
    assert api.get(f"/api/v2/analytics/conversations/details/jobs/{job_id}/results").status_code == 400
    fake_clock.advance(3)
    status = api.get(f"/api/v2/analytics/conversations/details/jobs/{job_id}").json()
    assert status["state"] == "FULFILLED" and status["completionDate"]
    collected, cursor, pages = [], None, 0
    while True:
        params = {"pageSize": 150, **({"cursor": cursor} if cursor else {})}
        page = api.get(f"/api/v2/analytics/conversations/details/jobs/{job_id}/results", params=params).json()
        pages += 1
        assert page["dataAvailabilityDate"]
        collected += page.get("conversations", [])
        cursor = page.get("cursor")
        if not cursor:
            break
    day = YESTERDAY - dt.timedelta(days=40)
    org = api.sandbox.org
    start, end = parse_iso(f"{day}T00:00:00Z"), parse_iso(f"{day + dt.timedelta(days=1)}T00:00:00Z")
    overlapping = [
        c
        for d in (day - dt.timedelta(days=1), day)
        for c in org.conversations_for_day(d)
        if c.end_ms > start and c.start_ms < end
    ]
    assert [c["conversationId"] for c in collected] == [c.id for c in overlapping]
    assert pages == -(-len(overlapping) // 150)
    assert api.delete(f"/api/v2/analytics/conversations/details/jobs/{job_id}").status_code == 204
    assert api.get(f"/api/v2/analytics/conversations/details/jobs/{job_id}").status_code == 404


def test_jobs_start_of_day_matching_and_data_availability(api, fake_clock):
    org = api.sandbox.org
    availability = api.get("/api/v2/analytics/conversations/details/jobs/availability").json()
    assert availability["dataAvailabilityDate"] == "2025-12-31T23:00:00.000Z"  # now - 1 h lag
    job_id = api.post(
        "/api/v2/analytics/conversations/details/jobs",
        json={"interval": day_interval(YESTERDAY), "startOfDayIntervalMatching": True},
    ).json()["jobId"]
    fake_clock.advance(3)
    ids = [
        c["conversationId"]
        for c in api.get(f"/api/v2/analytics/conversations/details/jobs/{job_id}/results").json()[
            "conversations"
        ]
    ]
    cutoff = parse_iso(availability["dataAvailabilityDate"])
    expected = [c.id for c in org.conversations_for_day(YESTERDAY) if c.end_ms <= cutoff]
    assert ids == expected
    assert len(expected) < len(
        org.conversations_for_day(YESTERDAY)
    )  # the late evening is not in the lake yet


def test_job_results_need_the_owning_client(api):
    job = api.sandbox.state.jobs.submit("another-client", {"interval": day_interval(YESTERDAY)}, 0)
    assert api.get(f"/api/v2/analytics/conversations/details/jobs/{job.id}").status_code == 404
