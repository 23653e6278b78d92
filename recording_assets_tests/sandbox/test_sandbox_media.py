"""Media bytes are real containers (checked by parsers written independently of the generator),
exactly sized, deterministic, and stream fast in constant memory."""

from __future__ import annotations

import email
import hashlib
import io
import json
import struct
import time
import wave
import zipfile
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from recording_assets.sandbox import media
from recording_assets_tests.sandbox.test_sandbox_support import (
    YESTERDAY,
    Api,
    children,
    find_recording,
    is_plain_available,
    parse_ebml_top,
    parse_ogg,
    parse_riff,
    synthetic_org,
)


@pytest.fixture(scope="module")
def org():
    return synthetic_org(600, live_calls=5)


def _bytes(org, rec, format_id=None) -> bytes:
    return org.media_body(rec, format_id).read_all()


def test_wav_pcm_is_a_playable_tone(org):
    rec = find_recording(org, lambda r: r.codec == "wav_pcm")
    data = _bytes(org, rec)
    header = parse_riff(data)
    assert header["riff_size"] == len(data) - 8
    assert (header["tag"], header["channels"], header["rate"], header["bits"]) == (1, 1, 8000, 16)
    assert header["byte_rate"] == 16000 and header["align"] == 2
    assert header["data_at"] + header["data_size"] == len(data)
    with wave.open(io.BytesIO(data)) as reader:
        frames = reader.readframes(reader.getnframes())
    samples = struct.unpack(f"<{len(frames) // 2}h", frames)
    assert max(samples) > 5000 and min(samples) < -5000  # an audible tone, not silence
    crossings = sum(1 for a, b in zip(samples, samples[1:8001], strict=False) if a < 0 <= b)
    assert 250 <= crossings <= 850  # 300..800 Hz


def test_wav_ulaw_header(org):
    rec = find_recording(org, lambda r: r.codec == "wav_ulaw")
    data = _bytes(org, rec)
    header = parse_riff(data)
    assert (header["tag"], header["rate"], header["bits"], header["align"]) == (7, 8000, 8, 1)
    assert b"fact" in header["chunks"]
    assert header["riff_size"] == len(data) - 8
    assert header["data_at"] + header["data_size"] + (header["data_size"] & 1) == len(data)


@pytest.mark.parametrize("format_id", [None, "OGG_OPUS"])
def test_ogg_opus_pages_have_valid_crcs_and_headers(org, format_id):
    rec = find_recording(org, lambda r: r.codec == "ogg_opus" if format_id is None else r.codec == "wav_pcm")
    pages = parse_ogg(_bytes(org, rec, format_id))
    assert pages[0]["flags"] == 0x02 and pages[0]["payload"].startswith(b"OpusHead")
    assert pages[1]["payload"].startswith(b"OpusTags")
    assert pages[-1]["flags"] & 0x04
    assert [p["sequence"] for p in pages] == list(range(len(pages)))
    granules = [p["granule"] for p in pages[2:]]
    assert granules == sorted(granules) and granules[-1] > 0
    assert len({p["serial"] for p in pages}) == 1


@pytest.mark.parametrize("container, codec_id", [("webm_opus", b"A_OPUS"), ("webm_vp8", b"V_VP8")])
def test_webm_has_ebml_header_doctype_and_tiles_exactly(org, container, codec_id):
    kind = "screen" if container == "webm_vp8" else "audio"
    rec = find_recording(org, lambda r: r.media == kind)
    data = media.body_for(org.seed, rec, container, org.media_scale).read_all()
    assert data[:4] == b"\x1a\x45\xdf\xa3"
    top = parse_ebml_top(data)
    assert [t[0] for t in top] == [b"\x1a\x45\xdf\xa3", b"\x18\x53\x80\x67"]
    header = {i: data[s : s + n] for i, s, n in children(data, top[0][1], top[0][2])}
    assert header[b"\x42\x82"] == b"webm"
    segment = children(data, top[1][1], top[1][2])
    ids = [i for i, _, _ in segment]
    assert ids[:2] == [b"\x15\x49\xa9\x66", b"\x16\x54\xae\x6b"] and ids.count(b"\x1f\x43\xb6\x75") >= 1
    assert codec_id in data[segment[1][1] : segment[1][1] + segment[1][2]]


