"""What is already settled before a day's run asks Genesys anything, and what the run settles.

- what the archive already holds (an S3 listing plus one HEAD per object; no Genesys request);
- which previous outcomes are final for this run's settings (``is_final``), carried forward unchanged;
- which conversations still have work: not those the conversations table says are settled (their batch
  answered and every recording final), unless analytics now flags more recorded sessions than then;
- the conversations table this run leaves for the next one (``ConversationRow``, read back typed).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

from recording_assets.archive.errors import InvalidIdentifierError
from recording_assets.archive.keys import parse_recording_key, quarantine_day_prefix, recording_day_prefix
from recording_assets.archive.objects import ObjectInfo
from recording_assets.archive.reads import STALE_UPLOAD_MARGIN
from recording_assets.archive.sidecar_keys import is_sidecar_key
from recording_assets.genesys.models import ConversationSummary
from recording_assets.pipeline.config import ArchiveConfig
from recording_assets.pipeline.context import LASTING_QUARANTINE, ArchiveContext
from recording_assets.pipeline.outcome import Key, Outcome, check_row_fields, parse_time
from recording_assets.pipeline.states import State
from recording_assets.pipeline.tables import CONVERSATIONS

# What a carried-forward lasting quarantine keeps, so its manifest row points at its one copy.
_KEPT_WITH_A_QUARANTINE = (
    "sha256",
    "size_bytes",
    "content_type",
    "container",
    "quarantine_uri",
    "quarantine_repeats",
)


@dataclass(frozen=True, slots=True)
class ConversationRow:
    """One row of the conversations table: whether a conversation is settled, as a run left it."""

    conversation_id: str
    recorded_sessions: int = 0  # sessions analytics flagged as recorded then
    recordings: int = 0
    settled: bool = False  # its batch answered and every recording final
    run_id: str | None = None

    @classmethod
    def from_row(cls, row: Mapping) -> ConversationRow:
        """A row an earlier run wrote; absent or null counts are 0, an absent ``settled`` is False."""
        return cls(
            conversation_id=row["conversation_id"],
            recorded_sessions=row.get("recorded_sessions") or 0,
            recordings=row.get("recordings") or 0,
            settled=bool(row.get("settled")),
            run_id=row.get("run_id"),
        )

    def row(self) -> dict:
        return {name: getattr(self, name) for name in _CONVERSATION_FIELDS}


check_row_fields(ConversationRow, CONVERSATIONS)
_CONVERSATION_FIELDS = tuple(f.name for f in fields(ConversationRow))


def conversations_from_rows(rows: Iterable[Mapping]) -> list[ConversationRow]:
    """The conversations table an earlier run wrote, typed; a row without a conversation id is left out."""
    return [ConversationRow.from_row(row) for row in rows if row.get("conversation_id")]


@dataclass(frozen=True)
class Existing:
    """What the day's prefix holds: an outcome per object of ours, and the keys that are not (a folder
    marker, a README, a key that does not parse), skipped and reported, never read as a recording."""

    outcomes: list[Outcome]
    strays: list[str]


async def load_existing(ctx: ArchiveContext) -> Existing:
    """What earlier runs already stored, one outcome per object found (S3, not Genesys), for the ledger's
    ``found_in_archive``; keys under the prefix that are neither a recording's nor a sidecar are ``strays``."""
    prefix = ctx.config.key_prefix
    recordings = recording_day_prefix(prefix=prefix, day=ctx.day)
    for area in (recordings, quarantine_day_prefix(prefix=prefix, day=ctx.day)):
        # Multipart uploads left by a killed run: never visible, but they cost storage until aborted. Only
        # those begun before this run (by S3's clock, less the skew margin): later ones are a live run's.
        stale = ctx.started_at - STALE_UPLOAD_MARGIN
        await ctx.s3(ctx.store.abort_stale_uploads, area, initiated_before=stale)
    # A recording's sidecar (pipeline/sidecars.py) is ours, not a recording: left out as the pages come, so
    # a 100,000-recording day never holds its 100,000 sidecars' listing too.
    listing = await ctx.s3(
        lambda: [item for item in ctx.store.list_day(recordings) if not is_sidecar_key(item.key)]
    )
    ours, strays = [], []
    for item in listing:
        try:
            parse_recording_key(item.key, prefix=prefix)
        except InvalidIdentifierError:
            strays.append(item.key)
        else:
            ours.append(item.key)
    del listing
    outcomes: list[Outcome] = []
    for start in range(0, len(ours), HEADS_AT_ONCE):  # a bounded number of answers held at once
        keys = ours[start : start + HEADS_AT_ONCE]
        heads = await asyncio.gather(*(ctx.s3(ctx.store.head, key) for key in keys))
        outcomes += [
            existing_outcome(key, head, prefix=prefix, uri=ctx.uri(key))
            for key, head in zip(keys, heads, strict=True)
            if head is not None
        ]
    return Existing(outcomes, strays)


HEADS_AT_ONCE = 500


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
        retain_until=head.retain_until,  # as S3 reports it: what the object really holds
        lock_mode=head.lock_mode,
    )


