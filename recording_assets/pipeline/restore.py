"""Restore what Genesys moved to its archive tier (``restore_archived``, off by default).

After the stream has classified the day's recordings, those in Genesys' archive tier (``archived_in_genesys``)
are restored, at most ``restore_cap`` per day's run: a GET of the recording reads its dates, then
``PUT /api/v2/conversations/{c}/recordings/{r}`` sends an ``archiveDate`` ``restore_days`` ahead (clamped
an hour before its ``deleteDate``, or reported as not restorable in time) and the ``deleteDate`` as read
(whether a body without it leaves it alone is not documented). No org quota is read: the SDK marks it
deprecated, "the restoration limit is no longer enforced". A refusal is that recording's, recorded with
its reason; the others are still asked for. Each restored one ends as ``restoring`` with the date. A restoring
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
DELETE_MARGIN = timedelta(hours=1)  # the restoration ends this long before Genesys deletes the recording
MIN_WINDOW = timedelta(hours=12)  # less than this restored is not worth asking: restoring takes hours


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
    """Restore the day's ``archived_in_genesys`` recordings, at most ``restore_cap``; returns the outcomes
    that change (those still restoring, those now restoring, those refused or not restorable in time)."""
    changed = keep_restoring(ctx)  # only ``failed`` ones: never a candidate below
    retention = ctx.config.retention
    if not retention.restore_archived:
        return changed
    outcomes = ctx.ledger.outcomes
    candidates = sorted(k for k, o in outcomes.items() if o.state is State.ARCHIVED_IN_GENESYS)
    now = datetime.fromtimestamp(ctx.client.clock.time(), timezone.utc).replace(second=0, microsecond=0)
    wanted = now + timedelta(days=retention.restore_days)
    for key in candidates[: retention.restore_cap]:
        earlier = outcomes[key]
        try:
            # The dates as Genesys holds them: the PUT sends the deleteDate back unchanged, and the new
            # archiveDate must come before it (a restoration past it is refused, or deleted while restored).
            dates = await ctx.client.retention.retention_dates(*key)
            until = _until(wanted, dates.delete_date, now)
            if until is None:
                changed.append(replace(earlier, reason=f"{earlier.reason}; {_too_late(dates.delete_date)}"))
                continue
            answer = await ctx.client.retention.restore(*key, until=until, delete_date=dates.delete_date)
        except PermissionDeniedError:
            raise  # names the restore permission: the run fails at once, as preflight would
        except GenesysApiError as exc:
            # That recording's answer only (a 400 is per recording: no org quota is enforced any more).
            changed.append(replace(earlier, reason=f"{earlier.reason}; restore refused: {exc}"))
            continue
        ctx.ledger.count_restoration()
        ctx.audit.record("restore", conversation_id=key[0], recording_id=key[1], reason=_requested(until))
        state = answer.file_state or RESTORING
        changed.append(
            Outcome(*key, State.RESTORING, reason=_requested(until), file_state=state, restore_until=until)
        )
    return changed


def _until(wanted: datetime, delete_date: datetime | None, now: datetime) -> datetime | None:
    """The archiveDate to ask for: ``wanted``, or clamped before the deleteDate; None when the deleteDate
    leaves no time to download it (less than ``MIN_WINDOW`` from now)."""
    if delete_date is None or wanted < delete_date - DELETE_MARGIN:
        return wanted
    until = delete_date - DELETE_MARGIN
    return until if until - now >= MIN_WINDOW else None


def _too_late(delete_date: datetime | None) -> str:
    return f"not restorable in time: Genesys deletes it at {delete_date:%Y-%m-%d %H:%M} UTC"
