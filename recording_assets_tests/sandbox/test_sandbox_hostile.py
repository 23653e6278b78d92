"""The sandbox really serves each hostile answer of ``sandbox/hostile.py``, over real HTTP, and only to
the conversations the plan names (a small minority of the day); its default serves none of them."""

from __future__ import annotations

import time
import zlib

import httpx
import pytest

from recording_assets.sandbox import SandboxConfig
from recording_assets.sandbox.cli import add_arguments, config_from_args
from recording_assets.sandbox.hostile import ITEM_SCENARIOS, Hostile, gzip_bomb
from recording_assets_tests.canary import self_signed
from recording_assets_tests.sandbox.test_sandbox_support import YESTERDAY, Api, day_interval

DAY_QUERY = {"interval": day_interval(YESTERDAY), "paging": {"pageSize": 100, "pageNumber": 1}}
BOMB = 64 * (1 << 20)
ITEMS = Hostile(
    items=frozenset(ITEM_SCENARIOS),
    canary_url="http://127.0.0.2:9/canary",
    trickle_interval_s=0.2,
    gzip_bomb_bytes=BOMB,
)


@pytest.fixture
def sandbox(sandbox_factory, fake_clock):
    return sandbox_factory(
        clock=fake_clock, conversations_per_day=300, media_scale=0.002, batch_latency_s=0.0, hostile=ITEMS
    )


def _targets(sandbox):
    return sandbox.hostile_targets(YESTERDAY)


def _all_conversations(api: Api) -> list[dict]:
    out, page = [], 1
    while True:
        body = api.query({**DAY_QUERY, "paging": {"pageSize": 100, "pageNumber": page}}).json()
        out += body.get("conversations", [])
        if len(body.get("conversations", [])) < 100:
            return out
        page += 1


def _batch(api: Api, sandbox, conversation_ids) -> list[dict]:
    items = [{"conversationId": c} for c in conversation_ids]
    job = api.post("/api/v2/recording/batchrequests", json={"batchDownloadRequestList": items}).json()
    sandbox.clock.advance(30)
    status = api.get(f"/api/v2/recording/batchrequests/{job['id']}").json()
    assert status["status"] == "Completed"
    return status["results"]


def test_every_item_scenario_plays_on_its_own_conversation_a_small_minority_of_the_day(sandbox):
    targets = _targets(sandbox)
    assert set(targets) == set(ITEM_SCENARIOS)
    conversations = {t.conversation_id for t in targets.values()}
    assert len(conversations) == len(ITEM_SCENARIOS)  # one conversation each
    day = sandbox.org.conversations_for_day(YESTERDAY)
    assert len(conversations) / len(day) < 0.06
    for target in targets.values():
        conv = sandbox.org.conversation(target.conversation_id)
        assert [r.id for r in conv.recordings] == [target.recording_id]
        assert conv.recordings[0].file_state == "AVAILABLE" and conv.recordings[0].media == "audio"
    snapshot = httpx.get(
        f"{sandbox.base_url}/__sandbox/hostile", params={"day": YESTERDAY.isoformat()}
    ).json()
    assert snapshot["targets"]["gzip_bomb"]["conversationId"] == targets["gzip_bomb"].conversation_id


def test_the_default_sandbox_plays_nothing_hostile(sandbox_factory, fake_clock):
    sb = sandbox_factory(clock=fake_clock, conversations_per_day=300)
    assert sb.hostile_targets(YESTERDAY) == {}
    text = Api(sb).query(DAY_QUERY).text
    assert "../../x" not in text and '"originatingDirection":1' not in text.replace(" ", "")


def test_analytics_answers_carry_the_hostile_conversations(sandbox):
    targets = _targets(sandbox)
    by_id = {c["conversationId"]: c for c in _all_conversations(Api(sandbox))}
    traversal = by_id[targets["queue_traversal"].conversation_id]
    queues = {
        s.get("queueId") for p in traversal["participants"] for x in p["sessions"] for s in x["segments"]
    }
    assert "../../x" in queues
    assert by_id[targets["numeric_direction"].conversation_id]["originatingDirection"] == 1
    assert "conversationStart" not in by_id[targets["no_conversation_start"].conversation_id]
    others = [c for cid, c in by_id.items() if cid not in {t.conversation_id for t in targets.values()}]
    assert others and all(
        "conversationStart" in c and isinstance(c["originatingDirection"], str) for c in others
    )
    assert sandbox.state.hostile.served["queue_traversal"] >= 1


