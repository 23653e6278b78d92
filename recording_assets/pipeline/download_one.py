"""One recording's download: stream → spool → sniff → create-only upload (or quarantine, or adopt).

Each attempt streams the media URL through SHA-256 into a spool, checks the container the bytes really
are, and uploads create-only under the final key; bytes that are not what the API claims go under
``quarantine/`` as evidence (capped, one object per recording: ``evidence.py``), never under the final
key. Up to ``max_media_attempts`` attempts; an expired URL goes back to the caller for a fresh one while
attempts are left. The recording's outcome goes
back to the caller too (the download queue finishes it in the ledger); only the counters are the ledger's
here.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum

from recording_assets.archive.errors import ArchiveError, IntegrityError, ObjectExistsError
from recording_assets.archive.keys import quarantine_key, recording_key
from recording_assets.archive.sniff import ContainerVerdict, check_container, extension_for
from recording_assets.archive.spool import MediaSpool
from recording_assets.genesys.errors import (
    GenesysApiError,
    GenesysError,
    MediaDeadlineError,
    MediaError,
    MediaExpiredError,
    MediaGoneError,
)
from recording_assets.pipeline import evidence
from recording_assets.pipeline.config import FORMAT_CONTENT_TYPES
from recording_assets.pipeline.context import (
    LASTING_QUARANTINE,
    ArchiveContext,
    DownloadTask,
)
from recording_assets.pipeline.isolation import is_day_level
from recording_assets.pipeline.outcome import Outcome, parse_time
from recording_assets.pipeline.states import State


class _Then(Enum):
    FINISH = "finish"  # the outcome is final
    RETRY = "retry"  # the outcome stands unless a later attempt does better
    EXPIRED = "expired"  # the URL expired: a fresh one from the next refresh round


async def download(ctx: ArchiveContext, task: DownloadTask) -> Outcome | None:
    """Download ``task``: its recording's outcome, or None when its URL expired and it should come back."""
    last: Outcome | None = None
    while task.attempts < ctx.config.max_media_attempts:
        task.attempts += 1
        ctx.ledger.count_download_attempt()
        started = ctx.client.clock.time()
        cid, rid = task.key
        ctx.audit.record("started", conversation_id=cid, recording_id=rid, attempt=task.attempts)
        if task.transcode and (ended := await _point_at_transcoded_url(ctx, task, started)) is not None:
            return ended
        with MediaSpool(prefix_limit=ctx.config.quarantine_evidence_bytes) as spool:
            then, outcome = await _attempt(ctx, task, spool, started)
        if then is _Then.EXPIRED:
            return None
        if then is _Then.FINISH:
            return outcome
        last = outcome
    # Every attempt sets ``last``: a task only goes back for a fresh URL with attempts left.
    return last or Outcome(*task.key, State.FAILED, reason="no attempt left", attempts=task.attempts)


async def _confirmed_deleted(ctx: ArchiveContext, task: DownloadTask) -> bool:
    """Whether Genesys' own listing of the conversation says this recording is DELETED (one look-up)."""
    try:
        listed = await ctx.client.recordings.metadata(task.conversation_id)
    except GenesysError as exc:
        if is_day_level(exc):
            raise
        return False  # unconfirmed (an error, a malformed answer): not deleted
    return any(r.recording_id == task.recording_id and r.file_state == "DELETED" for r in listed)