def test_mp3_has_id3_and_frame_sync(org):
    rec = find_recording(org, lambda r: r.media == "audio")
    data = _bytes(org, rec, "MP3")
    assert data[:3] == b"ID3"
    tag_size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
    first_frame = 10 + tag_size
    assert data[first_frame] == 0xFF and data[first_frame + 1] & 0xE0 == 0xE0
    assert (len(data) - first_frame) % 144 == 0
    assert all(data[i : i + 2] == b"\xff\xfb" for i in range(first_frame, len(data), 144))


def test_documents_open_as_what_they_claim(org):
    chat = find_recording(org, lambda r: r.media == "chat")
    transcript = json.loads(_bytes(org, chat))
    assert transcript["conversationId"] == chat.conversation_id and transcript["messages"]
    with zipfile.ZipFile(io.BytesIO(_bytes(org, chat, "ZIP"))) as archive:
        assert archive.testzip() is None
        assert json.loads(archive.read("transcript.json"))["recordingId"] == chat.id
    message = find_recording(org, lambda r: r.media == "message")
    with zipfile.ZipFile(io.BytesIO(_bytes(org, message))) as archive:
        assert json.loads(archive.read(archive.namelist()[0]))["media"] == "message"
    mail = find_recording(org, lambda r: r.media == "email")
    parsed = email.message_from_bytes(_bytes(org, mail))
    assert parsed["Subject"] and parsed["X-Genesys-Conversation-Id"] == mail.conversation_id


def test_content_types_match_containers(org):
    expected = {
        "ogg_opus": "audio/ogg",
        "wav_pcm": "audio/wav",
        "wav_ulaw": "audio/wav",
        "webm_opus": "audio/webm",
        "webm_vp8": "video/webm",
        "chat_json": "application/json",
        "message_zip": "application/zip",
        "email_eml": "message/rfc822",
    }
    for codec, content_type in expected.items():
        rec = find_recording(org, lambda r, c=codec: r.codec == c)
        assert org.media_content_type(rec.id) == content_type
    rec = find_recording(org, lambda r: r.media == "audio")
    assert org.media_content_type(rec.id, "MP3") == "audio/mpeg"


def test_sizes_scale_with_duration_and_media_scale():
    small, large = synthetic_org(200, media_scale=0.01), synthetic_org(200, media_scale=0.04)
    rec_small = find_recording(small, lambda r: r.codec == "wav_pcm" and r.duration_ms > 300_000)
    rec_large = large.recording(rec_small.id)
    assert rec_large.duration_ms == rec_small.duration_ms
    size_small, size_large = small.media_size(rec_small.id), large.media_size(rec_large.id)
    assert size_small >= 400
    assert 3.8 < size_large / size_small < 4.2
    assert abs(size_small - rec_small.duration_ms / 1000 * 16000 * 0.01) < 100


@pytest.mark.parametrize("format_id", ["NONE", "WAV", "WAV_ULAW", "OGG_OPUS", "WEBM", "MP3"])
def test_giant_recording_has_exactly_the_requested_size(format_id):
    giant = 3_000_001
    org = synthetic_org(100, seed=3, giant_recording_bytes=giant)
    convs = org.conversations_for_day(YESTERDAY)
    marked = [r for c in convs for r in c.recordings if r.giant_bytes]
    assert len(marked) == 1
    first_available = next(
        r for c in convs for r in c.recordings if r.media == "audio" and is_plain_available(r)
    )
    assert marked[0] is first_available
    body = org.media_body(marked[0], format_id)
    assert body.size == giant
    assert sum(len(chunk) for chunk in body.chunks()) == giant
    assert max(len(chunk) for chunk in body.chunks()) <= 1 << 20 + 64 * 1024


# How fast the sandbox streams is a benchmark's figure (benchmarks/memory.py streams 2 GiB), not a test's.
def test_giant_ogg_streams_whole_and_valid_at_the_seams():
    org = synthetic_org(50, seed=3, giant_recording_bytes=64 * 1024 * 1024)
    rec = next(r for c in org.conversations_for_day(YESTERDAY) for r in c.recordings if r.giant_bytes)
    body = media.body_for(org.seed, rec, "ogg_opus", org.media_scale)
    total = 0
    head = tail = b""
    for chunk in body.chunks():
        if len(head) < 200_000:
            head += chunk[:200_000]
        tail = (tail + chunk)[-200_000:]
        total += len(chunk)
    assert total == 64 * 1024 * 1024
    parse_ogg(head[: _page_boundary(head)])
    pages = parse_ogg(tail[tail.index(b"OggS") :])
    assert pages[-1]["flags"] & 0x04


