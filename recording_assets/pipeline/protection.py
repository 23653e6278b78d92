"""Deletion protection until archived (``protect_until_archived``, off by default).

Before its batch is asked for, each chunk of the day's conversations that still have work is protected
(``PUT /api/v2/recordings/deletionprotection?protect=true``, 100 ids a request), so Genesys' retention cannot
delete a recording the archive does not hold yet. After the run, protection is lifted (``protect=false``)
for each of those conversations whose every recording is archived and verified (or deleted: nothing left to
protect). A recording that failed, is restoring, excluded or quarantined keeps its conversation protected,
and a run that fails outright lifts nothing: the day stays protected until a run archives it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from recording_assets.pipeline.context import ArchiveContext
from recording_assets.pipeline.states import State


async def protect_day(ctx: ArchiveContext, conversation_ids: Iterable[str]) -> None:
    ids = sorted(conversation_ids)
    if not ctx.config.retention.protect_until_archived or not ids:
        return
    await ctx.client.retention.protect(
        ids, protect=True
    )  # a chunk of the day at a time, as batches are asked
    ctx.ledger.count_protected(len(ids))
    ctx.audit.record("protected", reason=f"deletion protection applied to {len(ids)} conversations")


def archived_conversations(ctx: ArchiveContext, conversation_ids: Iterable[str]) -> list[str]:
    """The conversations whose every recording is in the archive (or deleted in Genesys)."""
    states: dict[str, list[State]] = defaultdict(list)
    for outcome in ctx.ledger.outcomes.values():
        states[outcome.conversation_id].append(outcome.state)
    done = []
    for cid in sorted(conversation_ids):
        if ctx.ledger.is_unsettled(cid):
            continue  # what it holds is unknown
        if all(state.in_archive or state is State.DELETED for state in states.get(cid, [])):
            done.append(cid)
    return done


async def lift_archived(ctx: ArchiveContext, conversation_ids: Iterable[str]) -> None:
    ids = list(conversation_ids)
    if not ctx.config.retention.protect_until_archived or not ids:
        return
    lifted = archived_conversations(ctx, ids)
    if lifted:
        await ctx.client.retention.protect(lifted, protect=False)
        ctx.audit.record("unprotected", reason=f"deletion protection lifted from {len(lifted)} conversations")
    ctx.ledger.count_protection_lifted(lifted=len(lifted), kept=len(ids) - len(lifted))
