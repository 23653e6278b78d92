from __future__ import annotations

import io
import struct
import wave
import zipfile

import pytest

from recording_assets.archive.sniff import (
    HEAD_BYTES,
    check_container,
    containers_for_content_type,
    extension_for,
    sniff,
)

# Real-world openings, byte for byte (the EBML headers are what ffmpeg/mkvmerge write).
EBML_WEBM = bytes.fromhex("1a45dfa39f4286810142f7810142f2810442f381084282847765626d4287810442858102")
EBML_MATROSKA = bytes.fromhex(
    "1a45dfa3a34286810142f7810142f2810442f381084282886d6174726f736b614287810442858102"
)


def wav_bytes(frames: int = 800) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(b"\x01\x02" * frames)
    return buffer.getvalue()


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("transcript.json", "{}")
    return buffer.getvalue()


SAMPLES = {
    "wav": wav_bytes(),
    "ogg": b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x13OpusHead" + b"\x00" * 40,
    "webm": EBML_WEBM + b"\x18\x53\x80\x67" + b"\x00" * 40,
    "mkv": EBML_MATROSKA + b"\x18\x53\x80\x67" + b"\x00" * 40,
    "mp3": b"ID3\x04\x00\x00\x00\x00\x00\x21" + b"\x00" * 60,
    "mp4": b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2mp41" + b"\x00" * 40,
    "zip": zip_bytes(),
    "json": b'{"conversationId": "c1", "messages": []}' + b" " * 30,
    "eml": b"Received: from mx.example.com\r\nFrom: a@example.com\r\nSubject: hi\r\n\r\nbody",
    "html": b"<!DOCTYPE html><html><head><title>403 Forbidden</title></head></html>",
}

CONTENT_TYPES = {
    "wav": "audio/wav",
    "ogg": "audio/ogg; codecs=opus",
    "webm": "audio/webm;codecs=opus",
    "mp3": "audio/mpeg",
    "mp4": "video/mp4",
    "zip": "application/zip",
    "json": "application/json; charset=utf-8",
    "eml": "message/rfc822",
}


@pytest.mark.parametrize("container", sorted(SAMPLES))
def test_sniff_recognises_every_container(container):
    assert sniff(SAMPLES[container][:HEAD_BYTES]) == container


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xfb\x90\x64" + b"\x00" * 60, "mp3"),  # MPEG-1 Layer III frame sync, no ID3 tag
        (b"\xff\xf3\x48\xc4" + b"\x00" * 60, "mp3"),  # MPEG-2 Layer III
        (b"\xff\xf1\x50\x80" + b"\x00" * 60, "unknown"),  # AAC ADTS: layer bits 00, not MP3
        (b"\xff\xff\xff\xff" + b"\x00" * 60, "unknown"),
        (b"\xef\xbb\xbf \r\n\t[1, 2, 3]", "json"),
        (b"  \n[]", "json"),
        (b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n", "eml"),
        (b"Return-Path: <bounce@example.com>\r\n", "eml"),
        (b"date: Mon, 23 Nov 2026 08:00:00 +0000\r\n", "eml"),
        (b"X-Genesys-Id: 1\r\n", "eml"),
        (b"Hello: world", "unknown"),
        (b"From someone@example.com Mon Nov 23", "unknown"),  # mbox separator, not a header line
        (b"\xef\xbb\xbf  <HTML lang=en><body>Bad gateway", "html"),
        (b"<!doctype HTML>", "html"),
        (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>', "unknown"),
        (b"\x1a\x45\xdf\xa3\x84\x42\x86\x81\x01", "unknown"),  # EBML without a DocType
        (b"\x1a\x45\xdf\xa3", "unknown"),  # cut off inside the EBML header
        (b"RIFF\x24\x00\x00\x00AVI ", "unknown"),
        (b"", "unknown"),
        (b"\x00" * 64, "unknown"),
    ],
)
def test_sniff_edge_cases(head, expected):
    assert sniff(head) == expected


@pytest.mark.parametrize("container", sorted(CONTENT_TYPES))
def test_matching_content_type_passes(container):
    data = SAMPLES[container]
    verdict = check_container(CONTENT_TYPES[container], data[:HEAD_BYTES], len(data))
    assert verdict.ok, verdict.reason
    assert (verdict.container, verdict.reason) == (container, None)


