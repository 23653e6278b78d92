"""Retention endpoints of the RecordingApi: restore an archived recording, deletion protection, the
retention query (read for what Genesys deletes soon), orphan recordings, recording settings, annotations.

Every call here is opt in for the archiver (``pipeline/restore.py``, ``radar.py``; deletion protection is
``genesys/protection.py``);
the answers are read into small frozen models with only the fields the archive uses. The two listings
are ``Listing``s: entries without safe ids are left out (``rejected``), and paging stops (``complete``
False, ``incomplete_reason`` saying why) at a repeated cursor, at a page without a new entry, or after
``max_pages``, so an answer that never ends cannot keep a run paging.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

from recording_assets.genesys.fields import (
    ResponseFormatError,
    id_problem,
    lenient_int,
    lenient_text,
    lenient_time,
    required_dict,
)
from recording_assets.genesys.models import Listing, Rejected
from recording_assets.genesys.recordings import VIEW, _segment
from recording_assets.genesys.transport import Transport

RESTORE = "recording:recording:restore"
ORPHAN_VIEW = "recording:orphan:view"
ANNOTATION_VIEW = "recording:annotation:view"
SCREEN_VIEW = "recording:screenRecording:view"
# Restoring needs the restore permission of the recording's kind (SDK put_conversation_recording).
SCREEN_RESTORE, SNIPPET_RESTORE = "recording:screenRecording:restore", "recording:snippetRecording:restore"
RETENTION_PAGE = 500  # the retention query's largest page
MAX_PAGES = 2000  # a listing longer than this many pages is cut (and says so)


@dataclass(frozen=True)
class Restoration:
    """What a restore request answered: the recording's state now. (No quota: the SDK marks
    ``remainingRestorationsAllowedForOrg`` deprecated, "the restoration limit is no longer enforced".)"""

    file_state: str | None


@dataclass(frozen=True)
class RetentionDates:
    archive_date: datetime | None
    delete_date: datetime | None


@dataclass
class RetentionScan:
    """What the retention query's pages held that the caller kept, and what reading them cost."""

    entries: Listing[Expiring] = field(default_factory=Listing)
    pages: int = 0
    read: int = 0  # entries read, kept or not


@dataclass(frozen=True)
class Expiring:
    """One entry of the retention query (``RecordingRetention``)."""

    conversation_id: str
    recording_id: str
    delete_date: datetime | None
    archive_date: datetime | None
    creation_time: datetime | None


@dataclass(frozen=True)
class Orphan:
    orphan_id: str
    created_time: datetime | None
    media_type: str | None
    media_size_bytes: int | None
    file_state: str | None
    orphan_status: str | None
    provider_type: str | None


@dataclass(frozen=True)
class Annotation:
    reason: str | None  # Hold, SecurePause, FlowOrQueue, Pause
    type: str | None
    location_ms: int | None
    duration_ms: int | None


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _entities(body: Any, what: str) -> list[dict]:
    entities = body.get("entities") if isinstance(body, dict) else None
    if not isinstance(entities, list):
        raise ResponseFormatError(f"{what}: expected a listing with 'entities', got {type(body).__name__}")
    return [e for e in entities if isinstance(e, dict)]