def _page_boundary(data: bytes) -> int:
    pos = 0
    while True:
        if pos + 27 > len(data):
            return pos
        count = data[pos + 26]
        length = 27 + count + sum(data[pos + 27 : pos + 27 + count])
        if pos + length > len(data):
            return pos
        pos += length


def test_two_orgs_with_the_same_seed_agree_and_other_seeds_differ():
    def build(seed):
        return synthetic_org(300, seed=seed, live_calls=2)

    a, b, c = build(7), build(7), build(8)
    ids_a = [r.id for conv in a.conversations_for_day(YESTERDAY) for r in conv.recordings]
    assert ids_a == [r.id for conv in b.conversations_for_day(YESTERDAY) for r in conv.recordings]
    assert not set(ids_a) & {r.id for conv in c.conversations_for_day(YESTERDAY) for r in conv.recordings}
    for rec_id in ids_a[:40]:
        assert a.media_sha256(rec_id) == b.media_sha256(rec_id)
    assert [x.id for x in a.live_calls] == [x.id for x in b.live_calls]
    assert c.conversation(a.conversations_for_day(YESTERDAY)[0].id) is None


def test_two_servers_same_seed_serve_identical_bytes(sandbox_factory, fake_clock):
    one = Api(sandbox_factory(clock=fake_clock, seed=21))
    two = Api(sandbox_factory(clock=fake_clock, seed=21))
    rec = find_recording(one.sandbox.org, lambda r: r.media == "audio" and is_plain_available(r))
    digests = []
    for api in (one, two):
        body = api.get(
            f"/api/v2/conversations/{rec.conversation_id}/recordings/{rec.id}", params={"formatId": "NONE"}
        ).json()
        digests.append(hashlib.sha256(httpx.get(body["mediaUris"]["0"]["mediaUri"]).content).hexdigest())
    truth = httpx.get(f"{one.sandbox.base_url}/__sandbox/recordings/{rec.id}").json()
    assert digests[0] == digests[1] == truth["sha256"] == one.sandbox.org.media_sha256(rec.id)
    assert truth["size"] == one.sandbox.org.media_size(rec.id) and truth["fileState"] == "AVAILABLE"
    assert truth["contentType"] == one.sandbox.org.media_content_type(rec.id)


def settled_media_bytes(sandbox, expected: int, within_s: float = 2.0) -> int:
    """The sandbox's media byte counter once it reaches ``expected`` (or after ``within_s``): the server
    counts a piece after handing it to the socket, so the client can hold the last byte a moment earlier."""
    deadline = time.monotonic() + within_s
    while (sent := sandbox.stats()["media_bytes"]) < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return sent


def test_bandwidth_cap_is_real_time_and_shared(sandbox_factory, fake_clock):
    api = Api(sandbox_factory(clock=fake_clock, media_bandwidth_bytes_per_s=400_000))
    rec = find_recording(
        api.sandbox.org,
        lambda r: (
            r.codec == "wav_pcm"
            and is_plain_available(r)
            and 60_000 < api.sandbox.org.media_size(r.id) < 120_000
        ),
    )
    url = api.get(
        f"/api/v2/conversations/{rec.conversation_id}/recordings/{rec.id}", params={"formatId": "NONE"}
    ).json()["mediaUris"]["0"]["mediaUri"]
    size = api.sandbox.org.media_size(rec.id)
    started = time.perf_counter()
    assert len(httpx.get(url).content) == size
    elapsed = time.perf_counter() - started
    assert elapsed >= size / 400_000 * 0.8
    assert settled_media_bytes(api.sandbox, size) == size
    # Two downloads at once share the one budget: together they take about twice as long.
    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        sizes = list(pool.map(lambda _: len(httpx.get(url).content), range(2)))
    assert sizes == [size, size]
    assert time.perf_counter() - started >= 2 * size / 400_000 * 0.8
