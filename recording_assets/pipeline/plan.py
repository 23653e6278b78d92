"""Which recordings of the day need requests, and what the batch results and look-ups say about them.

- what the archive already holds (an S3 listing plus one HEAD per object; no Genesys request);
- which conversations still have work, given that and the previous run's outcomes;
- the first batch round's results sorted into downloads, errors and conversations to look up;
- one ``recordingmetadata`` look-up per such conversation, which classifies what the batch left out
  (its ``errorMsg`` wording is undocumented, so it is never parsed);
- one more batch round for the recordings that are AVAILABLE but came back with an error.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from recording_assets.archive.keys import parse_recording_key, quarantine_day_prefix, recording_day_prefix
from recording_assets.archive.objects import ObjectInfo
from recording_assets.genesys import BatchItem
from recording_assets.genesys.errors import GenesysApiError
from recording_assets.genesys.models import BatchResult, ConversationSummary, RecordingMetadata
from recording_assets.pipeline.context import ArchiveContext, DownloadTask
from recording_assets.pipeline.outcome import Key, Outcome, parse_time
from recording_assets.pipeline.states import State

NO_URL = "batch result without a URL"


async def load_existing(ctx: ArchiveContext) -> None:
    """What earlier runs already stored, into ``ctx.existing`` and the ledger (S3, not Genesys)."""
    prefix = ctx.options.key_prefix
    recordings = recording_day_prefix(prefix=prefix, day=ctx.day)
    for area in (recordings, quarantine_day_prefix(prefix=prefix, day=ctx.day)):
        # Multipart uploads left by a killed run: never visible, but they cost storage until aborted.
        await ctx.s3(ctx.store.abort_stale_uploads, area)
    listing = await ctx.s3(lambda: list(ctx.store.list_day(recordings)))
    heads = await asyncio.gather(*(ctx.s3(ctx.store.head, item.key) for item in listing))
    for item, head in zip(listing, heads):
        if head is not None:
            outcome = existing_outcome(item.key, head, prefix=prefix, uri=ctx.uri(item.key))
            ctx.existing.setdefault(outcome.key, outcome)
    ctx.outcomes.update(ctx.existing)


def existing_outcome(key: str, head: ObjectInfo, *, prefix: str, uri: str) -> Outcome:
    """An object under its final key, as the outcome ``already_archived`` (its metadata says the rest)."""
    parts = parse_recording_key(key, prefix=prefix)
    meta = head.metadata
    return Outcome(
        conversation_id=parts.conversation_id,
        recording_id=parts.recording_id,
        state=State.ALREADY_ARCHIVED,
        sha256=meta.get("sha256"),
        size_bytes=head.size,
        content_type=head.content_type,
        container=meta.get("container") or parts.ext.lstrip("."),
        storage_uri=uri,
        archived_at=parse_time(meta.get("archived-at")),
        archived_run_id=meta.get("run-id"),
        checksum_verified_by="earlier-run",
    )


def conversations_with_work(
    conversations: Mapping[str, ConversationSummary],
    existing: Iterable[Key],
    previous: Mapping[Key, Mapping],
    *,
    sensitive_permission: bool | None,
) -> list[str]:
    """Conversations whose every known recording already has a final state need no request."""
    final = {State.DELETED, State.ARCHIVED_IN_GENESYS}
    if sensitive_permission is not True:
        final.add(State.EXCLUDED)
    existing = set(existing)
    known: dict[str, int] = defaultdict(int)
    pending: set[str] = set()
    for cid, _ in existing:
        known[cid] += 1
    for key, row in previous.items():
        if key in existing:
            continue
        if State(row["state"]) in final:
            known[key[0]] += 1
        else:
            pending.add(key[0])
    return [
        cid
        for cid, conversation in conversations.items()
        if cid in pending or known[cid] == 0 or known[cid] < conversation.recorded_sessions
    ]


def carried_forward(
    conversations: Mapping[str, ConversationSummary], previous: Mapping[Key, Mapping], done: Iterable[Key]
) -> list[Outcome]:
    """Final states from the previous run for recordings this run did not revisit."""
    done = set(done)
    return [
        Outcome(
            conversation_id=key[0],
            recording_id=key[1],
            state=State(row["state"]),
            reason=row.get("reason"),
            file_state=row.get("file_state"),
            attempts=0,
        )
        for key, row in previous.items()
        if key not in done and key[0] in conversations
    ]


@dataclass
class FirstRound:
    """The first batch round's results, sorted."""

    tasks: dict[Key, DownloadTask] = field(default_factory=dict)
    errored: dict[Key, str] = field(default_factory=dict)  # no URL: the result's errorMsg
    needs_lookup: set[str] = field(default_factory=set)


