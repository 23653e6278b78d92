"""What the batch results and look-ups say about the recordings of the conversations that have work
(``settled.py`` decides which those are):

- the first batch round's results sorted into downloads, errors and conversations to look up;
- one ``recordingmetadata`` look-up per such conversation, which classifies what the batch left out
  (its ``errorMsg`` wording is undocumented, so it is never parsed);
- one more batch round for the recordings that are AVAILABLE but came back with an error.

Each step returns what it found (download tasks, outcomes, recordings to ask for again) to the stream, which
queues the tasks and finishes the outcomes in the ledger.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from recording_assets.genesys import BatchItem
from recording_assets.genesys.errors import GenesysApiError
from recording_assets.genesys.listing import Rejected
from recording_assets.genesys.models import BatchResult, RecordingMetadata
from recording_assets.pipeline.context import ArchiveContext, DownloadTask
from recording_assets.pipeline.isolation import describe, is_day_level
from recording_assets.pipeline.isolation import failed as isolation_failed
from recording_assets.pipeline.outcome import Key, Outcome
from recording_assets.pipeline.states import State

NO_URL = "batch result without a URL"


@dataclass
class FirstRound:
    """The first batch round's results, sorted."""

    tasks: dict[Key, DownloadTask] = field(default_factory=dict)
    errored: dict[Key, str] = field(default_factory=dict)  # no URL: the result's errorMsg
    needs_lookup: set[str] = field(default_factory=set)
    failed: list[Outcome] = field(default_factory=list)  # what the client flagged: never downloaded
    # Results dropped for an unusable recordingId, by conversation: why, for what the look-up finds instead.
    unplaceable: dict[str, str] = field(default_factory=dict)
    job_failed: str | None = None  # the job failed (why): no results, every conversation looked up

    def questions(self) -> FirstRound | None:
        """What ``look_up`` reads of this round, None when it asks nothing: the conversations to look up, with
        the tasks of their own recordings only (the look-up skips what downloads already). The look-ups wait
        behind every other request in the pacer's queue; the round's other tasks, with their URLs, must not
        wait with them."""
        if not self.needs_lookup:
            return None
        tasks = {key: task for key, task in self.tasks.items() if key[0] in self.needs_lookup}
        return replace(self, tasks=tasks, failed=[])


def failed_job(ctx: ArchiveContext, conversation_ids: list[str], why: str) -> FirstRound:
    """A first-round job that failed (not for a day-level reason): its answer is the only list of its
    conversations' recordings, so each conversation is looked up; what the look-up lists as downloadable is
    ``failed`` with ``why``, the rest classified as usual (``look_up``). Left unsettled: the next run asks
    again."""
    for cid in conversation_ids:
        ctx.ledger.mark_unsettled(cid)
    return FirstRound(needs_lookup=set(conversation_ids), job_failed=why)


@dataclass
class LookedUp:
    """What the look-ups of one job's questions said."""

    outcomes: dict[Key, Outcome] = field(default_factory=dict)  # the recordings they account for
    retry: list[BatchItem] = field(default_factory=list)  # AVAILABLE but errored: one more batch request


@dataclass
class Retried:
    """What the retry round said."""

    tasks: dict[Key, DownloadTask] = field(default_factory=dict)  # a URL this time
    failed: list[Outcome] = field(default_factory=list)  # still none


def sort_first_round(
    ctx: ArchiveContext, conversation_ids: list[str], results: list[BatchResult]
) -> FirstRound:
    by_conversation: dict[str, list[BatchResult]] = defaultdict(list)
    for result in results:
        by_conversation[result.conversation_id].append(result)
    first = FirstRound()
    every = ctx.looks_up_every_conversation
    for cid in conversation_ids:
        conv_results = by_conversation.get(cid, [])
        flagged = ctx.ledger.conversations[cid].invalid_reason
        if every or (not conv_results and ctx.ledger.conversations[cid].recorded_sessions > 0):
            # Flagged as recorded but no item at all (left out: sensitive, or unavailable in an org whose
            # batches omit those), or the run's sensitive_check asks about every conversation: ask once.
            first.needs_lookup.add(cid)
        for result in conv_results:
            if not result.recording_id:
                if result.invalid_reason:
                    first.unplaceable[cid] = result.invalid_reason
                first.needs_lookup.add(cid)
                continue
            key = (cid, result.recording_id)
            if key in ctx.ledger.existing:
                continue
            # A field the client dropped would reach a key, a header or a table: recorded, not archived.
            if flagged or result.invalid_reason:
                where, why = (
                    ("analytics conversation", flagged)
                    if flagged
                    else ("batch result", result.invalid_reason)
                )
                reason = f"{where}: {why}"
                first.failed.append(Outcome(*key, State.FAILED, reason=reason))
            elif result.result_url:
                first.tasks.setdefault(key, ctx.task(*key, result.result_url, result.content_type))
            else:
                first.errored[key] = result.error_msg or NO_URL
                first.needs_lookup.add(cid)
    return first


