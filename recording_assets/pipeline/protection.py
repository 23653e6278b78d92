"""Deletion protection as the legal hold it is (``protect_until_archived``, off by default).

Genesys' deletion protection is a legal-hold feature capped at 1,000 conversations per org, for
policy-based recordings, every protect and revoke audited (docs/genesys-api.md §12). So the product never
spends it as a blanket buffer: the expiry radar (``radar.py``) protects only the conversations it finds
at risk (a recording Genesys deletes within the horizon that the archive does not hold), within the cap
minus ``protection_reserve`` (left for the org's own legal holds) minus the holds it already placed. It
reads which are protected already (the POST query) and never touches those: a hold someone else placed is
not ours to revoke. Each hold it places is a row of its holds table (``protection/holds.parquet`` in the
manifests bucket, with the run id that placed it); a later radar run revokes exactly those rows whose
conversation the day's outcomes table confirms archived (every recording in the archive, or deleted in
Genesys, and at least one recording known: nothing known is unconfirmed, and the hold stays).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

import pyarrow as pa

from recording_assets.archive.keys import outcomes_key
from recording_assets.archive.protocol import DocumentStore
from recording_assets.genesys.protection import ORG_CAP, PROTECTION_LIMIT, DeletionProtection
from recording_assets.pipeline.states import State
from recording_assets.pipeline.table_io import read_table, write_table
from recording_assets.pipeline.tables import TS, Column, Table, to_table

HOLDS_KEY = "protection/holds.parquet"
HOLDS_TABLE = Table(
    "deletion_protection_holds",
    "One row per deletion protection (legal hold) this product placed and has not revoked yet.",
    HOLDS_KEY,
    (
        Column("conversation_id", pa.string(), "Genesys conversation id the hold is on."),
        Column("day", pa.date32(), "The partition (local day) the conversation belongs to."),
        Column("placed_at", TS, "When the hold was placed."),
        Column("placed_by_run", pa.string(), "Dagster run id of the radar run that placed it."),
    ),
)
HOLDS = HOLDS_TABLE.schema
REFUSED_KEY = "protection/refused.parquet"
REFUSED_TABLE = Table(
    "deletion_protection_refused",
    "One row per at-risk conversation Genesys refused to protect (ad-hoc recordings, the org's cap), asked "
    "again only after the conversations never refused: a refusal does not starve the others.",
    REFUSED_KEY,
    (
        Column("conversation_id", pa.string(), "Genesys conversation id."),
        Column("day", pa.date32(), "The partition (local day) the conversation belongs to."),
        Column(
            "reason", pa.string(), "What Genesys answered (errorCode: errorMessage, or the refused request)."
        ),
        Column("refused_at", TS, "When it was last refused."),
        Column("refused_by_run", pa.string(), "Dagster run id of the radar run it refused."),
    ),
)
REFUSED = REFUSED_TABLE.schema


@dataclass
class ProtectionReport:
    """What one radar run did with deletion protection; every count is also in its metadata."""

    placed: int = 0
    lifted: int = 0
    held_by_others: int = 0  # at risk and already protected by someone else: left alone
    over_budget: int = 0  # at risk, not protected: the product's share of the org cap is spent
    refused: dict[str, str] = field(default_factory=dict)  # conversation id -> why Genesys did not apply it
    kept: int = 0  # our holds whose conversation is not confirmed archived yet
    requests: int = 0
    active: int = 0  # our holds after the run

    def note(self) -> str:
        return (
            f"placed {self.placed}, lifted {self.lifted}, kept {self.kept} (active {self.active}); "
            f"{self.held_by_others} held by others left alone, {self.over_budget} over budget, "
            f"{len(self.refused)} refused by Genesys"
        )


def read_holds(manifests: DocumentStore) -> list[dict]:
    return _rows(manifests, HOLDS_KEY)


def read_refused(manifests: DocumentStore) -> list[dict]:
    return _rows(manifests, REFUSED_KEY)


def _rows(manifests: DocumentStore, key: str) -> list[dict]:
    table = read_table(manifests, key)
    return table.to_pylist() if table is not None else []


def budget(reserve: int, active: int) -> int:
    """How many more conversations the product may protect: the org cap minus the reserve minus ours."""
    return max(0, ORG_CAP - reserve - active)


async def protect_at_risk(
    protection: DeletionProtection,
    manifests: DocumentStore,
    at_risk: Mapping[str, date],
    *,
    reserve: int,
    run_id: str,
    now: datetime,
    report: ProtectionReport,
) -> None:
    """Protect the at-risk conversations (id -> day) not protected yet, within the product's budget."""
    holds = read_holds(manifests)
    ours = {row["conversation_id"] for row in holds}
    refused_before = {row["conversation_id"]: row for row in read_refused(manifests)}
    # Never refused first, the earliest days first; those refused before after them, oldest refusal first.
    wanted = sorted(
        set(at_risk) - ours,
        key=lambda cid: (
            cid in refused_before,
            refused_before[cid]["refused_at"] if cid in refused_before else now,
            at_risk[cid],
            cid,
        ),
    )
    if wanted:
        existing = await protection.protected(wanted)  # someone else's hold: never ours to place or lift
        report.requests += existing.requests
        report.held_by_others = len(existing.protected)
        wanted = [cid for cid in wanted if cid not in existing.protected]
    room = budget(reserve, len(ours))
    report.over_budget = max(0, len(wanted) - room)
    wanted = wanted[:room]
    refused = {cid: row for cid, row in refused_before.items() if cid in at_risk}
    try:
        # A request at a time, each recorded as it lands: should a later one fail (a 5xx after retries),
        # the holds already placed are in the table; the failed request's are in an unknown state, so the
        # next run finds them protected (by "someone") and leaves them alone rather than guess.
        for start in range(0, len(wanted), PROTECTION_LIMIT):
            chunk = wanted[start : start + PROTECTION_LIMIT]
            answer = await protection.protect(chunk, protect=True)
            report.requests += answer.requests
            report.refused.update(answer.failed)
            placed = [cid for cid in chunk if cid not in answer.failed]
            for cid in placed:
                holds.append(
                    {"conversation_id": cid, "day": at_risk[cid], "placed_at": now, "placed_by_run": run_id}
                )
                refused.pop(cid, None)
            for cid, why in answer.failed.items():
                refused[cid] = {
                    "conversation_id": cid, "day": at_risk[cid], "reason": why, "refused_at": now,
                    "refused_by_run": run_id,
                }  # fmt: skip
            report.placed += len(placed)
            if placed:
                write_table(manifests, HOLDS_KEY, to_table(holds, HOLDS))
    finally:
        if refused or refused_before:
            write_table(manifests, REFUSED_KEY, to_table([refused[c] for c in sorted(refused)], REFUSED))
        report.active = len(holds)


