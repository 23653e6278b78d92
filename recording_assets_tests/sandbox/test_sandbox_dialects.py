"""The sandbox plays each reading of what the documentation leaves open (``Dialect``), over real HTTP."""

from __future__ import annotations

import re

import httpx
import pytest

from recording_assets.sandbox import DIALECTS, Dialect
from recording_assets.sandbox.timefmt import parse_iso
from recording_assets_tests.sandbox.test_sandbox_recordings import _poll
from recording_assets_tests.sandbox.test_sandbox_support import YESTERDAY, Api, find_recording


def _api(sandbox_factory, clock, **dialect) -> Api:
    return Api(sandbox_factory(clock=clock, conversations_per_day=300, dialect=Dialect(**dialect)))


def _conversations(api: Api) -> list[dict]:
    body = {
        "interval": f"{YESTERDAY}T00:00:00Z/{YESTERDAY}T23:59:59Z",
        "paging": {"pageSize": 100, "pageNumber": 1},
    }
    return api.query(body).json()["conversations"]


def _flagged(conversation: dict) -> dict[str, int]:
    """purpose -> sessions flagged ``recording: true``."""
    counts: dict[str, int] = {}
    for participant in conversation["participants"]:
        for session in participant["sessions"]:
            if session.get("recording"):
                counts[participant["purpose"]] = counts.get(participant["purpose"], 0) + 1
    return counts


def test_recording_flags_per_recording_flag_the_session_each_recording_belongs_to(
    sandbox_factory, fake_clock
):
    api = _api(sandbox_factory, fake_clock)
    checked = 0
    for conversation in _conversations(api):
        recordings = api.sandbox.org.recordings(conversation["conversationId"])
        assert sum(_flagged(conversation).values()) == len({r.role for r in recordings})
        checked += bool(recordings)
    assert checked > 50


def test_agent_only_flags_count_one_per_agent_whatever_was_recorded(sandbox_factory, fake_clock):
    api = _api(sandbox_factory, fake_clock, recording_flags="agent_only")
    stereo_calls = 0
    for conversation in _conversations(api):
        flagged = _flagged(conversation)
        assert set(flagged) <= {"agent"}
        recordings = api.sandbox.org.recordings(conversation["conversationId"])
        assert bool(flagged) == bool(recordings)
        stereo_calls += any(r.role == "customer" for r in recordings)
    assert stereo_calls > 50


def test_customer_and_agent_flags_mark_both_sides_of_one_stereo_recording(sandbox_factory, fake_clock):
    api = _api(sandbox_factory, fake_clock, recording_flags="customer_and_agent")
    inflated = 0
    for conversation in _conversations(api):
        recordings = api.sandbox.org.recordings(conversation["conversationId"])
        flagged = _flagged(conversation)
        if any(r.role == "customer" for r in recordings):
            assert flagged.get("customer") == 1 and flagged.get("agent", 0) >= 1
        inflated += sum(flagged.values()) > len(recordings)
    assert inflated > 50, "the reading must claim more sessions than recordings for most calls"


def test_screen_flags_with_recording_set_screen_recording_on_every_flagged_participant(
    sandbox_factory, fake_clock
):
    api = _api(sandbox_factory, fake_clock, screen_flags="with_recording")
    customers = 0
    for conversation in _conversations(api):
        for participant in conversation["participants"]:
            flagged = any(s.get("recording") for s in participant["sessions"])
            if flagged:
                assert participant.get("screenRecording") is True
                customers += participant["purpose"] == "customer"
    assert customers > 50


@pytest.mark.parametrize("reading", ["error_item", "omitted"])
def test_unavailable_recordings_in_a_batch_are_error_items_or_left_out(sandbox_factory, fake_clock, reading):
    api = _api(sandbox_factory, fake_clock, batch_unavailable=reading)
    org = api.sandbox.org
    unavailable = [
        find_recording(org, lambda r: r.file_state == "ARCHIVED"),
        find_recording(org, lambda r: r.file_state == "DELETED"),
    ]
    items = [{"conversationId": r.conversation_id} for r in unavailable]
    job_id = api.post("/api/v2/recording/batchrequests", json={"batchDownloadRequestList": items}).json()[
        "id"
    ]
    results = {r["recordingId"]: r for r in _poll(api, fake_clock, job_id)["results"]}
    if reading == "error_item":
        assert all("errorMsg" in results[r.id] for r in unavailable)
    else:
        assert not {r.id for r in unavailable} & set(results)
    others = {r.id for c in unavailable for r in org.conversation(c.conversation_id).recordings} - {
        r.id for r in unavailable
    }
    assert {rid for rid in results if rid in others} == {
        rid
        for rid in others
        if org.recording(rid).file_state not in ("ARCHIVED", "DELETED") or reading == "error_item"
    }


