"""Helpers shared by the sandbox tests (no tests here): a bearer-token HTTP client and media parsers
written independently of the sandbox's own container code, so they check it rather than echo it."""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Callable
from typing import Any

import httpx

from recording_assets.sandbox.org import SyntheticOrg

YESTERDAY = dt.date(2025, 12, 31)  # FakeClock starts at 2026-01-01T00:00:00Z
TODAY = dt.date(2026, 1, 1)
ANCHOR_MS = 1_767_225_600_000


def synthetic_org(per_day: int, **options: Any) -> SyntheticOrg:
    """An org generated without a server: seed 7, no live calls, small media, no giant recording, unless
    ``options`` say otherwise."""
    defaults = dict(seed=7, live_calls=0, media_scale=0.02, giant_recording_bytes=0, anchor_ms=ANCHOR_MS)
    return SyntheticOrg(conversations_per_day=per_day, **{**defaults, **options})


def get_token(base_url: str, client_id: str = "sandbox-client", secret: str = "sandbox-secret") -> str:
    response = httpx.post(
        f"{base_url}/oauth/token", auth=(client_id, secret), data={"grant_type": "client_credentials"}
    )
    response.raise_for_status()
    return response.json()["access_token"]


class Api:
    """httpx against a sandbox with a bearer token; ``relogin`` fetches a fresh one."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.http = httpx.Client(base_url=sandbox.base_url, timeout=10)
        self.token = get_token(sandbox.base_url)

    def relogin(self) -> None:
        self.token = get_token(self.sandbox.base_url)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def query(self, body: dict) -> httpx.Response:
        return self.post("/api/v2/analytics/conversations/details/query", json=body)


def day_interval(day: dt.date, days: int = 1) -> str:
    end = day + dt.timedelta(days=days)
    return f"{day.isoformat()}T00:00:00.000Z/{end.isoformat()}T00:00:00.000Z"


def find_recording(org: Any, predicate: Callable[[Any], bool], day: dt.date = YESTERDAY) -> Any:
    for conv in org.conversations_for_day(day):
        for rec in conv.recordings:
            if predicate(rec):
                return rec
    raise LookupError("no recording matches")


def is_plain_available(rec: Any) -> bool:
    return rec.file_state == "AVAILABLE" and not rec.sensitive


# ---- independent container checks ---------------------------------------------------------------
def _ogg_crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_OGG_TABLE = _ogg_crc_table()


def ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _OGG_TABLE[((crc >> 24) ^ byte) & 0xFF]
    return crc


def parse_ogg(data: bytes) -> list[dict]:
    """Every page, with its CRC checked; raises AssertionError on any inconsistency."""
    pages, pos = [], 0
    while pos < len(data):
        assert data[pos : pos + 4] == b"OggS", f"no capture pattern at {pos}"
        flags, granule, serial, sequence, stored_crc, count = struct.unpack_from("<BqIIIB", data, pos + 5)
        lacing = data[pos + 27 : pos + 27 + count]
        length = 27 + count + sum(lacing)
        page = bytearray(data[pos : pos + length])
        assert len(page) == length, "truncated page"
        page[22:26] = b"\x00\x00\x00\x00"
        assert ogg_crc(bytes(page)) == stored_crc, f"bad CRC on page {sequence}"
        pages.append(
            {
                "flags": flags,
                "granule": granule,
                "serial": serial,
                "sequence": sequence,
                "payload": bytes(page[27 + count :]),
            }
        )
        pos += length
    return pages


def parse_riff(data: bytes) -> dict[str, Any]:
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    riff_size = struct.unpack_from("<I", data, 4)[0]
    chunks, pos = {}, 12
    while pos + 8 <= min(len(data), riff_size + 8):
        name, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        chunks[name] = (pos + 8, size)
        pos += 8 + size + (size & 1)
    fmt_at, _ = chunks[b"fmt "]
    tag, channels, rate, byte_rate, align, bits = struct.unpack_from("<HHIIHH", data, fmt_at)
    data_at, data_size = chunks[b"data"]
    return {
        "riff_size": riff_size,
        "tag": tag,
        "channels": channels,
        "rate": rate,
        "byte_rate": byte_rate,
        "align": align,
        "bits": bits,
        "data_at": data_at,
        "data_size": data_size,
        "chunks": chunks,
    }


def read_vint(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    width = 1
    while not first & (0x80 >> (width - 1)):
        width += 1
    value = first & (0xFF >> width)
    for i in range(1, width):
        value = value << 8 | data[pos + i]
    return value, width


def read_ebml_id(data: bytes, pos: int) -> tuple[bytes, int]:
    _, width = read_vint(data, pos)
    return data[pos : pos + width], width


def parse_ebml_top(data: bytes) -> list[tuple[bytes, int, int]]:
    """Top-level (id, payload_start, payload_size) elements; checks they tile the file exactly."""
    out, pos = [], 0
    while pos < len(data):
        element_id, id_width = read_ebml_id(data, pos)
        size, size_width = read_vint(data, pos + id_width)
        start = pos + id_width + size_width
        out.append((element_id, start, size))
        pos = start + size
    assert pos == len(data), "elements do not tile the file"
    return out


def children(data: bytes, start: int, size: int) -> list[tuple[bytes, int, int]]:
    out, pos = [], start
    while pos < start + size:
        element_id, id_width = read_ebml_id(data, pos)
        length, size_width = read_vint(data, pos + id_width)
        payload = pos + id_width + size_width
        out.append((element_id, payload, length))
        pos = payload + length
    assert pos == start + size, "children overrun their parent"
    return out