async def _attempt(
    ctx: ArchiveContext, task: DownloadTask, spool: MediaSpool, started: float
) -> tuple[_Then, Outcome]:
    try:
        fetched = await ctx.client.download(task.url, spool.write, expected_size=task.expected_size)
    except MediaExpiredError:
        ctx.audit_event("expired", task, started, http_status=403)
        attempts = ctx.config.max_media_attempts
        reason = f"media URL expired (403) at attempt {task.attempts} of {attempts}"
        outcome = Outcome(*task.key, State.FAILED, reason=reason, attempts=task.attempts)
        # Transcoding: the next attempt asks for a fresh URL itself. No attempt left: the outcome stands.
        return (_Then.RETRY if task.transcode or task.attempts >= attempts else _Then.EXPIRED), outcome
    except MediaGoneError as exc:
        # A media 404/410 is not proof of deletion (a CDN glitch, an archive-tier move since the batch):
        # only recordingmetadata saying DELETED settles the recording; otherwise it is tried again.
        if await _confirmed_deleted(ctx, task):
            reason = f"{exc}; recordingmetadata confirms fileState DELETED"
            ctx.audit_event("failed", task, started, state=State.DELETED, reason=reason)
            return _Then.FINISH, Outcome(*task.key, State.DELETED, reason=reason, attempts=task.attempts)
        reason = f"{exc}; recordingmetadata does not say DELETED, so it is tried again"
        ctx.audit_event("failed", task, started, state=State.FAILED, reason=reason)
        await ctx.client.clock.sleep(min(10.0, 0.5 * 2**task.attempts))
        return _Then.RETRY, Outcome(*task.key, State.FAILED, reason=reason, attempts=task.attempts)
    except MediaError as exc:
        ctx.audit_event("failed", task, started, state=State.FAILED, reason=str(exc))
        outcome = Outcome(*task.key, State.FAILED, reason=str(exc), attempts=task.attempts)
        # A refused URL or an oversized body: no attempt helps. A missed deadline already gave the host its
        # allowance plus the size at a minimum pace: another attempt would hold the day as long again, so
        # the next run tries it.
        if not getattr(exc, "retryable", True) or isinstance(exc, MediaDeadlineError):
            return _Then.FINISH, outcome
        await ctx.client.clock.sleep(min(10.0, 0.5 * 2**task.attempts))
        return _Then.RETRY, outcome
    claimed = task.content_type or fetched.content_type
    if not claimed:
        # Without a claimed type the container cannot be checked against what Genesys says it is.
        reason = (
            "contentType: absent from the batch result and the media answer; the container is unverifiable"
        )
        ctx.audit_event("failed", task, started, state=State.FAILED, reason=reason)
        return _Then.FINISH, Outcome(*task.key, State.FAILED, reason=reason, attempts=task.attempts)
    verdict = check_container(claimed, spool.head, spool.size)
    if not verdict.ok:
        outcome = await _quarantine(ctx, task, spool, claimed, verdict, started)
        # The same bad bytes twice (this run or an earlier one): they are what Genesys has, not a glitch.
        lasting = (outcome.quarantine_repeats or 0) >= LASTING_QUARANTINE
        return (_Then.FINISH if lasting else _Then.RETRY), outcome
    return await _store(ctx, task, spool, claimed, verdict.container, started)


async def _store(
    ctx: ArchiveContext,
    task: DownloadTask,
    spool: MediaSpool,
    claimed: str | None,
    container: str,
    started: float,
) -> tuple[_Then, Outcome]:
    """Upload create-only under the final key, verified by the store."""
    key = recording_key(**_key_parts(ctx, task, container))
    archived_at = datetime.fromtimestamp(ctx.client.clock.time(), tz=timezone.utc)
    metadata = _object_metadata(ctx, task, spool, container, archived_at=archived_at)
    # Object Lock from the conversation's start (why: ObjectLockPolicy); None when off or already ended.
    policy, start = ctx.config.object_lock, ctx.ledger.conversations[task.conversation_id].conversation_start
    lock = policy.lock_for(start, now=archived_at) if policy else None
    try:
        stored = await ctx.s3(
            ctx.store.put_new, key, spool, content_type=claimed, metadata=metadata, lock=lock
        )
    except ObjectExistsError as exc:
        # Something is already under the final key (another run, or an earlier attempt whose
        # verification was cut off). It is never overwritten; it counts as ours only when its
        # bytes, read back, hash to what we downloaded. Either way no further attempt helps.
        return _Then.FINISH, await _adopt_existing(ctx, task, key, exc, spool, claimed, container, started)
    except IntegrityError as exc:
        ctx.audit_event("failed", task, started, state=State.FAILED, reason=str(exc))
        return _Then.RETRY, Outcome(*task.key, State.FAILED, reason=str(exc), attempts=task.attempts)
    ctx.ledger.count_upload(stored.size)
    size, sha256, state = stored.size, stored.sha256_hex, State.ARCHIVED
    ctx.audit_event("finished", task, started, state=state, size=size, sha256=sha256, http_status=200)
    return _Then.FINISH, Outcome(
        *task.key,
        State.ARCHIVED,
        sha256=stored.sha256_hex,
        size_bytes=stored.size,
        content_type=claimed,
        container=container,
        storage_uri=ctx.uri(key),
        attempts=task.attempts,
        archived_at=archived_at,
        archived_run_id=ctx.run_id,
        checksum_verified_by=stored.checksum_verified_by,
        retain_until=lock.retain_until if lock else None,
        lock_mode=lock.mode if lock else None,
    )


async def _point_at_transcoded_url(ctx: ArchiveContext, task: DownloadTask, started: float) -> Outcome | None:
    """Point ``task`` at a URL in the configured format; the recording's outcome when it ended otherwise."""
    format_id = ctx.config.format_id
    assert format_id is not None, "only a task to transcode is pointed at a transcoded URL"
    try:
        recording = await ctx.client.recordings.get(*task.key, format_id=format_id)
    except GenesysApiError as exc:
        if exc.status in (401, 403):
            raise
        state = State.DELETED if exc.status in (404, 410) else State.FAILED
        ctx.audit_event("failed", task, started, state=state, reason=str(exc), http_status=exc.status)
        return Outcome(*task.key, state, reason=f"single-recording fetch: {exc}", attempts=task.attempts)
    if recording.file_state == "ARCHIVED" or not recording.media_uri:
        state = State.ARCHIVED_IN_GENESYS if recording.file_state == "ARCHIVED" else State.FAILED
        reason = f"fileState {recording.file_state}: no media URL for formatId {format_id}"
        file_state = recording.file_state
        return Outcome(*task.key, state, reason=reason, file_state=file_state, attempts=task.attempts)
    task.url = recording.media_uri
    task.content_type = FORMAT_CONTENT_TYPES[format_id]
    task.expected_size = recording.output_size_bytes  # sizes the download's deadline
    return None