def sort_first_round(
    ctx: ArchiveContext, conversation_ids: list[str], results: list[BatchResult]
) -> FirstRound:
    by_conversation: dict[str, list[BatchResult]] = defaultdict(list)
    for result in results:
        by_conversation[result.conversation_id].append(result)
    first = FirstRound()
    for cid in conversation_ids:
        conv_results = by_conversation.get(cid, [])
        if len({r.recording_id for r in conv_results}) < ctx.conversations[cid].recorded_sessions:
            first.needs_lookup.add(cid)  # something was excluded or is missing: ask once
        for result in conv_results:
            if not result.recording_id:
                first.needs_lookup.add(cid)
                continue
            key = (cid, result.recording_id)
            if key in ctx.existing:
                continue
            if result.result_url:
                first.tasks.setdefault(key, ctx.task(*key, result.result_url, result.content_type))
            else:
                first.errored[key] = result.error_msg or NO_URL
                first.needs_lookup.add(cid)
    return first


async def classify(ctx: ArchiveContext, first: FirstRound) -> list[BatchItem]:
    """Look up recording metadata for conversations whose batch results left questions.

    Finishes every recording the look-ups account for; returns those to ask for again in a batch."""
    tasks, errored = first.tasks, first.errored
    retry: list[BatchItem] = []
    ctx.report.lookups += len(first.needs_lookup)
    for cid, found in await _look_up(ctx, first.needs_lookup):
        if isinstance(found, GenesysApiError):
            state = State.DELETED if found.status in (404, 410) else State.FAILED
            for key in [k for k in errored if k[0] == cid]:
                ctx.finish(Outcome(*key, state, reason=f"recordingmetadata: {found}"))
            continue
        for meta in found:
            key = (cid, meta.recording_id)
            if key in tasks or key in ctx.existing:
                continue
            outcome = classify_recording(
                key,
                meta.file_state or "UNKNOWN",
                errored=key in errored,
                sensitive_permission=ctx.options.sensitive_permission,
            )
            if outcome is None:
                retry.append(BatchItem(cid, meta.recording_id))
            else:
                ctx.finish(outcome)
        retrying = {(item.conversation_id, item.recording_id) for item in retry}
        for key in [k for k in errored if k[0] == cid and k not in ctx.outcomes and k not in retrying]:
            reason = f"batch download: {errored[key]}; not in recordingmetadata"
            ctx.finish(Outcome(*key, State.FAILED, reason=reason))
    return retry


def classify_recording(
    key: Key, file_state: str, *, errored: bool, sensitive_permission: bool | None
) -> Outcome | None:
    """A recording missing from the batch results (or errored there), by its ``fileState``.

    None: AVAILABLE but errored, so worth one more batch request."""
    if file_state == "ARCHIVED":
        reason = "fileState ARCHIVED in Genesys"
        return Outcome(*key, State.ARCHIVED_IN_GENESYS, reason=reason, file_state=file_state)
    if file_state == "DELETED":
        return Outcome(*key, State.DELETED, reason="fileState DELETED", file_state=file_state)
    if file_state not in ("AVAILABLE", "RESTORED"):
        reason = f"fileState {file_state}: not downloadable yet"
        return Outcome(*key, State.FAILED, reason=reason, file_state=file_state)
    if errored:
        return None
    if sensitive_permission is True:
        return Outcome(*key, State.FAILED, reason="missing from batch results", file_state=file_state)
    reason = "left out of batch results: sensitive data without recording:recording:viewSensitiveData"
    return Outcome(*key, State.EXCLUDED, reason=reason, file_state=file_state)


async def _look_up(
    ctx: ArchiveContext, conversation_ids: set[str]
) -> list[tuple[str, list[RecordingMetadata] | GenesysApiError]]:
    semaphore = asyncio.Semaphore(ctx.options.concurrency)

    async def lookup(cid: str) -> tuple[str, list[RecordingMetadata] | GenesysApiError]:
        async with semaphore:
            try:
                return cid, await ctx.client.recordings.metadata(cid)
            except GenesysApiError as exc:
                if exc.status in (401, 403):
                    raise
                return cid, exc

    return await asyncio.gather(*(lookup(c) for c in sorted(conversation_ids)))


async def retry_errored(
    ctx: ArchiveContext, items: list[BatchItem], first: FirstRound
) -> dict[Key, DownloadTask]:
    """One more batch round for recordings that are AVAILABLE but came back with an error.

    Updates ``first.errored`` with what this round said; finishes the recordings it gave no URL."""
    retried: dict[Key, DownloadTask] = {}
    if not items:
        return retried
    errored = first.errored
    for result in await ctx.batch(items):
        key = (result.conversation_id, result.recording_id or "")
        if result.result_url and result.recording_id:
            retried.setdefault(key, ctx.task(*key, result.result_url, result.content_type))
            errored.pop(key, None)
        elif result.recording_id:
            errored[key] = result.error_msg or NO_URL
    for item in items:
        key = (item.conversation_id, item.recording_id)
        if key not in first.tasks and key not in retried:
            ctx.finish(Outcome(*key, State.FAILED, reason=f"batch download: {errored.get(key, 'no result')}"))
    return retried