def is_final(outcome: Outcome, config: ArchiveConfig, sensitive_permission: bool | None) -> bool:
    """Whether a recording that is not in the archive needs no request again: its state (this run's, or the
    previous run's) is final for this run's settings. (A previous outcome that says archived but whose object
    is gone from the archive is not final.)"""
    state = outcome.state
    if state in (State.DELETED, State.ERASED):
        return True
    if state is State.ARCHIVED_IN_GENESYS:
        return not config.retention.restore_archived  # restorable: asked again while restore is on
    if state is State.EXCLUDED:
        return sensitive_permission is not True  # with the permission now, it can be archived
    if state is State.QUARANTINED:
        return (outcome.quarantine_repeats or 0) >= LASTING_QUARANTINE and not config.force_quarantined
    return False


def unfinished(
    existing: Iterable[Key],
    previous: Mapping[Key, Outcome],
    config: ArchiveConfig,
    sensitive_permission: bool | None,
) -> set[str]:
    """The conversations the previous run left a recording of neither in the archive nor final: computed
    once per run (the pages of a day are then sorted against it one by one)."""
    existing = set(existing)
    return {
        key[0]
        for key, earlier in previous.items()
        if key not in existing and not is_final(earlier, config, sensitive_permission)
    }


def conversations_with_work(
    conversations: Mapping[str, ConversationSummary],
    pending: set[str],
    settled: Mapping[str, ConversationRow],
) -> list[str]:
    """The conversations that need a batch request: every one ``pending`` (``unfinished``), and none whose
    batch answered in an earlier run and whose every recording reached a final state (``settled``, the
    conversations table), unless analytics now flags more recorded sessions than then (a recording that
    arrived late). Flag counts are compared only with earlier flag counts, never with recordings: how many
    sessions carry the flag for one recording is not documented (docs/genesys-behaviours.md)."""
    work = []
    for cid, conversation in conversations.items():
        entry = settled.get(cid)
        if cid in pending:
            work.append(cid)
        elif entry is None:
            # Never settled by a run that finished: a run cut off mid-day may have stored some of its
            # recordings and not others (or a day archived before the conversations table existed).
            work.append(cid)
        elif not entry.settled or conversation.recorded_sessions > entry.recorded_sessions:
            work.append(cid)
    return work


def settled_rows(
    ctx: ArchiveContext, with_work: Iterable[str], settled: Mapping[str, ConversationRow]
) -> list[dict]:
    """The conversations table after this run: a conversation is settled when its batch answered (this run
    or an earlier one) and every recording it holds is final."""
    asked = set(with_work)
    by_conversation: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in ctx.ledger.outcomes.values():
        by_conversation[outcome.conversation_id].append(outcome)
    rows = []
    for cid, conversation in ctx.ledger.conversations.items():
        outcomes = by_conversation.get(cid, [])
        answered = cid in asked and not ctx.ledger.is_unsettled(cid)
        earlier = settled.get(cid)
        sessions = conversation.recorded_sessions
        if cid not in asked and earlier is not None:
            answered = earlier.settled
            sessions = max(sessions, earlier.recorded_sessions)
        elif cid not in asked:
            answered = bool(outcomes)  # settled by what the archive and the previous outcomes hold
        final = all(o.state.in_archive or is_final(o, ctx.config, ctx.sensitive_permission) for o in outcomes)
        row = ConversationRow(cid, sessions, len(outcomes), answered and final, ctx.run_id)
        rows.append(row.row())
    return rows


def rows_after_crash(
    ctx: ArchiveContext, with_work: Iterable[str], settled: Mapping[str, ConversationRow]
) -> list[dict]:
    """The conversations table a run cut off by a day-level error leaves: the earlier rows of what it did
    not ask about, unchanged, and every other conversation it knows unsettled (some of its recordings may
    have no outcome yet)."""
    asked = set(with_work)
    counts: dict[str, int] = defaultdict(int)
    for key in ctx.ledger.outcomes:
        counts[key[0]] += 1
    rows = {cid: row.row() for cid, row in settled.items() if cid not in asked}
    for cid, conversation in ctx.ledger.conversations.items():
        if cid in asked or cid not in rows:
            row = ConversationRow(cid, conversation.recorded_sessions, counts[cid], False, ctx.run_id)
            rows[cid] = row.row()
    return list(rows.values())


def carried_forward(
    conversations: Mapping[str, ConversationSummary], previous: Mapping[Key, Outcome], done: Iterable[Key]
) -> list[Outcome]:
    """Final states from the previous run for recordings this run did not revisit."""
    done = set(done)
    return [
        Outcome(
            conversation_id=key[0],
            recording_id=key[1],
            state=earlier.state,
            reason=earlier.reason,
            file_state=earlier.file_state,
            attempts=0,
            # A lasting quarantine keeps pointing at its one copy of the bad bytes.
            **{name: getattr(earlier, name) for name in _KEPT_WITH_A_QUARANTINE},
        )
        for key, earlier in previous.items()
        if key not in done and key[0] in conversations
    ]