def test_zero_bytes_fail():
    verdict = check_container("audio/wav", b"", 0)
    assert not verdict.ok and "zero bytes" in verdict.reason


@pytest.mark.parametrize("content_type", ["audio/wav", "audio/ogg", "application/json", None])
def test_html_error_page_never_passes(content_type):
    page = SAMPLES["html"]
    verdict = check_container(content_type, page[:HEAD_BYTES], len(page))
    assert (verdict.container, verdict.ok) == ("html", False)
    assert "HTML" in verdict.reason


def test_unknown_bytes_fail():
    verdict = check_container("audio/wav", b"\x00" * 64, 10_000)
    assert (verdict.container, verdict.ok) == ("unknown", False)


@pytest.mark.parametrize(
    ("content_type", "container"),
    [
        ("audio/wav", "ogg"),
        ("audio/ogg", "wav"),
        ("audio/webm", "mkv"),
        ("audio/mpeg", "mp4"),
        ("message/rfc822", "json"),
    ],
)
def test_mislabelled_container_fails(content_type, container):
    data = SAMPLES[container]
    verdict = check_container(content_type, data[:HEAD_BYTES], len(data))
    assert not verdict.ok
    assert verdict.container == container
    assert content_type in verdict.reason


def test_truncated_wav_fails():
    data = wav_bytes()
    verdict = check_container("audio/wav", data[:HEAD_BYTES], len(data) - 100)
    assert not verdict.ok
    assert "truncated" in verdict.reason


def test_wav_with_trailing_bytes_fails():
    data = wav_bytes()
    verdict = check_container("audio/x-wav", data[:HEAD_BYTES], len(data) + 7)
    assert not verdict.ok and "beyond" in verdict.reason


@pytest.mark.parametrize("declared", [0, 0xFFFFFFFF])
def test_wav_with_unfinalised_header_fails(declared):
    head = b"RIFF" + struct.pack("<I", declared) + b"WAVEfmt " + b"\x00" * 48
    verdict = check_container("audio/wav", head, 5_000)
    assert not verdict.ok and "never finalised" in verdict.reason


def test_wav_missing_pad_byte_is_tolerated():
    head = b"RIFF" + struct.pack("<I", 1001) + b"WAVE" + b"\x00" * 52
    assert check_container("audio/wav", head, 1009).ok
    assert check_container("audio/wav", head, 1010).ok
    assert not check_container("audio/wav", head, 1011).ok


def test_generic_or_missing_content_type_trusts_the_bytes():
    data = SAMPLES["ogg"]
    assert check_container(None, data, len(data)).ok
    assert check_container("application/octet-stream", data, len(data)).ok


def test_non_recording_content_type_fails():
    data = SAMPLES["json"]
    verdict = check_container("text/plain", data, len(data))
    assert not verdict.ok and "not a recording type" in verdict.reason


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("audio/wav", {"wav"}),
        ("audio/x-wav", {"wav"}),
        ("audio/wave", {"wav"}),
        ("audio/vnd.wave", {"wav"}),
        ("Audio/WAV", {"wav"}),
        ("audio/ogg", {"ogg"}),
        ("audio/opus", {"ogg"}),
        ("application/ogg", {"ogg"}),
        ("audio/webm; codecs=opus", {"webm"}),
        ("video/webm", {"webm"}),
        ("audio/mpeg", {"mp3"}),
        ("audio/mp3", {"mp3"}),
        ("video/mp4", {"mp4"}),
        ("audio/mp4", {"mp4"}),
        ("application/zip", {"zip"}),
        ("application/x-zip-compressed", {"zip"}),
        ("application/json", {"json"}),
        ("text/json", {"json"}),
        (" message/RFC822 ", {"eml"}),
        ("text/html", set()),
        ("", set()),
        (None, set()),
    ],
)
def test_containers_for_content_type(content_type, expected):
    assert containers_for_content_type(content_type) == frozenset(expected)


def test_extension_for():
    assert [extension_for(c) for c in ("wav", "ogg", "webm", "mp3", "mp4", "zip", "json", "eml")] == [
        ".wav",
        ".ogg",
        ".webm",
        ".mp3",
        ".mp4",
        ".zip",
        ".json",
        ".eml",
    ]
    assert extension_for("unknown") == ".bin"
    with pytest.raises(ValueError, match="sniff"):
        extension_for("flac")
