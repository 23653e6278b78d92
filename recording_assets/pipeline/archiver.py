"""Archive one day's recordings: batch requests, streamed downloads, verification, create-only upload.

The request budget is what limits an archiver (300 requests/minute per token), so the plan is:

1. list what the archive already holds for the day (S3, not Genesys) and read the previous outcomes;
2. one batch request per 100 conversations that still have work (``recordingId`` left out: Genesys
   expands each conversation to all its recordings), polled together;
3. one ``recordingmetadata`` look-up only for a conversation whose batch results are short of what
   analytics said or carry an ``errorMsg`` (its wording is undocumented, so it is never parsed), while
   the downloads of step 4 already run (they spend no API budget);
4. stream each result URL through SHA-256 into a spool, check the container, upload create-only
   under the final key (or under ``quarantine/`` when the bytes are not what the API claims);
5. re-request expired URLs, for just those recordings.

Every recording ends with exactly one ``Outcome``; nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone

from recording_assets.archive.errors import ArchiveError, IntegrityError, ObjectExistsError
from recording_assets.archive.keys import (
    parse_recording_key,
    quarantine_day_prefix,
    quarantine_key,
    recording_day_prefix,
    recording_key,
)
from recording_assets.archive.protocol import RecordingStore
from recording_assets.archive.sniff import check_container, extension_for
from recording_assets.archive.spool import MediaSpool
from recording_assets.genesys import BatchItem, GenesysClient
from recording_assets.genesys.errors import GenesysApiError, MediaError, MediaExpiredError, MediaGoneError
from recording_assets.genesys.models import BatchResult, ConversationSummary, RecordingMetadata
from recording_assets.pipeline.audit import AuditTrail
from recording_assets.pipeline.states import State

Key = tuple[str, str]  # (conversation_id, recording_id)


@dataclass(frozen=True)
class ArchiveOptions:
    key_prefix: str = ""
    concurrency: int = 8
    max_media_attempts: int = 3
    url_refresh_rounds: int = 3
    # None: each recording's original codec through batch requests (cheapest). A formatId
    # (WAV, MP3, OGG_OPUS, WEBM ...) costs at least one more single-recording request per audio
    # recording, plus one per poll while Genesys transcodes.
    format_id: str | None = None

    def __post_init__(self) -> None:
        if self.format_id is not None and self.format_id not in FORMAT_CONTENT_TYPES:
            raise ValueError(
                f"format_id {self.format_id!r} is not supported: use None (original) or one of "
                + ", ".join(FORMAT_CONTENT_TYPES)
            )
    sensitive_permission: bool | None = None  # from preflight; None = unknown


@dataclass
class Outcome:
    conversation_id: str
    recording_id: str
    state: State
    reason: str | None = None
    sha256: str | None = None
    size_bytes: int | None = None
    content_type: str | None = None
    container: str | None = None
    storage_uri: str | None = None
    quarantine_uri: str | None = None
    file_state: str | None = None
    attempts: int = 0
    archived_at: datetime | None = None
    archived_run_id: str | None = None
    checksum_verified_by: str | None = None

    @property
    def key(self) -> Key:
        return (self.conversation_id, self.recording_id)

    def row(self, run_id: str) -> dict:
        return {**{k: getattr(self, k) for k in self.__dataclass_fields__}, "state": self.state.value, "run_id": run_id}


@dataclass
class ArchiveReport:
    outcomes: list[Outcome] = field(default_factory=list)
    batch_rounds: int = 0
    lookups: int = 0
    uploads: int = 0
    uploaded_bytes: int = 0
    downloads: int = 0
    url_refreshes: int = 0
    quarantined_attempts: int = 0


@dataclass
class _Task:
    conversation_id: str
    recording_id: str
    url: str
    content_type: str | None
    attempts: int = 0
    transcode: bool = False  # fetch a transcoded URL per attempt through the single-recording endpoint

    @property
    def key(self) -> Key:
        return (self.conversation_id, self.recording_id)


# What the single-recording endpoint serves for each audio formatId (genesys-api.md §4.3).
FORMAT_CONTENT_TYPES = {
    "WAV": "audio/wav",
    "WAV_ULAW": "audio/wav",
    "MP3": "audio/mpeg",
    "OGG_OPUS": "audio/ogg",
    "OGG_VORBIS": "audio/ogg",
    "WEBM": "audio/webm",
}


class DayArchiver:
    def __init__(
        self,
        *,
        client: GenesysClient,
        store: RecordingStore,
        day: date,
        conversations: list[ConversationSummary],
        previous: Iterable[Mapping] = (),
        run_id: str,
        audit: AuditTrail,
        options: ArchiveOptions = ArchiveOptions(),
    ) -> None:
        self._client = client
        self._store = store
        self._day = day
        self._conversations = {c.conversation_id: c for c in conversations}
        self._previous = {(r["conversation_id"], r["recording_id"]): r for r in previous if r.get("recording_id")}
        self._run_id = run_id
        self._audit = audit
        self._opt = options
        self._outcomes: dict[Key, Outcome] = {}
        self._existing: dict[Key, Outcome] = {}
        self._report = ArchiveReport()
        self._executor = ThreadPoolExecutor(max_workers=max(4, options.concurrency), thread_name_prefix="s3")

    # ------------------------------------------------------------------ the plan

    async def run(self) -> ArchiveReport:
        try:
            await self._load_existing()
            to_batch = self._conversations_with_work()
            await self._archive_conversations(to_batch)
            self._carry_forward()
        finally:
            self._executor.shutdown(wait=True)
        self._report.outcomes = sorted(self._outcomes.values(), key=lambda o: o.key)
        return self._report

    async def _load_existing(self) -> None:
        """What earlier runs already stored: a listing plus one HEAD per object (S3, not Genesys)."""
        prefix = self._opt.key_prefix
        for area in (recording_day_prefix(prefix=prefix, day=self._day), quarantine_day_prefix(prefix=prefix, day=self._day)):
            # Multipart uploads left by a killed run: never visible, but they cost storage until aborted.
            await self._s3(self._store.abort_stale_uploads, area)
        listing = await self._s3(lambda: list(self._store.list_day(recording_day_prefix(prefix=prefix, day=self._day))))
        heads = await asyncio.gather(*(self._s3(self._store.head, item.key) for item in listing))
        for item, head in zip(listing, heads):
            if head is None:
                continue
            parts = parse_recording_key(item.key, prefix=prefix)
            meta = head.metadata
            outcome = Outcome(
                conversation_id=parts.conversation_id,
                recording_id=parts.recording_id,
                state=State.ALREADY_ARCHIVED,
                sha256=meta.get("sha256"),
                size_bytes=head.size,
                content_type=head.content_type,
                container=meta.get("container") or parts.ext.lstrip("."),
                storage_uri=f"s3://{self._store.bucket}/{item.key}",
                archived_at=_parse_time(meta.get("archived-at")),
                archived_run_id=meta.get("run-id"),
                checksum_verified_by="earlier-run",
            )
            self._existing.setdefault(outcome.key, outcome)
        self._outcomes.update(self._existing)

    def _conversations_with_work(self) -> list[str]:
        """Conversations whose every known recording already has a final state need no request."""
        final = {State.DELETED}
        if self._opt.sensitive_permission is not True:
            final.add(State.EXCLUDED)
        final.add(State.ARCHIVED_IN_GENESYS)
        known: dict[str, int] = defaultdict(int)
        pending: set[str] = set()
        for (cid, _), outcome in self._existing.items():
            known[cid] += 1
        for (cid, rid), row in self._previous.items():
            if (cid, rid) in self._existing:
                continue
            if State(row["state"]) in final:
                known[cid] += 1
            else:
                pending.add(cid)
        return [
            cid
            for cid, conversation in self._conversations.items()
            if cid in pending or known[cid] == 0 or known[cid] < conversation.recorded_sessions
        ]

    def _carry_forward(self) -> None:
        """Final states from the previous run for recordings this run did not revisit."""
        for key, row in self._previous.items():
            if key in self._outcomes or key[0] not in self._conversations:
                continue
            self._outcomes[key] = Outcome(
                conversation_id=key[0],
                recording_id=key[1],
                state=State(row["state"]),
                reason=row.get("reason"),
                file_state=row.get("file_state"),
                attempts=0,
            )

    # ------------------------------------------------------------------ batches and look-ups

    async def _archive_conversations(self, conversation_ids: list[str]) -> None:
        if not conversation_ids:
            return
        results = await self._batch([BatchItem(cid) for cid in conversation_ids])
        by_conversation: dict[str, list[BatchResult]] = defaultdict(list)
        for result in results:
            by_conversation[result.conversation_id].append(result)
        tasks: dict[Key, _Task] = {}
        errored: dict[Key, str] = {}
        needs_lookup: set[str] = set()
        for cid in conversation_ids:
            conv_results = by_conversation.get(cid, [])
            if len({r.recording_id for r in conv_results}) < self._conversations[cid].recorded_sessions:
                needs_lookup.add(cid)  # something was excluded or is missing: ask once
            for result in conv_results:
                if not result.recording_id:
                    needs_lookup.add(cid)
                    continue
                key = (cid, result.recording_id)
                if key in self._existing:
                    continue
                if result.result_url:
                    tasks.setdefault(key, self._task(cid, result.recording_id, result.result_url, result.content_type))
                else:
                    errored[key] = result.error_msg or "batch result without a URL"
                    needs_lookup.add(cid)
        # Downloads need no API budget (media URLs are presigned), so they run while the look-ups spend it.
        downloads = asyncio.ensure_future(self._download_all(list(tasks.values())))
        try:
            retry_items = await self._classify(needs_lookup, tasks, errored)
            retried: dict[Key, _Task] = {}
            if retry_items:
                # One more batch round for recordings that are AVAILABLE but came back with an error.
                for result in await self._batch(retry_items):
                    key = (result.conversation_id, result.recording_id or "")
                    if result.result_url and result.recording_id:
                        retried.setdefault(key, self._task(*key, result.result_url, result.content_type))
                        errored.pop(key, None)
                    elif result.recording_id:
                        errored[key] = result.error_msg or "batch result without a URL"
                for item in retry_items:
                    key = (item.conversation_id, item.recording_id)
                    if key not in tasks and key not in retried:
                        reason = f"batch download: {errored.get(key, 'no result')}"
                        self._finish(Outcome(*key, State.FAILED, reason=reason))
        except BaseException:
            downloads.cancel()
            await asyncio.gather(downloads, return_exceptions=True)
            raise
        await asyncio.gather(downloads, self._download_all([t for k, t in retried.items() if k not in tasks]))

    def _task(self, cid: str, rid: str, url: str, content_type: str | None) -> _Task:
        # Only audio is transcoded; screen recordings and transcripts keep their own containers.
        transcode = bool(self._opt.format_id) and (content_type or "").lower().startswith("audio/")
        return _Task(cid, rid, url, content_type, transcode=transcode)

    async def _batch(self, items: list[BatchItem]) -> list[BatchResult]:
        self._report.batch_rounds += 1
        results = await self._client.recordings.run_batches(items)
        self._audit.record("batch", reason=f"{len(items)} items, {len(results)} results")
        return results

    async def _classify(self, conversation_ids: set[str], tasks: dict[Key, _Task], errored: dict[Key, str]) -> list[BatchItem]:
        """Look up recording metadata for conversations whose batch results left questions."""
        semaphore = asyncio.Semaphore(self._opt.concurrency)

        async def lookup(cid: str) -> tuple[str, list[RecordingMetadata] | GenesysApiError]:
            async with semaphore:
                try:
                    return cid, await self._client.recordings.metadata(cid)
                except GenesysApiError as exc:
                    if exc.status in (401, 403):
                        raise
                    return cid, exc

        retry: list[BatchItem] = []
        self._report.lookups += len(conversation_ids)
        for cid, found in await asyncio.gather(*(lookup(c) for c in sorted(conversation_ids))):
            if isinstance(found, GenesysApiError):
                for key in [k for k in errored if k[0] == cid]:
                    state = State.DELETED if found.status in (404, 410) else State.FAILED
                    self._finish(Outcome(*key, state, reason=f"recordingmetadata: {found}"))
                continue
            for meta in found:
                key = (cid, meta.recording_id)
                if key in tasks or key in self._existing:
                    continue
                state = meta.file_state or "UNKNOWN"
                if state == "ARCHIVED":
                    self._finish(Outcome(*key, State.ARCHIVED_IN_GENESYS, reason="fileState ARCHIVED in Genesys", file_state=state))
                elif state == "DELETED":
                    self._finish(Outcome(*key, State.DELETED, reason="fileState DELETED", file_state=state))
                elif state in ("AVAILABLE", "RESTORED"):
                    if key in errored:
                        retry.append(BatchItem(cid, meta.recording_id))
                    elif self._opt.sensitive_permission is True:
                        self._finish(Outcome(*key, State.FAILED, reason="missing from batch results", file_state=state))
                    else:
                        self._finish(
                            Outcome(
                                *key,
                                State.EXCLUDED,
                                reason="left out of batch results: sensitive data without "
                                "recording:recording:viewSensitiveData",
                                file_state=state,
                            )
                        )
                else:
                    self._finish(Outcome(*key, State.FAILED, reason=f"fileState {state}: not downloadable yet", file_state=state))
            for key in [k for k in errored if k[0] == cid and k not in self._outcomes and not any(i.conversation_id == k[0] and i.recording_id == k[1] for i in retry)]:
                self._finish(Outcome(*key, State.FAILED, reason=f"batch download: {errored[key]}; not in recordingmetadata"))
        return retry

    # ------------------------------------------------------------------ downloads

    async def _download_all(self, tasks: list[_Task]) -> None:
        for round_number in range(self._opt.url_refresh_rounds + 1):
            expired = await self._download_round(tasks)
            if not expired:
                return
            if round_number == self._opt.url_refresh_rounds:
                break
            self._report.url_refreshes += len(expired)
            fresh = {
                (r.conversation_id, r.recording_id): r
                for r in await self._batch([BatchItem(t.conversation_id, t.recording_id) for t in expired])
                if r.result_url and r.recording_id
            }
            tasks = []
            for task in expired:
                result = fresh.get(task.key)
                if result is None:
                    self._finish(Outcome(*task.key, State.FAILED, reason="URL expired and no fresh URL was given", attempts=task.attempts))
                else:
                    tasks.append(replace(task, url=result.result_url, content_type=result.content_type or task.content_type))
        for task in expired:
            self._finish(Outcome(*task.key, State.FAILED, reason="URL kept expiring before the download finished", attempts=task.attempts))

    async def _download_round(self, tasks: list[_Task]) -> list[_Task]:
        queue: asyncio.Queue[_Task] = asyncio.Queue()
        for task in tasks:
            queue.put_nowait(task)  # one task per recording: never two downloads of one recording at once
        expired: list[_Task] = []

        async def worker() -> None:
            while not queue.empty():
                task = queue.get_nowait()
                if await self._download(task) == "expired":
                    expired.append(task)

        await asyncio.gather(*(worker() for _ in range(min(self._opt.concurrency, max(1, len(tasks))))))
        return expired

    async def _download(self, task: _Task) -> str | None:
        conversation = self._conversations[task.conversation_id]
        last: Outcome | None = None
        while task.attempts < self._opt.max_media_attempts:
            task.attempts += 1
            self._report.downloads += 1
            started = self._client.clock.time()
            self._audit.record("started", conversation_id=task.conversation_id, recording_id=task.recording_id, attempt=task.attempts)
            if task.transcode:
                ended = await self._transcoded_url(task, started)
                if ended:
                    return None
            with MediaSpool() as spool:
                try:
                    download = await self._client.download(task.url, spool.write)
                except MediaExpiredError:
                    self._audit_event("expired", task, started, http_status=403)
                    spent = task.attempts >= self._opt.max_media_attempts
                    last = Outcome(
                        *task.key,
                        State.FAILED,
                        reason=f"media URL expired (403) at attempt {task.attempts} of "
                        f"{self._opt.max_media_attempts}",
                        attempts=task.attempts,
                    )
                    if task.transcode or spent:
                        continue  # transcoding: the next attempt asks for a fresh URL; spent: the loop ends
                    return "expired"  # a fresh URL in the next refresh round
                except MediaGoneError as exc:
                    self._audit_event("failed", task, started, state=State.DELETED, reason=str(exc))
                    self._finish(Outcome(*task.key, State.DELETED, reason=str(exc), attempts=task.attempts))
                    return None
                except MediaError as exc:
                    self._audit_event("failed", task, started, state=State.FAILED, reason=str(exc))
                    last = Outcome(*task.key, State.FAILED, reason=str(exc), attempts=task.attempts)
                    await self._client.clock.sleep(min(10.0, 0.5 * 2**task.attempts))
                    continue
                claimed = task.content_type or download.content_type
                verdict = check_container(claimed, spool.head, spool.size)
                if download.sha256_hex != spool.sha256_hex:
                    last = Outcome(*task.key, State.FAILED, reason="bytes changed between download and spool", attempts=task.attempts)
                    continue
                if not verdict.ok:
                    last = await self._quarantine(task, conversation, spool, claimed, verdict, started)
                    continue
                key = recording_key(
                    prefix=self._opt.key_prefix,
                    day=self._day,
                    queue_id=conversation.primary_queue_id,
                    conversation_id=task.conversation_id,
                    recording_id=task.recording_id,
                    ext=extension_for(verdict.container),
                )
                archived_at = datetime.fromtimestamp(self._client.clock.time(), tz=timezone.utc)
                metadata = {
                    "sha256": spool.sha256_hex,
                    "conversation-id": task.conversation_id,
                    "recording-id": task.recording_id,
                    "container": verdict.container,
                    "archived-at": archived_at.isoformat(),
                    "run-id": self._run_id,
                }
                try:
                    stored = await self._s3(self._store.put_new, key, spool, content_type=claimed, metadata=metadata)
                except ObjectExistsError as exc:
                    # Something is already under the final key (another run, or an earlier attempt whose
                    # verification was cut off). It is never overwritten; it counts as ours only when its
                    # bytes, read back, hash to what we downloaded.
                    outcome = await self._adopt_existing(task, key, exc, spool, claimed, verdict.container, started)
                    if outcome.state is State.ALREADY_ARCHIVED:
                        self._finish(outcome)
                        return None
                    last = outcome
                    break
                except IntegrityError as exc:
                    self._audit_event("failed", task, started, state=State.FAILED, reason=str(exc))
                    last = Outcome(*task.key, State.FAILED, reason=str(exc), attempts=task.attempts)
                    continue
                self._report.uploads += 1
                self._report.uploaded_bytes += stored.size
                self._audit_event("finished", task, started, state=State.ARCHIVED, size=stored.size, sha256=stored.sha256_hex, http_status=200)
                self._finish(
                    Outcome(
                        *task.key,
                        State.ARCHIVED,
                        sha256=stored.sha256_hex,
                        size_bytes=stored.size,
                        content_type=claimed,
                        container=verdict.container,
                        storage_uri=f"s3://{self._store.bucket}/{key}",
                        attempts=task.attempts,
                        archived_at=archived_at,
                        archived_run_id=self._run_id,
                        checksum_verified_by=stored.checksum_verified_by,
                    )
                )
                return None
        # Every way out of the loop sets ``last``: a task only goes back for a fresh URL with attempts left.
        fallback = Outcome(*task.key, State.FAILED, reason="no attempt left", attempts=task.attempts)
        self._finish(last or fallback)
        return None

    async def _transcoded_url(self, task: _Task, started: float) -> bool:
        """Point ``task`` at a URL in the configured format; True when the recording ended otherwise."""
        try:
            recording = await self._client.recordings.get(
                task.conversation_id, task.recording_id, format_id=self._opt.format_id
            )
        except GenesysApiError as exc:
            if exc.status in (401, 403):
                raise
            state = State.DELETED if exc.status in (404, 410) else State.FAILED
            self._audit_event("failed", task, started, state=state, reason=str(exc), http_status=exc.status)
            self._finish(Outcome(*task.key, state, reason=f"single-recording fetch: {exc}", attempts=task.attempts))
            return True
        if recording.file_state == "ARCHIVED" or not recording.media_uri:
            state = State.ARCHIVED_IN_GENESYS if recording.file_state == "ARCHIVED" else State.FAILED
            reason = f"fileState {recording.file_state}: no media URL for formatId {self._opt.format_id}"
            self._finish(Outcome(*task.key, state, reason=reason, file_state=recording.file_state, attempts=task.attempts))
            return True
        task.url = recording.media_uri
        task.content_type = FORMAT_CONTENT_TYPES[self._opt.format_id]
        return False

    async def _adopt_existing(self, task, key, exc, spool, claimed, container, started) -> Outcome:
        existing = exc.existing
        uri = f"s3://{self._store.bucket}/{key}"
        try:
            actual = await self._s3(self._store.read_back_sha256, key)
        except ArchiveError as error:
            actual, reason = None, f"could not read back the existing object: {error}"
        if actual == spool.sha256_hex:
            self._audit_event("finished", task, started, state=State.ALREADY_ARCHIVED, size=spool.size, sha256=actual)
            return Outcome(
                *task.key,
                State.ALREADY_ARCHIVED,
                sha256=actual,
                size_bytes=existing.size if existing else spool.size,
                content_type=claimed,
                container=container,
                storage_uri=uri,
                attempts=task.attempts,
                archived_at=_parse_time(existing.metadata.get("archived-at")) if existing else None,
                archived_run_id=existing.metadata.get("run-id") if existing else None,
                checksum_verified_by="read-back",
            )
        if actual is not None:
            reason = f"{uri} already holds different bytes (sha256 {actual}); left untouched for review"
        self._audit_event("failed", task, started, state=State.FAILED, reason=reason)
        return Outcome(*task.key, State.FAILED, reason=reason, attempts=task.attempts)

    async def _quarantine(self, task, conversation, spool, claimed, verdict, started) -> Outcome:
        """Keep the bad bytes as evidence under quarantine/ (never the final key)."""
        self._report.quarantined_attempts += 1
        key = quarantine_key(
            prefix=self._opt.key_prefix,
            day=self._day,
            queue_id=conversation.primary_queue_id,
            conversation_id=task.conversation_id,
            recording_id=task.recording_id,
            ext=extension_for(verdict.container),
            attempt_id=uuid.uuid4().hex,
        )
        reason = f"container check failed: {verdict.reason} (claimed {claimed!r})"
        metadata = {
            "sha256": spool.sha256_hex,
            "conversation-id": task.conversation_id,
            "recording-id": task.recording_id,
            "container": verdict.container,
            "run-id": self._run_id,
        }
        await self._s3(self._store.put_new, key, spool, content_type="application/octet-stream", metadata=metadata)
        self._audit_event("quarantined", task, started, state=State.QUARANTINED, reason=reason, size=spool.size, sha256=spool.sha256_hex)
        return Outcome(
            *task.key,
            State.QUARANTINED,
            reason=reason,
            sha256=spool.sha256_hex,
            size_bytes=spool.size,
            content_type=claimed,
            container=verdict.container,
            quarantine_uri=f"s3://{self._store.bucket}/{key}",
            attempts=task.attempts,
        )

    # ------------------------------------------------------------------ helpers

    def _finish(self, outcome: Outcome) -> None:
        self._outcomes[outcome.key] = outcome

    def _audit_event(self, event, task, started, *, state=None, reason=None, size=None, sha256=None, http_status=None):
        self._audit.record(
            event,
            conversation_id=task.conversation_id,
            recording_id=task.recording_id,
            attempt=task.attempts,
            latency_ms=int((self._client.clock.time() - started) * 1000),
            bytes=size,
            sha256=sha256,
            http_status=http_status,
            state=state.value if state else None,
            reason=reason,
        )

    async def _s3(self, fn, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
