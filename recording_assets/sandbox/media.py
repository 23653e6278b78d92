"""Real container bytes for synthetic recordings, generated in chunks on the fly.

Every streaming container (WAV, Ogg/Opus, WebM, MP3) is built to an *exact* byte size from a few
precomputed blocks that repeat, so a 2 GB body streams at hundreds of MB/s in constant memory and
``giant_recording_bytes`` can be honoured to the byte. Documents (chat JSON, ZIP, EML) are small
and built whole. Bytes are a pure function of (seed, recording id, container).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import math
import random
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from recording_assets.sandbox.ids import stable_int
from recording_assets.sandbox.timefmt import iso

if TYPE_CHECKING:
    from recording_assets.sandbox.org import Recording

CHUNK = 1 << 20

# container -> (Content-Type, realistic bytes per second before media_scale)
CONTAINERS: dict[str, tuple[str, float]] = {
    "ogg_opus": ("audio/ogg", 4_000),
    "wav_pcm": ("audio/wav", 16_000),
    "wav_ulaw": ("audio/wav", 8_000),
    "webm_opus": ("audio/webm", 4_000),
    "mp3": ("audio/mpeg", 4_000),
    "webm_vp8": ("video/webm", 62_500),
    "chat_json": ("application/json", 40),
    "chat_zip": ("application/zip", 40),
    "message_zip": ("application/zip", 30),
    "email_eml": ("message/rfc822", 60),
}
_AUDIO_FORMATS = {
    "WAV": "wav_pcm",
    "WAV_ULAW": "wav_ulaw",
    "OGG_OPUS": "ogg_opus",
    "OGG_VORBIS": "ogg_opus",
    "WEBM": "webm_opus",
    "MP3": "mp3",
}
AUDIO_FORMAT_IDS = frozenset(_AUDIO_FORMATS) | {"NONE"}
_MIN_BYTES = 400


def native_container(media_kind: str, roll: float) -> str:
    if media_kind == "audio":
        if roll < 0.6:
            return "ogg_opus"
        if roll < 0.8:
            return "wav_pcm"
        if roll < 0.9:
            return "wav_ulaw"
        return "webm_opus"
    return {"screen": "webm_vp8", "chat": "chat_json", "message": "message_zip", "email": "email_eml"}[
        media_kind
    ]


def container_for(recording: Recording, format_id: str | None) -> str:
    """The container a request gets. ``format_id``: the formatId / chatFormatId / ... value; None = native."""
    fmt = (format_id or "NONE").upper()
    if recording.media == "audio":
        return _AUDIO_FORMATS.get(fmt, recording.codec)
    if recording.media == "chat":
        return "chat_zip" if fmt == "ZIP" else "chat_json"
    return recording.codec  # screen: always WebM video; message: ZIP; email: EML


def is_transcode(recording: Recording, container: str) -> bool:
    return recording.media == "audio" and container != recording.codec


@dataclass(frozen=True)
class MediaBody:
    content_type: str
    size: int
    _chunks: Callable[[], Iterator[bytes]]

    def chunks(self, start: int = 0) -> Iterator[bytes]:
        """The body from byte ``start`` on, in chunks of at most ~1 MiB."""
        skip = start
        for chunk in self._chunks():
            if skip >= len(chunk):
                skip -= len(chunk)
                continue
            yield chunk[skip:] if skip else chunk
            skip = 0

    def read_all(self) -> bytes:
        return b"".join(self._chunks())

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for chunk in self._chunks():
            digest.update(chunk)
        return digest.hexdigest()


def body_for(seed: int, recording: Recording, container: str, scale: float) -> MediaBody:
    content_type, rate = CONTAINERS[container]
    key = stable_int(seed, recording.id, container)
    if recording.giant_bytes and recording.media == "audio":
        target = recording.giant_bytes
    else:
        target = max(_MIN_BYTES, int(recording.duration_ms / 1000 * rate * scale))
    builder = _BUILDERS[container]
    size, chunks = builder(key, recording, target)
    return MediaBody(content_type, size, chunks)


# ---- WAV --------------------------------------------------------------------------------------
def _wav(ulaw: bool) -> Callable:
    def build(key: int, recording: Recording, target: int) -> tuple[int, Callable[[], Iterator[bytes]]]:
        frequency = 300 + key % 500  # a whole number of Hz: a one-second block loops without a click
        if ulaw:
            fmt = struct.pack("<HHIIHHH", 7, 1, 8000, 8000, 1, 8, 0)
            header_len = 12 + 8 + len(fmt) + 12 + 8
            data_len = max(0, target - header_len)
            pad = data_len & 1  # RIFF pads odd chunks to even
            data_len -= pad
            extra = b"fact" + struct.pack("<II", 4, data_len)
        else:
            fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
            header_len = 12 + 8 + len(fmt) + 8
            data_len = max(0, target - header_len)
            pad = data_len & 1  # 16-bit frames: an odd target leaves one trailing byte past the data
            data_len -= pad
            extra = b""
        header = (
            b"RIFF"
            + struct.pack("<I", header_len + data_len + pad - 8)
            + b"WAVE"
            + b"fmt "
            + struct.pack("<I", len(fmt))
            + fmt
            + extra
            + b"data"
            + struct.pack("<I", data_len)
        )
        size = header_len + data_len + pad

        def chunks() -> Iterator[bytes]:
            yield header
            yield from _repeat(_tone_block(frequency, ulaw), data_len)
            if pad:
                yield b"\x00"

        return size, chunks

    return build


@functools.lru_cache(maxsize=64)
def _tone_block(frequency: int, ulaw: bool) -> bytes:
    samples = [int(9000 * math.sin(2 * math.pi * frequency * n / 8000)) for n in range(8000)]
    if ulaw:
        return bytes(_ulaw(s) for s in samples)
    return struct.pack(f"<{len(samples)}h", *samples)


def _ulaw(sample: int) -> int:
    # G.711 mu-law encoder.
    sign = 0x80 if sample < 0 else 0
    magnitude = min(-sample if sample < 0 else sample, 32635) + 0x84
    exponent = max(0, (magnitude >> 7).bit_length() - 1)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | exponent << 4 | mantissa) & 0xFF


def _repeat(block: bytes, length: int) -> Iterator[bytes]:
    chunk = block * max(1, CHUNK // len(block))
    while length >= len(chunk):
        yield chunk
        length -= len(chunk)
    if length:
        yield chunk[:length]


# ---- Ogg / Opus -------------------------------------------------------------------------------
_BITREV = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))
_PACKET = 80  # bytes per 20 ms Opus packet (32 kbit/s)
_PACKETS_PER_PAGE = 50
_GRANULE_PER_PACKET = 960  # 20 ms at 48 kHz


def _opus_head() -> bytes:
    return b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 8000, 0, 0)


def _raw_crc(reflected_data: bytes, state: int = 0) -> int:
    # Ogg's CRC-32 (poly 0x04C11DB7, init 0, MSB-first) computed by zlib's C code: feed bit-reversed
    # bytes to the reflected CRC and undo zlib's pre/post inversion. Keeps 2 GB streams fast.
    return zlib.crc32(reflected_data, state ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


def _finish_crc(state: int) -> int:
    return int.from_bytes(state.to_bytes(4, "big")[::-1].translate(_BITREV), "big")


def ogg_page(serial: int, sequence: int, granule: int, flags: int, packets: list[bytes]) -> bytes:
    lacing = bytearray()
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    header = struct.pack("<4sBBqIII", b"OggS", 0, flags, granule, serial, sequence, 0) + bytes([len(lacing)])
    body = bytes(lacing) + b"".join(packets)
    crc = _finish_crc(_raw_crc((header + body).translate(_BITREV)))
    return header[:22] + struct.pack("<I", crc) + header[26:] + body


def _ogg(key: int, recording: Recording, target: int) -> tuple[int, Callable[[], Iterator[bytes]]]:
    serial = key & 0xFFFFFFFF
    rng = random.Random(key)
    packet = b"\xf8" + rng.randbytes(_PACKET - 1)  # TOC: CELT fullband 20 ms, mono, one frame
    vendor = b"Genesys Cloud sandbox"
    comment = f"RECORDING_ID={recording.id}".encode()
    tags = (
        b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<II", 1, len(comment)) + comment
    )
    head_pages = ogg_page(serial, 0, 0, 0x02, [_opus_head()]) + ogg_page(serial, 1, 0, 0, [tags])
    page_body = bytes([_PACKET] * _PACKETS_PER_PAGE) + packet * _PACKETS_PER_PAGE
    page_len = 27 + len(page_body)
    reflected_body = page_body.translate(_BITREV)
    min_last = 29  # header + one lacing byte + a 1-byte packet
    remaining = max(target, len(head_pages) + min_last) - len(head_pages)
    full_pages = (remaining - min_last) // page_len
    last_len = remaining - full_pages * page_len
    whole = last_len - 27 - 2  # bytes for 81-byte (lacing + packet) units, leaving >= 2 for the tail
    tail_units = whole // (_PACKET + 1)
    tail_packet_len = last_len - 27 - tail_units * (_PACKET + 1) - 1
    size = len(head_pages) + full_pages * page_len + last_len

    def chunks() -> Iterator[bytes]:
        yield head_pages
        batch: list[bytes] = []
        batch_bytes = 0
        for index in range(full_pages):
            sequence = index + 2
            granule = (index + 1) * _PACKETS_PER_PAGE * _GRANULE_PER_PACKET
            header = struct.pack("<4sBBqIII", b"OggS", 0, 0, granule, serial, sequence, 0) + bytes(
                [_PACKETS_PER_PAGE]
            )
            state = _raw_crc(header.translate(_BITREV))
            crc = _finish_crc(_raw_crc(reflected_body, state))
            batch.append(header[:22] + struct.pack("<I", crc) + header[26:])
            batch.append(page_body)
            batch_bytes += page_len
            if batch_bytes >= CHUNK:
                yield b"".join(batch)
                batch, batch_bytes = [], 0
        packets = [packet] * tail_units + [(packet * 2)[:tail_packet_len]]
        granule = (full_pages * _PACKETS_PER_PAGE + len(packets)) * _GRANULE_PER_PACKET
        batch.append(ogg_page(serial, full_pages + 2, granule, 0x04, packets))
        yield b"".join(batch)

    return size, chunks


# ---- WebM (Matroska) ----------------------------------------------------------------------------
def _vint(value: int, width: int | None = None) -> bytes:
    if width is None:
        width = 1
        while value >= (1 << (7 * width)) - 1:
            width += 1
    return ((1 << (7 * width)) | value).to_bytes(width, "big")


def _el(element_id: bytes, payload: bytes) -> bytes:
    return element_id + _vint(len(payload)) + payload


def _uint(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def _void(length: int) -> bytes:
    # An EBML Void element of exactly ``length`` (>= 2) bytes.
    if length <= 128:
        return b"\xec" + _vint(length - 2, 1) + bytes(length - 2)
    return b"\xec" + _vint(length - 9, 8) + bytes(length - 9)


def _webm(video: bool) -> Callable:
    def build(key: int, recording: Recording, target: int) -> tuple[int, Callable[[], Iterator[bytes]]]:
        rng = random.Random(key)
        ebml = _el(
            b"\x1a\x45\xdf\xa3",
            b"".join(
                [
                    _el(b"\x42\x86", _uint(1)),
                    _el(b"\x42\xf7", _uint(1)),
                    _el(b"\x42\xf2", _uint(4)),
                    _el(b"\x42\xf3", _uint(8)),
                    _el(b"\x42\x82", b"webm"),
                    _el(b"\x42\x87", _uint(4)),
                    _el(b"\x42\x85", _uint(2)),
                ]
            ),
        )
        if video:
            frame_ms, frames_per_cluster, frame_len = 40, 10, 2500
            track = b"".join(
                [
                    _el(b"\xd7", _uint(1)),
                    _el(b"\x73\xc5", _uint(key & 0xFFFFFFFF or 1)),
                    _el(b"\x83", _uint(1)),
                    _el(b"\x86", b"V_VP8"),
                    _el(b"\xe0", _el(b"\xb0", _uint(1280)) + _el(b"\xba", _uint(720))),
                ]
            )
            keyframe = _vp8_keyframe_header(frame_len) + rng.randbytes(frame_len - 10)
            interframe = _vp8_interframe_header(frame_len) + rng.randbytes(frame_len - 3)
            frames = [keyframe] + [interframe] * (frames_per_cluster - 1)
        else:
            frame_ms, frames_per_cluster, frame_len = 20, 50, _PACKET
            track = b"".join(
                [
                    _el(b"\xd7", _uint(1)),
                    _el(b"\x73\xc5", _uint(key & 0xFFFFFFFF or 1)),
                    _el(b"\x83", _uint(2)),
                    _el(b"\x86", b"A_OPUS"),
                    _el(b"\x63\xa2", _opus_head()),
                    _el(b"\xe1", _el(b"\xb5", struct.pack(">d", 48000.0)) + _el(b"\x9f", _uint(1))),
                ]
            )
            frames = [b"\xf8" + rng.randbytes(_PACKET - 1)] * frames_per_cluster
        blocks = b"".join(
            _el(
                b"\xa3",
                b"\x81"
                + struct.pack(">h", i * frame_ms)
                + (b"\x80" if (video and i == 0) or not video else b"\x00")
                + frame,
            )
            for i, frame in enumerate(frames)
        )
        cluster_ms = frame_ms * frames_per_cluster
        cluster_payload_len = 6 + len(blocks)  # Timecode element (E7 84 + 4 bytes) + blocks
        cluster_len = 4 + 4 + cluster_payload_len
        tracks = _el(b"\x16\x54\xae\x6b", _el(b"\xae", track))

        def info(clusters: int) -> bytes:
            return _el(
                b"\x15\x49\xa9\x66",
                b"".join(
                    [
                        _el(b"\x2a\xd7\xb1", _uint(1_000_000)),
                        _el(b"\x4d\x80", b"recording-assets sandbox"),
                        _el(b"\x57\x41", b"recording-assets sandbox"),
                        _el(b"\x44\x89", struct.pack(">d", float(clusters * cluster_ms))),
                    ]
                ),
            )

        fixed = len(ebml) + 12 + len(info(0)) + len(tracks)
        total = max(target, fixed + 2 + cluster_len)
        clusters = (total - fixed - 2) // cluster_len
        void = _void(total - fixed - clusters * cluster_len)
        head = ebml + b"\x18\x53\x80\x67" + _vint(total - len(ebml) - 12, 8) + info(clusters) + tracks + void

        def chunks() -> Iterator[bytes]:
            yield head
            prefix = b"\x1f\x43\xb6\x75" + _vint(cluster_payload_len, 4) + b"\xe7\x84"
            per_chunk = max(1, CHUNK // cluster_len)
            for first in range(0, clusters, per_chunk):
                yield b"".join(
                    prefix + struct.pack(">I", (n * cluster_ms) & 0xFFFFFFFF) + blocks
                    for n in range(first, min(clusters, first + per_chunk))
                )

        return total, chunks

    return build


def _vp8_keyframe_header(frame_len: int) -> bytes:
    first_partition = min(frame_len - 10, (1 << 19) - 1)
    tag = 0 | (0 << 1) | (1 << 4) | (first_partition << 5)  # key frame, version 0, shown
    return tag.to_bytes(3, "little") + b"\x9d\x01\x2a" + struct.pack("<HH", 1280, 720)


def _vp8_interframe_header(frame_len: int) -> bytes:
    first_partition = min(frame_len - 3, (1 << 19) - 1)
    tag = 1 | (0 << 1) | (1 << 4) | (first_partition << 5)
    return tag.to_bytes(3, "little")


# ---- MP3 --------------------------------------------------------------------------------------
_MP3_FRAME = b"\xff\xfb\x18\xc0" + bytes(140)  # MPEG-1 Layer III, 32 kbit/s, 32 kHz, mono: 144 bytes, silent


def _mp3(key: int, recording: Recording, target: int) -> tuple[int, Callable[[], Iterator[bytes]]]:
    title = recording.id.encode()
    frames = b"TIT2" + struct.pack(">IH", len(title) + 1, 0) + b"\x00" + title
    fixed = 10 + len(frames)
    total = max(target, fixed + len(_MP3_FRAME))
    count = (total - fixed) // len(_MP3_FRAME)
    padding = total - fixed - count * len(_MP3_FRAME)
    tag_size = len(frames) + padding
    synchsafe = bytes(
        [(tag_size >> 21) & 0x7F, (tag_size >> 14) & 0x7F, (tag_size >> 7) & 0x7F, tag_size & 0x7F]
    )
    head = b"ID3\x03\x00\x00" + synchsafe + frames + bytes(padding)

    def chunks() -> Iterator[bytes]:
        yield head
        yield from _repeat(_MP3_FRAME, count * len(_MP3_FRAME))

    return total, chunks


# ---- documents --------------------------------------------------------------------------------
_WORDS = (
    "account",
    "order",
    "refund",
    "delivery",
    "invoice",
    "password",
    "update",
    "thanks",
    "please",
    "today",
    "number",
    "confirm",
    "address",
    "payment",
    "issue",
    "resolved",
    "help",
    "check",
    "card",
)


def _sentences(rng: random.Random, count: int) -> list[str]:
    return [
        " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 14))).capitalize() + "."
        for _ in range(count)
    ]


def _transcript(key: int, recording: Recording, target: int) -> bytes:
    rng = random.Random(key)
    messages: list[dict[str, str]] = []
    size = 200
    step = max(1_000, recording.duration_ms // 40)
    moment = recording.start_ms
    purposes = ("customer", "agent")
    while size < target or not messages:
        body = _sentences(rng, 1)[0]
        message = {
            "id": f"{key & 0xFFFFFFFF:08x}-{len(messages):05d}",
            "participantPurpose": purposes[len(messages) % 2],
            "utc": iso(moment),
            "bodyType": "standard",
            "body": body,
        }
        messages.append(message)
        size += len(json.dumps(message)) + 2
        moment += step
    document = {
        "conversationId": recording.conversation_id,
        "recordingId": recording.id,
        "media": recording.media,
        "messages": messages,
    }
    return json.dumps(document, indent=1).encode()


def _zip_of(name: str, payload: bytes, moment_ms: int) -> bytes:
    stamp = tuple(int(x) for x in iso(moment_ms)[:19].replace("T", "-").replace(":", "-").split("-"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        info = zipfile.ZipInfo(name, date_time=max(stamp, (1980, 1, 1, 0, 0, 0)))  # type: ignore[arg-type]
        info.external_attr = 0o644 << 16
        archive.writestr(info, payload)
    return buffer.getvalue()


def _document(make: Callable[[int, Recording, int], bytes]) -> Callable:
    def build(key: int, recording: Recording, target: int) -> tuple[int, Callable[[], Iterator[bytes]]]:
        data = make(key, recording, min(target, 4 << 20))
        return len(data), lambda: iter((data,))

    return build


def _chat_zip(key: int, recording: Recording, target: int) -> bytes:
    return _zip_of("transcript.json", _transcript(key, recording, target), recording.start_ms)


def _message_zip(key: int, recording: Recording, target: int) -> bytes:
    return _zip_of("messages.json", _transcript(key, recording, target), recording.start_ms)


def _eml(key: int, recording: Recording, target: int) -> bytes:
    rng = random.Random(key)
    moment = iso(recording.start_ms)
    lines = [
        f"Message-ID: <{recording.id}@sandbox.invalid>",
        f"Date: {moment}",
        "From: customer@example.com",
        "To: support@sandbox.invalid",
        f"Subject: Case {key % 100000:05d}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 7bit",
        f"X-Genesys-Conversation-Id: {recording.conversation_id}",
        "",
    ]
    size = sum(len(line) + 2 for line in lines)
    while size < target:
        line = _sentences(rng, 1)[0]
        lines.append(line)
        size += len(line) + 2
    return ("\r\n".join(lines) + "\r\n").encode()


_BUILDERS: dict[str, Callable] = {
    "wav_pcm": _wav(ulaw=False),
    "wav_ulaw": _wav(ulaw=True),
    "ogg_opus": _ogg,
    "webm_opus": _webm(video=False),
    "webm_vp8": _webm(video=True),
    "mp3": _mp3,
    "chat_json": _document(_transcript),
    "chat_zip": _document(_chat_zip),
    "message_zip": _document(_message_zip),
    "email_eml": _document(_eml),
}