def test_batch_results_carry_the_hostile_fields(sandbox):
    targets = _targets(sandbox)
    names = ("slash_recording_id", "untyped_media", "crlf_content_type", "idna_result_url", "nul_result_url")
    api = Api(sandbox)
    results = {
        r["conversationId"]: r for r in _batch(api, sandbox, [targets[n].conversation_id for n in names])
    }
    slash = results[targets["slash_recording_id"].conversation_id]
    assert slash["recordingId"] == targets["slash_recording_id"].recording_id + "/../x"
    assert "contentType" not in results[targets["untyped_media"].conversation_id]
    assert "\r\nX-Injected: yes" in results[targets["crlf_content_type"].conversation_id]["contentType"]
    assert results[targets["idna_result_url"].conversation_id]["resultUrl"].startswith(
        "http://xn--a.example/"
    )
    assert "\x00" in results[targets["nul_result_url"].conversation_id]["resultUrl"]


def _media_url(api: Api, sandbox, scenario: str) -> str:
    target = _targets(sandbox)[scenario]
    (result,) = _batch(api, sandbox, [target.conversation_id])
    return result["resultUrl"]


def test_media_redirects_to_the_canary_over_https_and_plain_http(sandbox):
    api = Api(sandbox)
    for scenario, location in (
        ("canary_redirect", "http://127.0.0.2:9/canary"),
        ("downgrade_redirect", "http://127.0.0.2:9/canary"),
    ):
        response = httpx.get(_media_url(api, sandbox, scenario), follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (302, location)


def test_downgrade_redirect_goes_to_plain_http_whatever_the_canary_scheme(sandbox_factory, fake_clock):
    hostile = Hostile(items=frozenset({"downgrade_redirect"}), canary_url="https://127.0.0.2:8443/x")
    sb = sandbox_factory(clock=fake_clock, conversations_per_day=300, batch_latency_s=0.0, hostile=hostile)
    response = httpx.get(_media_url(Api(sb), sb, "downgrade_redirect"), follow_redirects=False)
    assert response.headers["location"] == "http://127.0.0.2:8443/x"


def test_untyped_media_has_no_content_type_and_the_transient_404_passes(sandbox):
    api = Api(sandbox)
    untyped = httpx.get(_media_url(api, sandbox, "untyped_media"))
    assert untyped.status_code == 200 and "content-type" not in untyped.headers and untyped.content
    url = _media_url(api, sandbox, "transient_media_404")
    first, second = httpx.get(url), httpx.get(url)
    assert first.status_code == 404 and b"NoSuchKey" in first.content
    rec = _targets(sandbox)["transient_media_404"].recording_id
    assert sandbox.org.recording(rec).file_state == "AVAILABLE"  # not deleted: the 404 passes
    assert second.status_code == 200 and len(second.content) == sandbox.org.media_size(rec)


def test_trickling_media_sends_one_byte_per_interval(sandbox):
    url = _media_url(Api(sandbox), sandbox, "trickle_media")
    started = time.monotonic()
    received = b""
    with httpx.stream("GET", url, timeout=5) as response:
        promised = int(response.headers["content-length"])
        for chunk in response.iter_raw():
            received += chunk
            if len(received) >= 5:
                break
    elapsed = time.monotonic() - started
    assert promised > 1000 and len(received) < 10
    assert elapsed >= 4 * 0.2  # five bytes, one every 0.2 s


def test_recording_metadata_html_numeric_state_and_gzip_bomb(sandbox):
    targets = _targets(sandbox)
    api = Api(sandbox)

    def path(scenario: str) -> str:
        return f"/api/v2/conversations/{targets[scenario].conversation_id}/recordingmetadata"

    html = api.get(path("html_metadata"))
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert html.text.startswith("<!DOCTYPE html>")
    (item,) = api.get(path("numeric_file_state")).json()
    assert item["fileState"] == 3
    with api.http.stream(
        "GET", path("gzip_bomb"), headers={"Authorization": f"Bearer {api.token}"}, timeout=120
    ) as response:
        assert response.headers["content-encoding"] == "gzip"
        raw = b"".join(response.iter_raw())
    inflated, inflater = 0, zlib.decompressobj(16 + zlib.MAX_WBITS)
    pending = raw
    while pending:  # inflated a megabyte at a time, so the test itself stays small
        inflated += len(inflater.decompress(pending, 1 << 20))
        pending = inflater.unconsumed_tail
    assert len(raw) < BOMB // 900 and inflated == BOMB  # about a thousandfold
    assert raw == gzip_bomb(BOMB)


def test_token_answers_html_then_json_and_a_claimed_expires_in(sandbox_factory, fake_clock):
    sb = sandbox_factory(clock=fake_clock, hostile=Hostile(html_token_answers=1, token_expires_in=-5))
    form = {"grant_type": "client_credentials"}
    auth = ("sandbox-client", "sandbox-secret")
    first = httpx.post(f"{sb.base_url}/oauth/token", auth=auth, data=form)
    second = httpx.post(f"{sb.base_url}/oauth/token", auth=auth, data=form)
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/html")
    body = second.json()
    assert body["expires_in"] == -5 and body["access_token"]
    # The token itself lives the configured lifetime: only the claim is hostile.
    api_answer = httpx.get(
        f"{sb.base_url}/api/v2/tokens/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert api_answer.status_code == 200


def test_details_pages_repeat_and_totals_understate(sandbox_factory, fake_clock):
    sb = sandbox_factory(clock=fake_clock, conversations_per_day=300, hostile=Hostile(repeating_pages=True))
    api = Api(sb)
    pages = [
        api.query({**DAY_QUERY, "paging": {"pageSize": 50, "pageNumber": n}}).json()["conversations"]
        for n in (1, 2, 3)
    ]
    assert len(pages[0]) == 50 and pages[0] == pages[1] == pages[2]
    sb2 = sandbox_factory(
        clock=fake_clock, conversations_per_day=300, hostile=Hostile(understated_total=True)
    )
    bodies = [
        Api(sb2).query({**DAY_QUERY, "paging": {"pageSize": 50, "pageNumber": n}}).json() for n in (1, 2, 3)
    ]
    assert [b["totalHits"] for b in bodies] == [1, 1, 1]
    assert all(len(b["conversations"]) == 50 for b in bodies)


def test_job_result_cursors_cycle(sandbox_factory, fake_clock):
    sb = sandbox_factory(clock=fake_clock, conversations_per_day=300, hostile=Hostile(cycling_cursor=True))
    api = Api(sb)
    interval = day_interval(YESTERDAY.replace(month=11, day=1))
    job = api.post("/api/v2/analytics/conversations/details/jobs", json={"interval": interval}).json()
    fake_clock.advance(10)
    path = f"/api/v2/analytics/conversations/details/jobs/{job['jobId']}/results"
    first = api.get(path, params={"pageSize": 50}).json()
    second = api.get(path, params={"pageSize": 50, "cursor": first["cursor"]}).json()
    third = api.get(path, params={"pageSize": 50, "cursor": second["cursor"]}).json()
    assert len({first["cursor"], second["cursor"]}) == 2
    assert third["cursor"] == first["cursor"]  # A -> B -> A
    assert third["conversations"] and third["conversations"] != second["conversations"]


def test_the_sandbox_serves_https_with_a_given_certificate(sandbox_factory, fake_clock, tmp_path):
    cert = self_signed(tmp_path)
    sb = sandbox_factory(clock=fake_clock, tls_certfile=cert.certfile, tls_keyfile=cert.keyfile)
    assert sb.base_url.startswith("https://127.0.0.1:")
    response = httpx.post(
        f"{sb.base_url}/oauth/token",
        auth=("sandbox-client", "sandbox-secret"),
        data={"grant_type": "client_credentials"},
        verify=cert.client_context(),
    )
    assert response.status_code == 200 and response.json()["access_token"]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{sb.base_url}/__sandbox/stats")  # not trusted without the certificate


def test_hostile_parses_from_the_command_line():
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--hostile",
            "items,cycling-cursor,canary_url=http://127.0.0.2:9000/x,token_expires_in=0,gzip_bomb_bytes=1024",
        ]
    )
    hostile = config_from_args(args).hostile
    assert hostile.items == frozenset(ITEM_SCENARIOS) and hostile.cycling_cursor
    assert (hostile.canary_url, hostile.token_expires_in, hostile.gzip_bomb_bytes) == (
        "http://127.0.0.2:9000/x",
        0,
        1024,
    )
    assert Hostile.parse("gzip_bomb,html_token_answers=2") == Hostile(
        items=frozenset({"gzip_bomb"}), html_token_answers=2
    )
    assert config_from_args(parser.parse_args([])).hostile == Hostile()
    with pytest.raises(ValueError, match="hostile 'nonsense'"):
        Hostile.parse("nonsense")
    with pytest.raises(ValueError, match="unknown hostile item"):
        SandboxConfig(hostile=Hostile(items=frozenset({"nope"})))