def test_approximate_total_hits_stay_within_ten_percent_and_move_between_pages(sandbox_factory, fake_clock):
    exact = _api(sandbox_factory, fake_clock)
    approximate = _api(sandbox_factory, fake_clock, total_hits="approximate")
    totals = []
    for page in (1, 2, 3):
        body = {
            "interval": f"{YESTERDAY}T00:00:00Z/{YESTERDAY}T23:59:59Z",
            "paging": {"pageSize": 50, "pageNumber": page},
        }
        truth = exact.query(body).json()["totalHits"]
        estimate = approximate.query(body).json()
        totals.append(estimate["totalHits"])
        assert abs(estimate["totalHits"] - truth) <= truth * 0.1 + 1
        assert len(estimate["conversations"]) == 50  # the rows themselves are exact
    assert len(set(totals)) > 1


@pytest.mark.parametrize(
    ("style", "pattern"),
    [
        ("millis", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"),
        ("seconds", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"),
        ("offset", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+02:00"),
    ],
)
def test_recording_timestamps_come_in_the_dialect_form(sandbox_factory, fake_clock, style, pattern):
    api = _api(sandbox_factory, fake_clock, timestamps=style)
    rec = find_recording(api.sandbox.org, lambda r: r.file_state == "AVAILABLE")
    item = next(
        m
        for m in api.get(f"/api/v2/conversations/{rec.conversation_id}/recordingmetadata").json()
        if m["id"] == rec.id
    )
    path = f"/api/v2/conversations/{rec.conversation_id}/recordings/{rec.id}"
    single = api.get(path, params={"formatId": "NONE"})
    for field in ("endTime", "deleteDate"):  # metadata has startTime for screen recordings only
        assert re.fullmatch(pattern, item[field]), item[field]
    for field in ("startTime", "endTime", "creationTime"):
        assert re.fullmatch(pattern, single.json()[field]), single.json()[field]
    assert abs(parse_iso(single.json()["startTime"]) - rec.start_ms) < 1000


def test_redirecting_media_answers_302_to_the_other_loopback_name(sandbox_factory, fake_clock):
    api = _api(sandbox_factory, fake_clock, media_redirects=2)
    rec = find_recording(api.sandbox.org, lambda r: r.file_state == "AVAILABLE" and r.media == "audio")
    url = api.get(
        f"/api/v2/conversations/{rec.conversation_id}/recordings/{rec.id}", params={"formatId": "NONE"}
    )
    url = url.json()["mediaUris"]["0"]["mediaUri"]
    hosts = []
    for _ in range(2):
        response = httpx.get(url)
        assert response.status_code == 302
        url = response.headers["location"]
        hosts.append(httpx.URL(url).host)
    assert hosts == ["localhost", "127.0.0.1"]
    assert httpx.get(url).status_code == 200


def test_dialects_parse_by_name_or_fields_and_refuse_what_they_do_not_know():
    assert Dialect.parse("stereo-flags") == DIALECTS["stereo-flags"]
    assert Dialect.parse("total_hits=approximate, media_redirects=2") == Dialect(
        total_hits="approximate", media_redirects=2
    )
    assert DIALECTS["independent"].differences().keys() == {
        "recording_flags",
        "screen_flags",
        "batch_unavailable",
        "total_hits",
        "timestamps",
        "media_redirects",
        "retention_threshold",
        "protection_refusal",
        "restore_body",
        "all_divisions_grant",
        "rate_limit_scope",
        "job_results_page",
    }
    with pytest.raises(ValueError, match="recording_flags"):
        Dialect(recording_flags="both")
    with pytest.raises(ValueError, match="field=value"):
        Dialect.parse("loud")
