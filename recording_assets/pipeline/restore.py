"""Restore what Genesys moved to its archive tier (``restore_archived``, off by default).

After the stream has classified the day's recordings, those in Genesys' archive tier (``archived_in_genesys``)
are restored: ``PUT /api/v2/conversations/{c}/recordings/{r}`` with an ``archiveDate`` ``restore_days``
ahead, at most ``restore_cap`` per day's run and never past the org's ``remainingRestorationsAllowedForOrg``
(read once per run, then from each answer). Each ends as ``restoring`` with the requested date. A restoring
recording is not final, so the next run asks for its conversation again: while Genesys still restores it the
look-up says RESTORING and it stays ``restoring`` (with the date asked for earlier); once RESTORED the batch
serves it and it is downloaded, verified and archived like any other. The outcomes that change go back to
the day's frame, which finishes them in the ledger (each replaces the recording's earlier outcome).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from recording_assets.genesys.errors import GenesysApiError, PermissionDeniedError
from recording_assets.pipeline.context import ArchiveContext
from recording_assets.pipeline.outcome import Outcome
from recording_assets.pipeline.states import State

RESTORING = "RESTORING"


def _requested(until: datetime) -> str:
    return f"restore requested until {until:%Y-%m-%d %H:%M} UTC"


def keep_restoring(ctx: ArchiveContext) -> list[Outcome]:
    """Recordings Genesys still restores: ``restoring`` with the date asked for, not ``failed``."""
    kept = []
    for key, outcome in ctx.ledger.outcomes.items():
        if outcome.file_state != RESTORING or outcome.state is not State.FAILED:
            continue
        earlier = ctx.previous.get(key)
        ours = earlier is not None and earlier.state is State.RESTORING
        if not ctx.config.retention.restore_archived and not ours:
            continue  # restore off and nothing of ours: today's behaviour
        until = earlier.restore_until if earlier is not None else None
        reason = _requested(until) + "; Genesys is restoring it" if until else "Genesys is restoring it"
        kept.append(replace(outcome, state=State.RESTORING, reason=reason, restore_until=until))
    return kept


async def request_restorations(ctx: ArchiveContext) -> list[Outcome]:
    """Restore the day's ``archived_in_genesys`` recordings, within the cap and the org's quota; returns
    the outcomes that change (those still restoring, those now restoring, those refused)."""
    changed = keep_restoring(ctx)  # only ``failed`` ones: never a candidate below
    retention = ctx.config.retention
    if not retention.restore_archived:
        return changed
    outcomes = ctx.ledger.outcomes
    candidates = sorted(k for k, o in outcomes.items() if o.state is State.ARCHIVED_IN_GENESYS)
    if not candidates or retention.restore_cap == 0:
        return changed
    # The org's quota left, as any of the conversation's recordings states it (one look-up per run).
    quota = [m.remaining_restorations for m in await ctx.client.recordings.metadata(candidates[0][0])]
    left = next((q for q in quota if q is not None), None)
    budget = retention.restore_cap if left is None else min(retention.restore_cap, left)
    now = datetime.fromtimestamp(ctx.client.clock.time(), timezone.utc).replace(second=0, microsecond=0)
    until = now + timedelta(days=retention.restore_days)
    for key in candidates:
        if budget <= 0:
            break
        try:
            answer = await ctx.client.retention.restore(*key, until=until)
        except PermissionDeniedError:
            raise  # names recording:recording:restore: the run fails at once, as preflight would
        except GenesysApiError as exc:
            earlier = outcomes[key]
            changed.append(replace(earlier, reason=f"{earlier.reason}; restore refused: {exc}"))
            if exc.status == 400:
                break  # the org refuses (its quota, most likely): asking again spends budget for nothing
            continue
        ctx.ledger.count_restoration()
        ctx.audit.record("restore", conversation_id=key[0], recording_id=key[1], reason=_requested(until))
        state = answer.file_state or RESTORING
        reason = _requested(until)
        changed.append(Outcome(*key, State.RESTORING, reason=reason, file_state=state, restore_until=until))
        budget -= 1
        if answer.remaining is not None:
            budget = min(budget, answer.remaining)
    return changed
