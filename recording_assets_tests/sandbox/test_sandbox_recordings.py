"""Recording metadata, single fetches with formats and transcoding, batch downloads, presigned URLs."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET

import httpx
import pytest

from recording_assets.sandbox.config import ALL_PERMISSIONS
from recording_assets_tests.sandbox.test_sandbox_support import (
    YESTERDAY,
    Api,
    find_recording,
    is_plain_available,
    parse_riff,
)


@pytest.fixture
def api(sandbox_factory, fake_clock):
    return Api(sandbox_factory(clock=fake_clock, conversations_per_day=500))


def _recording_path(rec) -> str:
    return f"/api/v2/conversations/{rec.conversation_id}/recordings/{rec.id}"


def test_recordingmetadata_lists_every_recording_of_a_conversation(api):
    org = api.sandbox.org
    conv = next(c for c in org.conversations_for_day(YESTERDAY) if len(c.recordings) >= 2)
    response = api.get(f"/api/v2/conversations/{conv.id}/recordingmetadata")
    assert response.status_code == 200
    items = response.json()
    assert [m["id"] for m in items] == [r.id for r in conv.recordings]
    for item, rec in zip(items, conv.recordings, strict=True):
        assert item["conversationId"] == conv.id and item["sessionId"] == rec.session_id
        assert item["media"] == rec.media and item["fileState"] == rec.file_state
        assert item["endTime"] and item["deleteDate"] and item["region"]
        assert ("startTime" in item) == (rec.media == "screen")  # SDK: "for screen recordings" only
        assert "mediaUris" not in item
    unrecorded = next(c for c in org.conversations_for_day(YESTERDAY) if not c.recordings)
    assert api.get(f"/api/v2/conversations/{unrecorded.id}/recordingmetadata").json() == []
    assert (
        api.get("/api/v2/conversations/8f1e0d4c-2b1a-4c3d-9e8f-0a1b2c3d4e5f/recordingmetadata").status_code
        == 404
    )


def test_every_recording_session_is_marked_recording_in_analytics(api):
    org = api.sandbox.org
    page = api.query(
        {
            "interval": f"{YESTERDAY}T08:00:00Z/{YESTERDAY}T12:00:00Z",
            "paging": {"pageSize": 100, "pageNumber": 1},
        }
    ).json()["conversations"]
    checked = 0
    for conversation in page:
        sessions = {s["sessionId"]: s for p in conversation["participants"] for s in p["sessions"]}
        for rec in org.recordings(conversation["conversationId"]):
            assert sessions[rec.session_id].get("recording") is True
            checked += 1
            if rec.media == "screen":
                agent = next(
                    p
                    for p in conversation["participants"]
                    if rec.session_id in {s["sessionId"] for s in p["sessions"]}
                )
                assert agent["screenRecording"] is True
        if not org.recordings(conversation["conversationId"]):
            assert not any(s.get("recording") for s in sessions.values())
    assert checked > 50


def test_default_webm_transcodes_with_202_first_then_200(api):
    org = api.sandbox.org
    rec = find_recording(org, lambda r: r.codec == "ogg_opus" and is_plain_available(r))
    pending = api.get(_recording_path(rec))
    assert pending.status_code == 202
    assert "mediaUris" not in pending.json() and pending.json()["estimatedTranscodeTimeMs"] > 0
    ready = api.get(_recording_path(rec))
    assert ready.status_code == 200
    body = ready.json()
    download = httpx.get(body["mediaUris"]["0"]["mediaUri"])
    assert download.headers["content-type"] == "audio/webm"
    assert download.content[:4] == b"\x1a\x45\xdf\xa3"
    assert len(download.content) == body["outputSizeInBytes"] == org.media_size(rec.id, "WEBM")
    assert hashlib.sha256(download.content).hexdigest() == org.media_sha256(rec.id, "WEBM")


def test_native_format_needs_no_transcode_and_wav_transcode_is_real_wav(sandbox_factory, fake_clock):
    api = Api(sandbox_factory(clock=fake_clock, transcode_polls=3))
    org = api.sandbox.org
    rec = find_recording(org, lambda r: r.codec == "ogg_opus" and is_plain_available(r))
    native = api.get(_recording_path(rec), params={"formatId": "NONE"})
    assert native.status_code == 200
    ogg = httpx.get(native.json()["mediaUris"]["0"]["mediaUri"])
    assert ogg.headers["content-type"] == "audio/ogg" and ogg.content[:4] == b"OggS"
    statuses = [api.get(_recording_path(rec), params={"formatId": "WAV"}).status_code for _ in range(4)]
    assert statuses == [202, 202, 202, 200]
    wav_body = api.get(_recording_path(rec), params={"formatId": "WAV", "download": "true"}).json()
    wav = httpx.get(wav_body["mediaUris"]["0"]["mediaUri"])
    assert wav.headers["content-type"] == "audio/wav"
    assert wav.headers["content-disposition"].startswith("attachment;")
    header = parse_riff(wav.content)
    assert (header["tag"], header["rate"], header["bits"]) == (1, 8000, 16)
    assert header["data_at"] + header["data_size"] <= len(wav.content)
    assert api.get(_recording_path(rec), params={"formatId": "FLAC"}).status_code == 400


def test_archived_recordings_have_no_media_and_deleted_are_404(api):
    org = api.sandbox.org
    archived = find_recording(org, lambda r: r.file_state == "ARCHIVED")
    body = api.get(_recording_path(archived), params={"formatId": "NONE"}).json()
    assert body["fileState"] == "ARCHIVED" and body["archiveMedium"] == "CLOUDARCHIVE" and body["archiveDate"]
    assert "mediaUris" not in body
    deleted = find_recording(org, lambda r: r.file_state == "DELETED")
    response = api.get(_recording_path(deleted))
    assert response.status_code == 404
    assert response.json()["contextId"] == response.headers["inin-correlation-id"]
    listing = api.get(f"/api/v2/conversations/{deleted.conversation_id}/recordingmetadata").json()
    assert next(m for m in listing if m["id"] == deleted.id)["fileState"] == "DELETED"


def test_chat_email_and_message_formats(api):
    org = api.sandbox.org
    chat = find_recording(org, lambda r: r.media == "chat" and is_plain_available(r))
    zipped = api.get(_recording_path(chat)).json()
    assert httpx.get(zipped["mediaUris"]["0"]["mediaUri"]).headers["content-type"] == "application/zip"
    raw = api.get(_recording_path(chat), params={"chatFormatId": "NONE"}).json()
    assert httpx.get(raw["mediaUris"]["0"]["mediaUri"]).json()["conversationId"] == chat.conversation_id
    email = find_recording(org, lambda r: r.media == "email" and is_plain_available(r))
    eml = httpx.get(api.get(_recording_path(email)).json()["mediaUris"]["0"]["mediaUri"])
    assert eml.headers["content-type"] == "message/rfc822"
    message = find_recording(org, lambda r: r.media == "message" and is_plain_available(r))
    assert (
        httpx.get(api.get(_recording_path(message)).json()["mediaUris"]["0"]["mediaUri"]).content[:2] == b"PK"
    )


def test_plural_recordings_endpoint(api):
    org = api.sandbox.org
    conv = next(
        c
        for c in org.conversations_for_day(YESTERDAY)
        if c.recordings
        and all(r.codec == "webm_opus" or r.media != "audio" for r in c.recordings)
        and all(is_plain_available(r) for r in c.recordings)
    )
    listing = api.get(f"/api/v2/conversations/{conv.id}/recordings")
    assert listing.status_code == 200
    assert [r["id"] for r in listing.json()] == [r.id for r in conv.recordings]
    assert all("mediaUris" in r for r in listing.json())


def _poll(api: Api, clock, job_id: str) -> dict:
    for _ in range(30):
        status = api.get(f"/api/v2/recording/batchrequests/{job_id}").json()
        if status["status"] == "Completed":
            return status
        clock.advance(0.5)
    raise AssertionError("batch never completed")


def test_batch_flow_native_codecs_errors_and_partial_progress(api, fake_clock):
    org = api.sandbox.org
    convs = [c for c in org.conversations_for_day(YESTERDAY)[:200] if c.recordings][:60]
    archived = find_recording(org, lambda r: r.file_state == "ARCHIVED")
    deleted = find_recording(org, lambda r: r.file_state == "DELETED")
    items = [{"conversationId": c.id} for c in convs]
    items += [
        {"conversationId": archived.conversation_id, "recordingId": archived.id},
        {"conversationId": deleted.conversation_id, "recordingId": deleted.id},
    ]
    submitted = api.post("/api/v2/recording/batchrequests", json={"batchDownloadRequestList": items})
    assert submitted.status_code == 200
    job_id = submitted.json()["id"]
    assert submitted.json()["selfUri"].endswith(job_id)
    expected = sum(len(c.recordings) for c in convs) + 2
    first = api.get(f"/api/v2/recording/batchrequests/{job_id}").json()
    assert first["status"] == "InProgress" and first["expectedResultCount"] == expected
    fake_clock.advance(1.5)
    partial = api.get(f"/api/v2/recording/batchrequests/{job_id}").json()
    assert partial["status"] == "InProgress" and 0 < partial["resultCount"] < expected
    assert partial["resultCount"] == len(partial["results"])
    done = _poll(api, fake_clock, job_id)
    assert done["resultCount"] == expected == len(done["results"]) and done["jobId"] == job_id
    by_recording = {r["recordingId"]: r for r in done["results"]}
    assert "archived" in by_recording[archived.id]["errorMsg"].lower()
    assert "deleted" in by_recording[deleted.id]["errorMsg"].lower()
    assert "resultUrl" not in by_recording[archived.id]
    assert done["errorCount"] == sum(1 for r in done["results"] if "errorMsg" in r)
    for result in done["results"][:25]:
        rec = org.recording(result["recordingId"])
        if "resultUrl" in result:
            assert rec.file_state == "AVAILABLE"
            media = httpx.get(result["resultUrl"])
            assert media.headers["content-type"] == result["contentType"]
            assert hashlib.sha256(media.content).hexdigest() == org.media_sha256(rec.id)  # native codec


def test_batch_excludes_sensitive_recordings_without_view_sensitive_data(sandbox_factory, fake_clock):
    permissions = ALL_PERMISSIONS - {"recording:recording:viewSensitiveData"}
    limited = Api(sandbox_factory(clock=fake_clock, permissions=permissions))
    full = Api(sandbox_factory(clock=fake_clock))
    sensitive = find_recording(limited.sandbox.org, lambda r: r.sensitive)
    body = {"batchDownloadRequestList": [{"conversationId": sensitive.conversation_id}]}
    results = {}
    for name, api in (("limited", limited), ("full", full)):
        job_id = api.post("/api/v2/recording/batchrequests", json=body).json()["id"]
        results[name] = {r["recordingId"] for r in _poll(api, fake_clock, job_id)["results"]}
    assert sensitive.id in results["full"]
    assert sensitive.id not in results["limited"]
    assert results["full"] - results["limited"] == {sensitive.id}


def test_batch_validation_and_ownership(api):
    too_many = {"batchDownloadRequestList": [{"conversationId": "x"}] * 101}
    assert api.post("/api/v2/recording/batchrequests", json=too_many).status_code == 400
    assert (
        api.post("/api/v2/recording/batchrequests", json={"batchDownloadRequestList": []}).status_code == 400
    )
    assert api.post("/api/v2/recording/batchrequests", content=b"{not json").status_code == 400
    job = api.sandbox.state.batches.submit(
        "another-client",
        {"batchDownloadRequestList": [{"conversationId": "8f1e0d4c-2b1a-4c3d-9e8f-0a1b2c3d4e5f"}]},
        0,
        True,
    )
    assert api.get(f"/api/v2/recording/batchrequests/{job.id}").status_code == 404
    unknown = api.post(
        "/api/v2/recording/batchrequests",
        json={"batchDownloadRequestList": [{"conversationId": "8f1e0d4c-2b1a-4c3d-9e8f-0a1b2c3d4e5f"}]},
    ).json()["id"]
    api.sandbox.state.clock.advance(10)
    result = api.get(f"/api/v2/recording/batchrequests/{unknown}").json()["results"][0]
    assert result["errorMsg"] and "resultUrl" not in result


def test_presigned_urls_expire_on_the_sandbox_clock(sandbox_factory, fake_clock):
    api = Api(sandbox_factory(clock=fake_clock, url_ttl_s=120))
    rec = find_recording(api.sandbox.org, lambda r: r.media == "audio" and is_plain_available(r))
    url = api.get(_recording_path(rec), params={"formatId": "NONE"}).json()["mediaUris"]["0"]["mediaUri"]
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=120" in url
    assert httpx.get(url).status_code == 200
    fake_clock.advance(119)
    assert httpx.get(url).status_code == 200
    fake_clock.advance(2)
    expired = httpx.get(url)
    assert expired.status_code == 403 and expired.headers["content-type"] == "application/xml"
    error = ET.fromstring(expired.content)
    assert error.findtext("Code") == "AccessDenied" and error.findtext("Message") == "Request has expired"
    fresh = api.get(_recording_path(rec), params={"formatId": "NONE"}).json()["mediaUris"]["0"]["mediaUri"]
    assert httpx.get(fresh).status_code == 200
    stats = api.sandbox.stats()
    assert stats["requests"]["media"] == 4 and stats["statuses"]["403"] == 1


def test_tampered_urls_are_403_and_media_needs_no_bearer(api):
    rec = find_recording(api.sandbox.org, lambda r: r.media == "audio" and is_plain_available(r))
    url = api.get(_recording_path(rec), params={"formatId": "NONE"}).json()["mediaUris"]["0"]["mediaUri"]
    bad_signature = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
    assert httpx.get(bad_signature).status_code == 403
    assert httpx.get(url.replace("X-Amz-Expires=3600", "X-Amz-Expires=999999")).status_code == 403
    assert httpx.get(url.split("?")[0]).status_code == 403
    response = httpx.get(url)  # no Authorization header at all
    assert response.status_code == 200
    assert (
        int(response.headers["content-length"]) == len(response.content) == api.sandbox.org.media_size(rec.id)
    )


def test_range_requests_and_head(api):
    org = api.sandbox.org
    rec = find_recording(org, lambda r: r.codec == "wav_pcm" and is_plain_available(r))
    url = api.get(_recording_path(rec), params={"formatId": "NONE"}).json()["mediaUris"]["0"]["mediaUri"]
    whole = httpx.get(url).content
    part = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole)}"
    tail = httpx.get(url, headers={"Range": "bytes=-10"})
    assert tail.content == whole[-10:]
    assert httpx.get(url, headers={"Range": f"bytes={len(whole)}-"}).status_code == 416
    head = httpx.head(url)
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(whole)


def test_retention_query_returns_a_small_page(api):
    page = api.get("/api/v2/recordings/retention/query", params={"retentionThresholdDays": 5, "pageSize": 10})
    assert page.status_code == 200
    entities = page.json()["entities"]
    assert len(entities) == 10 and all(e["recordingId"] and e["deleteDate"] for e in entities)
    assert "nextUri" in page.json()
    assert api.get("/api/v2/recordings/retention/query").status_code == 400