def confirmed_archived(manifests: DocumentStore, holds: list[dict]) -> set[str]:
    """The held conversations whose day's outcomes show every recording archived (or deleted in Genesys),
    with at least one recording known; the rest are unconfirmed."""
    states: dict[str, list[State]] = {}
    for day in sorted({row["day"] for row in holds}):
        table = read_table(manifests, outcomes_key(day=day), columns=["conversation_id", "state"])
        for row in table.to_pylist() if table is not None else []:
            try:
                state = State(row["state"])
            except ValueError:
                state = State.FAILED  # a state this version does not know: not confirmed
            states.setdefault(row["conversation_id"], []).append(state)
    return {
        row["conversation_id"]
        for row in holds
        if (known := states.get(row["conversation_id"]))
        and all(s.in_archive or s is State.DELETED for s in known)
    }


async def lift_confirmed(
    protection: DeletionProtection,
    manifests: DocumentStore,
    *,
    report: ProtectionReport,
) -> None:
    """Revoke the product's own holds whose conversation is confirmed archived; keep the rest."""
    holds = read_holds(manifests)
    done = sorted(confirmed_archived(manifests, holds))
    for start in range(0, len(done), PROTECTION_LIMIT):  # each request's revocations recorded as they land
        chunk = done[start : start + PROTECTION_LIMIT]
        answer = await protection.protect(chunk, protect=False)
        report.requests += answer.requests
        lifted = set(chunk) - set(answer.failed)
        holds = [row for row in holds if row["conversation_id"] not in lifted]
        write_table(manifests, HOLDS_KEY, to_table(holds, HOLDS))
        report.lifted += len(lifted)
    report.kept = len(holds)
    report.active = len(holds)