async def look_up(ctx: ArchiveContext, first: FirstRound) -> LookedUp:
    """Look up recording metadata for conversations whose batch results left questions.

    Returns the outcomes of every recording the look-ups account for, and those to ask for again in a
    batch; a conversation whose look-up failed is marked unsettled in the ledger."""
    tasks, errored = first.tasks, first.errored
    looked = LookedUp()
    outcomes, retry = looked.outcomes, looked.retry
    ctx.ledger.count_lookups(len(first.needs_lookup))
    for cid, found in await _metadata(ctx, first.needs_lookup):
        if isinstance(found, Exception):
            gone = isinstance(found, GenesysApiError) and found.status in (404, 410)
            if not gone:
                ctx.ledger.mark_unsettled(cid)  # what it holds is unknown: ask again next run
            state = State.DELETED if gone else State.FAILED
            for key in [k for k in errored if k[0] == cid]:
                outcomes[key] = Outcome(*key, state, reason=f"recordingmetadata: {describe(found)}")
            continue
        ctx.ledger.describe(cid, found)
        for meta in found:
            key = (cid, meta.recording_id)
            if key in tasks or key in ctx.ledger.existing or _known(ctx, outcomes, key):
                continue
            if cid in first.unplaceable and key not in errored:
                # The batch answered this recording under an id that cannot be used: it is never guessed.
                reason = f"batch result rejected: {first.unplaceable[cid]}"
                outcomes[key] = Outcome(*key, State.FAILED, reason=reason, file_state=meta.file_state)
                continue
            if meta.file_state is None and meta.invalid_reason:
                reason = f"recordingmetadata: {meta.invalid_reason}"
                outcomes[key] = Outcome(*key, State.FAILED, reason=reason)
                continue
            outcome = classify_recording(
                key,
                meta.file_state or "UNKNOWN",
                errored=key in errored or first.job_failed is not None,
                sensitive_permission=ctx.sensitive_permission,
            )
            if outcome is None and first.job_failed is not None:
                # Downloadable, but its job failed: no URL this run (no second job for a failed one).
                outcomes[key] = Outcome(
                    *key, State.FAILED, reason=first.job_failed, file_state=meta.file_state
                )
            elif outcome is None:
                retry.append(BatchItem(cid, meta.recording_id))
            else:
                outcomes[key] = outcome
        retrying = {(item.conversation_id, item.recording_id) for item in retry}
        for key in [k for k in errored if k[0] == cid and not _known(ctx, outcomes, k) and k not in retrying]:
            reason = f"batch download: {errored[key]}; not in recordingmetadata"
            outcomes[key] = Outcome(*key, State.FAILED, reason=reason)
    return looked


async def rejected_conversations(ctx: ArchiveContext, rejected: Sequence[Rejected]) -> list[Outcome]:
    """Conversations discovery left out whose id is safe (no ``conversationStart``, say): one batch round
    lists their recordings, each recorded failed with why, never downloaded (where and when it belongs is
    unknown). Not in the conversations table, so the next run meets them again."""
    reasons = {
        r.conversation_id: r.reason
        for r in rejected
        if r.conversation_id and r.conversation_id not in ctx.ledger.conversations
    }
    if not reasons:
        return []
    try:
        results = await ctx.batch([BatchItem(cid) for cid in sorted(reasons)])
    except Exception as error:
        if is_day_level(error):
            raise
        ctx.audit.record("batch", reason=f"rejected conversations not listed: {describe(error)}")
        return []
    return [
        Outcome(
            r.conversation_id, r.recording_id, State.FAILED, reason=f"analytics conversation rejected: {why}"
        )
        for r in results
        if r.recording_id
        and (why := reasons.get(r.conversation_id))
        and (r.conversation_id, r.recording_id) not in ctx.ledger.existing
    ]


def _known(ctx: ArchiveContext, outcomes: dict[Key, Outcome], key: Key) -> bool:
    """Whether ``key`` has an outcome: from these look-ups, or in the ledger (a download of a duplicated
    batch item may have finished it already)."""
    return key in outcomes or key in ctx.ledger.outcomes


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


async def _metadata(
    ctx: ArchiveContext, conversation_ids: set[str]
) -> list[tuple[str, list[RecordingMetadata] | Exception]]:
    semaphore = asyncio.Semaphore(ctx.config.concurrency)

    async def lookup(cid: str) -> tuple[str, list[RecordingMetadata] | Exception]:
        async with semaphore:
            try:
                return cid, await ctx.client.recordings.metadata(cid, background=True)
            except Exception as exc:  # a malformed answer, a cap, a bug: this conversation, not the day
                if is_day_level(exc):
                    raise
                return cid, exc

    return await asyncio.gather(*(lookup(c) for c in sorted(conversation_ids)))


async def retry_errored(ctx: ArchiveContext, items: list[BatchItem], first: FirstRound) -> Retried:
    """One more batch round for recordings that are AVAILABLE but came back with an error.

    Updates ``first.errored`` with what this round said; returns the tasks it gave a URL and the failures
    of the recordings it gave none."""
    retried = Retried()
    if not items:
        return retried
    errored, tasks = first.errored, retried.tasks
    wanted = {(item.conversation_id, item.recording_id or "") for item in items}
    try:
        results = await ctx.batch(items)
    except Exception as error:
        if is_day_level(error):
            raise
        retried.failed = isolation_failed(sorted(wanted), "batch retry round", error)
        return retried
    for result in results:
        key = (result.conversation_id, result.recording_id or "")
        if key not in wanted:
            continue  # not what this round asked for: never archived on its word
        if result.invalid_reason:
            errored[key] = f"batch result: {result.invalid_reason}"
        elif result.result_url and result.recording_id:
            tasks.setdefault(key, ctx.task(*key, result.result_url, result.content_type))
            errored.pop(key, None)
        elif result.recording_id:
            errored[key] = result.error_msg or NO_URL
    for item in items:
        asked = (item.conversation_id, item.recording_id or "")
        if asked not in first.tasks and asked not in tasks:
            reason = f"batch download: {errored.get(asked, 'no result')}"
            retried.failed.append(Outcome(*asked, State.FAILED, reason=reason))
    return retried
