"""The two ways of exporting a day that our archiver is compared with, written against the real
Platform API endpoints the sandbox serves, with plain httpx (no project code on their request path):

- ``tutorial_flow``: the official recordings-downloader tutorial (docs/genesys-api.md §4.2 [TUT-DL]):
  details query (every page) → ``recordingmetadata`` per conversation → batch requests of 100
  recordings → poll every 5 s until ``resultCount == expectedResultCount`` → GET each ``resultUrl``.
  Its three documented gaps (first page only, no chunking, no 429 handling) are filled in: all pages,
  chunks of 100, and a 429 is retried after ``Retry-After``.
- ``seed_flow``: the download engine of seed 000 rebuilt on httpx (aiohttp is not installed) with the
  seed's semantics: a semaphore of 15, 3 attempts per recording, a 429 sleeps ``Retry-After`` (else
  ``2**attempt``), a network error sleeps ``2**attempt``, any other status gives up, no pacing. The
  seed's ``GET /api/v2/recordings/{id}/download`` does not exist; its real counterpart is
  ``GET /api/v2/conversations/{cid}/recordings/{rid}?formatId=..&download=true`` (a JSON body whose
  ``mediaUris`` point at the media), one per recording, so the seed needs the recording ids:
  details query pages, then ``recordingmetadata`` per conversation, under the same retry semantics.

Both stream media into a SHA-256 sink (as the seed streams to disk) and count a recording downloaded
only when its body matches ``Content-Length``; neither uploads anywhere (uploads cost no Genesys
requests, and leaving them out only flatters the baselines' wall time).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx

QUERY = "/api/v2/analytics/conversations/details/query"
BATCH = "/api/v2/recording/batchrequests"
PAGE_SIZE = 100


@dataclass
class FlowResult:
    name: str
    conversations: int = 0
    recordings_listed: int = 0
    downloaded: set = field(default_factory=set)  # (conversation_id, recording_id)
    bytes: int = 0
    failures: Counter = field(default_factory=Counter)  # reason -> recordings
    requests_sent: Counter = field(default_factory=Counter)  # what the flow itself sent, by kind
    wall_s: float = 0.0
    phases: dict = field(default_factory=dict)  # phase -> seconds


def _interval(day: date) -> str:
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    end = start + timedelta(days=1)
    return f"{start:%Y-%m-%dT%H:%M:%S.000Z}/{end:%Y-%m-%dT%H:%M:%S.000Z}"


async def _token(http: httpx.AsyncClient, base: str, client_id: str, secret: str) -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = await http.post(
        f"{base}/oauth/token",
        headers={"Authorization": f"Basic {basic}"},
        data={"grant_type": "client_credentials"},
    )
    response.raise_for_status()
    return response.json()["access_token"]


async def _media(http: httpx.AsyncClient, url: str) -> int:
    """Stream a presigned URL into a SHA-256 sink; the size, or raise on a short/long/failed body."""
    digest = hashlib.sha256()
    size = 0
    async with http.stream("GET", url, headers={"Accept-Encoding": "identity"}) as response:
        if response.status_code != 200:
            raise MediaFailed(f"media HTTP {response.status_code}")
        declared = response.headers.get("Content-Length")
        async for chunk in response.aiter_raw(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    if declared is not None and int(declared) != size:
        raise MediaFailed("media body shorter than Content-Length")
    return size


class MediaFailed(Exception):
    pass


# ------------------------------------------------------------------------------------ the tutorial


async def tutorial_flow(
    base: str, day: date, *, client_id: str, secret: str, concurrency: int = 8, poll_s: float = 5.0
) -> FlowResult:
    result = FlowResult("tutorial")
    started = time.perf_counter()
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(120.0), limits=httpx.Limits(max_connections=50)
    ) as http:
        token = await _token(http, base, client_id, secret)
        headers = {"Authorization": f"Bearer {token}"}

        async def api(method: str, path: str, kind: str, **kwargs: Any) -> httpx.Response:
            while True:  # the tutorial has no 429 handling; this retry is ours, after Retry-After
                result.requests_sent[kind] += 1
                response = await http.request(method, f"{base}{path}", headers=headers, **kwargs)
                if response.status_code == 429:
                    await asyncio.sleep(float(response.headers.get("Retry-After", "3")))
                    continue
                return response

        # 1. every page of the details query
        t = time.perf_counter()
        conversations: list[str] = []
        page = 1
        while True:
            body = {
                "interval": _interval(day),
                "order": "asc",
                "orderBy": "conversationStart",
                "paging": {"pageSize": PAGE_SIZE, "pageNumber": page},
            }
            found = (await api("POST", QUERY, "analytics.query", json=body)).json().get("conversations") or []
            conversations += [c["conversationId"] for c in found]
            if len(found) < PAGE_SIZE:
                break
            page += 1
        result.conversations = len(conversations)
        result.phases["details_query"] = time.perf_counter() - t

        # 2. recordingmetadata per conversation
        t = time.perf_counter()
        gate = asyncio.Semaphore(concurrency)

        async def metadata(cid: str) -> list[dict]:
            async with gate:
                response = await api(
                    "GET", f"/api/v2/conversations/{cid}/recordingmetadata", "recordingmetadata"
                )
                return response.json() if response.status_code == 200 else []

        listed = await asyncio.gather(*(metadata(c) for c in conversations))
        items = [
            {"conversationId": cid, "recordingId": rec["id"]}
            for cid, recs in zip(conversations, listed, strict=True)
            for rec in recs
        ]
        result.recordings_listed = len(items)
        result.phases["recordingmetadata"] = time.perf_counter() - t

        # 3. batch requests of 100, then poll every 5 s until resultCount == expectedResultCount
        t = time.perf_counter()
        jobs = []
        for i in range(0, len(items), 100):
            submitted = await api(
                "POST", BATCH, "batch.submit", json={"batchDownloadRequestList": items[i : i + 100]}
            )
            jobs.append(submitted.json()["id"])
        results: list[dict] = []
        pending = list(jobs)
        while pending:
            await asyncio.sleep(poll_s)
            still = []
            for job in pending:
                status = (await api("GET", f"{BATCH}/{job}", "batch.poll")).json()
                if status.get("resultCount") == status.get("expectedResultCount"):
                    results += status.get("results") or []
                else:
                    still.append(job)
            pending = still
        result.phases["batch"] = time.perf_counter() - t

        # 4. GET every resultUrl (results with an errorMsg are skipped, as the tutorial does)
        t = time.perf_counter()
        for r in results:
            if not r.get("resultUrl"):
                result.failures["batch errorMsg (archived/deleted/...)"] += 1

        async def fetch(r: dict) -> None:
            async with gate:
                try:
                    size = await _media(http, r["resultUrl"])
                except (MediaFailed, httpx.HTTPError) as exc:
                    result.failures[f"media: {type(exc).__name__}"] += 1
                    return
                result.downloaded.add((r["conversationId"], r.get("recordingId")))
                result.bytes += size

        await asyncio.gather(*(fetch(r) for r in results if r.get("resultUrl")))
        result.phases["media"] = time.perf_counter() - t
    result.wall_s = time.perf_counter() - started
    return result


# ------------------------------------------------------------------------------------ the seed


DOWNLOAD_CONCURRENCY = 15
RETRY_MAX_ATTEMPTS = 3
BACKOFF_BASE = 2.0


async def seed_flow(
    base: str,
    day: date,
    *,
    client_id: str,
    secret: str,
    format_id: str = "NONE",
    timeout_s: float = 120.0,
) -> FlowResult:
    """Seed 000's engine on the real endpoints; see the module docstring for the exact semantics."""
    result = FlowResult("seed")
    started = time.perf_counter()
    limits = httpx.Limits(
        max_connections=50, max_keepalive_connections=20
    )  # the seed's TCPConnector(limit=50)
    async with httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), limits=limits) as http:
        token = await _token(http, base, client_id, secret)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        semaphore = asyncio.Semaphore(DOWNLOAD_CONCURRENCY)

        async def seed_request(method: str, path: str, kind: str, **kwargs: Any) -> httpx.Response | None:
            """One API call under the seed's loop: the 200 response, or None when it gives up."""
            for attempt in range(1, RETRY_MAX_ATTEMPTS + 1):
                try:
                    result.requests_sent[kind] += 1
                    response = await http.request(method, f"{base}{path}", headers=headers, **kwargs)
                    if response.status_code == 200:
                        return response
                    if response.status_code == 429:
                        retry_after = float(response.headers.get("Retry-After", BACKOFF_BASE**attempt))
                        await asyncio.sleep(retry_after)
                        continue
                    result.failures[f"{kind}: HTTP {response.status_code}"] += 1
                    return None
                except httpx.HTTPError:
                    await asyncio.sleep(BACKOFF_BASE**attempt)
            result.failures[f"{kind}: gave up after {RETRY_MAX_ATTEMPTS} attempts"] += 1
            return None

        # enumeration: details query pages, then recordingmetadata per conversation
        t = time.perf_counter()
        conversations: list[str] = []
        page = 1
        while True:
            body = {
                "interval": _interval(day),
                "order": "asc",
                "orderBy": "conversationStart",
                "paging": {"pageSize": PAGE_SIZE, "pageNumber": page},
            }
            response = await seed_request("POST", QUERY, "analytics.query", json=body)
            if response is None:
                result.failures["details query page lost: enumeration stopped"] += 1
                break
            found = response.json().get("conversations") or []
            conversations += [c["conversationId"] for c in found]
            if len(found) < PAGE_SIZE:
                break
            page += 1
        result.conversations = len(conversations)

        async def metadata(cid: str) -> list[tuple[str, str]]:
            async with semaphore:
                response = await seed_request(
                    "GET", f"/api/v2/conversations/{cid}/recordingmetadata", "recordingmetadata"
                )
            return [(cid, rec["id"]) for rec in response.json()] if response is not None else []

        recordings = [
            key for keys in await asyncio.gather(*(metadata(c) for c in conversations)) for key in keys
        ]
        result.recordings_listed = len(recordings)
        result.phases["enumerate"] = time.perf_counter() - t

        # the engine: one single-recording request per recording, then its media
        t = time.perf_counter()

        async def download_recording(cid: str, rid: str) -> None:
            path = f"/api/v2/conversations/{cid}/recordings/{rid}"
            params = {"formatId": format_id, "download": "true"}
            async with semaphore:
                for attempt in range(1, RETRY_MAX_ATTEMPTS + 1):
                    try:
                        result.requests_sent["recording.get"] += 1
                        response = await http.get(f"{base}{path}", headers=headers, params=params)
                        if response.status_code == 200:
                            uris: dict[str, Any] = response.json().get("mediaUris") or {}
                            first: dict[str, Any] = (
                                (uris.get("0") or next(iter(uris.values()), {})) if uris else {}
                            )
                            uri = first.get("mediaUri")
                            if not uri:
                                result.failures["200 without media (archived/...)"] += 1
                                return
                            result.requests_sent["media"] += 1
                            size = await _media(http, uri)
                            result.downloaded.add((cid, rid))
                            result.bytes += size
                            return
                        if response.status_code == 429:
                            await asyncio.sleep(
                                float(response.headers.get("Retry-After", BACKOFF_BASE**attempt))
                            )
                            continue
                        result.failures[f"recording.get: HTTP {response.status_code}"] += 1
                        return
                    except MediaFailed as exc:
                        result.failures[f"media: {exc}"] += 1
                        return
                    except httpx.HTTPError:
                        await asyncio.sleep(BACKOFF_BASE**attempt)
                result.failures[f"recording.get: gave up after {RETRY_MAX_ATTEMPTS} attempts"] += 1

        await asyncio.gather(*(download_recording(cid, rid) for cid, rid in recordings))
        result.phases["download"] = time.perf_counter() - t
    result.wall_s = time.perf_counter() - started
    return result