class Retention:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def retention_dates(self, conversation_id: str, recording_id: str) -> RetentionDates:
        """The recording's ``archiveDate`` and ``deleteDate`` as Genesys holds them (a GET of the recording)."""
        response = await self._t.api(
            "GET",
            f"/api/v2/conversations/{_segment(conversation_id)}/recordings/{_segment(recording_id)}",
            family="recording.restore",
            permission=VIEW,
        )
        body = required_dict(response.json(), field="recording")
        return RetentionDates(lenient_time(body.get("archiveDate")), lenient_time(body.get("deleteDate")))

    async def restore(
        self, conversation_id: str, recording_id: str, *, until: datetime, delete_date: datetime | None
    ) -> Restoration:
        """Restore an ARCHIVED recording until ``until`` (its new ``archiveDate``). ``delete_date`` goes back
        as read: whether a body without it leaves it alone is not documented (docs/genesys-behaviours.md),
        and the SDK says the PUT "supports ... removing both archive and delete dates"."""
        body: dict[str, Any] = {"archiveDate": _stamp(until)}
        if delete_date is not None:
            body["deleteDate"] = _stamp(delete_date)
        response = await self._t.api(
            "PUT",
            f"/api/v2/conversations/{_segment(conversation_id)}/recordings/{_segment(recording_id)}",
            family="recording.restore",
            json=body,
            permission=RESTORE,
            idempotent=True,  # setting the same date twice restores once
        )
        answer = response.json() if response.content else {}
        answer = answer if isinstance(answer, dict) else {}
        return Restoration(lenient_text(answer.get("fileState")))

    async def expiring(
        self,
        threshold_days: int,
        *,
        keep: Callable[[Expiring], bool] | None = None,
        page_size: int = RETENTION_PAGE,
        max_pages: int = MAX_PAGES,
    ) -> RetentionScan:
        """The retention query's entries that ``keep`` accepts, page by page; every other entry is dropped
        as its page is read, so memory holds what is kept, not what the org retains (under the SDK's reading
        a small ``threshold_days`` lists most of its history); None keeps all. Stops after ``max_pages``, at a
        repeated cursor or a page served again (and says so)."""
        params: dict[str, Any] = {"retentionThresholdDays": threshold_days, "pageSize": page_size}
        scan = RetentionScan()
        out = scan.entries
        kept: set[tuple[str, str]] = set()
        pages_seen: set[int] = set()  # a fingerprint per page: a page served twice ends the scan
        cursors: set[str] = set()
        while True:
            if scan.pages >= max_pages:
                out.incomplete(f"retention query: stopped after {max_pages} pages")
                return scan
            response = await self._t.api(
                "GET", "/api/v2/recordings/retention/query", family="recording.retention", params=params,
                permission=VIEW,
            )  # fmt: skip
            scan.pages += 1
            body = required_dict(response.json(), field="retention query")
            entities = _entities(body, "retention query")
            scan.read += len(entities)
            keys = []
            for index, e in enumerate(entities):
                cid, rid = e.get("conversationId"), e.get("recordingId")
                problem = id_problem(cid) and f"conversationId: {id_problem(cid)}"
                problem = problem or (id_problem(rid) and f"recordingId: {id_problem(rid)}")
                if problem:
                    out.rejected.append(Rejected("retention entry", index, problem))
                    continue
                key = (str(cid), str(rid))  # both checked just above
                keys.append(key)
                entry = Expiring(
                    *key,
                    lenient_time(e.get("deleteDate")),
                    lenient_time(e.get("archiveDate")),
                    lenient_time(e.get("creationTime")),
                )
                if key not in kept and (keep is None or keep(entry)):
                    kept.add(key)
                    out.append(entry)
            cursor = parse_qs(urlsplit(lenient_text(body.get("nextUri")) or "").query).get("cursor")
            if not cursor:
                return scan
            if cursor[0] in cursors or cursor[0] == params.get("cursor"):
                out.incomplete(f"retention query: page {scan.pages} repeats an earlier cursor")
                return scan
            fingerprint = hash(tuple(sorted(keys)))
            if keys and fingerprint in pages_seen:
                out.incomplete(f"retention query: page {scan.pages} repeats an earlier page")
                return scan
            pages_seen.add(fingerprint)
            cursors.add(cursor[0])
            params["cursor"] = cursor[0]

    async def orphans(self, *, page_size: int = 100, max_pages: int = MAX_PAGES) -> Listing[Orphan]:
        """Every orphan recording of the org (``hasConversation=false``: all of them, up to Genesys' cap)."""
        out: Listing[Orphan] = Listing()
        seen: set[str] = set()
        for page in range(1, max_pages + 1):
            response = await self._t.api(
                "GET", "/api/v2/orphanrecordings", family="recording.orphans", permission=ORPHAN_VIEW,
                params={"pageSize": page_size, "pageNumber": page, "hasConversation": "false"},
            )  # fmt: skip
            body = required_dict(response.json(), field="orphan recordings")
            entities = _entities(body, "orphan recordings")
            new = 0
            for index, e in enumerate(entities):
                problem = id_problem(e.get("id"))
                if problem:
                    out.rejected.append(Rejected("orphan recording", index, f"id: {problem}"))
                    continue
                if e["id"] in seen:
                    continue
                new += 1
                seen.add(e["id"])
                out.append(
                    Orphan(
                        e["id"],
                        lenient_time(e.get("createdTime")),
                        lenient_text(e.get("mediaType")),
                        lenient_int(e.get("mediaSizeBytes")),
                        lenient_text(e.get("fileState")),
                        lenient_text(e.get("orphanStatus")),
                        lenient_text(e.get("providerType")),
                    )
                )
            if not body.get("nextUri") or page >= (lenient_int(body.get("pageCount")) or page):
                return out
            if entities and not new:
                out.incomplete(f"orphan recordings: page {page} brought no new orphan")
                return out
        out.incomplete(f"orphan recordings: stopped after {max_pages} pages")
        return out

    async def batch_url_ttl_s(self) -> int | None:
        """``recordingBatchDownloadUrlTtl`` of ``GET /api/v2/recording/settings``, in seconds (2..60 min)."""
        response = await self._t.api("GET", "/api/v2/recording/settings", family="recording.settings")
        body = response.json()
        minutes = lenient_int(body.get("recordingBatchDownloadUrlTtl")) if isinstance(body, dict) else None
        return minutes * 60 if minutes and minutes > 0 else None

    async def annotations(self, conversation_id: str, recording_id: str) -> list[Annotation]:
        path = f"/api/v2/conversations/{_segment(conversation_id)}/recordings/{_segment(recording_id)}"
        response = await self._t.api(
            "GET",
            f"{path}/annotations",
            family="recording.annotations",
            permission=VIEW,  # any recording view permission; only bookmarks need recording:annotation:view
        )
        body = response.json()
        items = body if isinstance(body, list) else []
        return [
            Annotation(
                reason=lenient_text(a.get("reason")),
                type=lenient_text(a.get("type")),
                location_ms=lenient_int(a.get("location")),
                duration_ms=lenient_int(a.get("durationMs")),
            )
            for a in items
            if isinstance(a, dict)
        ]