async def _adopt_existing(
    ctx: ArchiveContext,
    task: DownloadTask,
    key: str,
    exc: ObjectExistsError,
    spool: MediaSpool,
    claimed: str | None,
    container: str,
    started: float,
) -> Outcome:
    existing = exc.existing
    uri = ctx.uri(key)
    try:
        actual = await ctx.s3(ctx.store.read_back_sha256, key)
    except ArchiveError as error:
        actual, reason = None, f"could not read back the existing object: {error}"
    if actual == spool.sha256_hex:
        state = State.ALREADY_ARCHIVED
        ctx.audit_event("finished", task, started, state=state, size=spool.size, sha256=actual)
        return Outcome(
            *task.key,
            State.ALREADY_ARCHIVED,
            sha256=actual,
            size_bytes=existing.size if existing else spool.size,
            content_type=claimed,
            container=container,
            storage_uri=uri,
            attempts=task.attempts,
            archived_at=parse_time(existing.metadata.get("archived-at")) if existing else None,
            archived_run_id=existing.metadata.get("run-id") if existing else None,
            checksum_verified_by="read-back",
            retain_until=existing.retain_until if existing else None,
            lock_mode=existing.lock_mode if existing else None,
        )
    if actual is not None:
        reason = f"{uri} already holds different bytes (sha256 {actual}); left untouched for review"
    ctx.audit_event("failed", task, started, state=State.FAILED, reason=reason)
    return Outcome(*task.key, State.FAILED, reason=reason, attempts=task.attempts)


async def _quarantine(
    ctx: ArchiveContext,
    task: DownloadTask,
    spool: MediaSpool,
    claimed: str | None,
    verdict: ContainerVerdict,
    started: float,
) -> Outcome:
    """Keep the bad bytes as the recording's evidence under quarantine/ (never the final key), unless it
    has some already: the key ends in their SHA-256, the bytes are capped (``evidence.keep``)."""
    ctx.ledger.count_quarantined_attempt()
    sha256 = spool.sha256_hex
    repeats = task.bad_bytes[sha256] = task.bad_bytes.get(sha256, 0) + 1
    key = quarantine_key(**_key_parts(ctx, task, verdict.container), attempt_id=sha256)
    reason = f"container check failed: {verdict.reason} (claimed {claimed!r})"
    if repeats >= LASTING_QUARANTINE:
        reason += f"; the same bytes {repeats} times: not downloaded again unless force_quarantined is set"
    described = _described(ctx, task, verdict.container)
    quarantine_uri = await evidence.keep(ctx, task, spool, key=key, metadata=described)
    state, size = State.QUARANTINED, spool.size  # the download's: the audit describes every bad download
    ctx.audit_event("quarantined", task, started, state=state, reason=reason, size=size, sha256=sha256)
    return Outcome(
        *task.key,
        State.QUARANTINED,
        reason=reason,
        sha256=spool.sha256_hex,
        size_bytes=spool.size,
        content_type=claimed,
        container=verdict.container,
        quarantine_uri=quarantine_uri,
        attempts=task.attempts,
        quarantine_repeats=repeats,
    )


def _key_parts(ctx: ArchiveContext, task: DownloadTask, container: str) -> dict:
    """What the final and the quarantine key of ``task`` are built from."""
    return {
        "prefix": ctx.config.key_prefix,
        "day": ctx.day,
        "queue_id": ctx.ledger.conversations[task.conversation_id].primary_queue_id,
        "conversation_id": task.conversation_id,
        "recording_id": task.recording_id,
        "ext": extension_for(container),
    }


def _object_metadata(
    ctx: ArchiveContext, task: DownloadTask, spool: MediaSpool, container: str, *, archived_at: datetime
) -> dict[str, str]:
    """A final object's user metadata: what a later run reads back instead of asking Genesys again."""
    return {
        "sha256": spool.sha256_hex,
        **_described(ctx, task, container),
        "archived-at": archived_at.isoformat(),
    }


def _described(ctx: ArchiveContext, task: DownloadTask, container: str) -> dict[str, str]:
    """Which recording an object holds, sniffed as what, by which run (final objects and evidence)."""
    return {
        "conversation-id": task.conversation_id,
        "recording-id": task.recording_id,
        "container": container,
        "run-id": ctx.run_id,
    }
