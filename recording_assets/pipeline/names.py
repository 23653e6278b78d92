"""The day's names, cheaply: small dimension tables in the manifest bucket, reused across runs.

One table per kind (``names/users.parquet``, ``names/queues.parquet`` ...), a row per id ever asked for:
its name (and a user's e-mail and state), or why it has none, and when Genesys was asked. A run asks
Genesys only for the day's ids the table lacks, or holds a row older than ``REFRESH_DAYS`` (a renamed
queue shows under its new name within a week), or holds without a name for longer than ``RETRY_DAYS``.
A refusal (a missing permission, an answer that cannot be used) is not stored, so a grant takes effect on
the next run. The day's tables then carry each id list's names beside it, index by index, null where an
id stays unresolved; the reasons go to the run's metadata.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pyarrow as pa

from recording_assets.archive.protocol import DocumentStore
from recording_assets.genesys import names as genesys_names
from recording_assets.genesys.models import ConversationSummary
from recording_assets.genesys.names import DIVISIONS, KINDS, QUEUES, USERS, WRAP_UP_CODES, Name
from recording_assets.genesys.transport import Transport
from recording_assets.pipeline.table_io import read_table, write_table
from recording_assets.pipeline.tables import NAMES

REFRESH_DAYS = 7  # a held name is asked again after this: renames show within a week
RETRY_DAYS = 1  # an id without a name (deleted, absent) is asked again after this
REASONS_SHOWN = 20  # per kind, in the run's metadata; the rest are counted
# The id list column of each kind and the name columns aligned with it.
ID_COLUMNS = {
    USERS: "agent_ids",
    QUEUES: "queue_ids",
    WRAP_UP_CODES: "wrap_up_codes",
    DIVISIONS: "division_ids",
}
NAME_COLUMNS = {
    USERS: "agent_names",
    QUEUES: "queue_names",
    WRAP_UP_CODES: "wrap_up_names",
    DIVISIONS: "division_names",
}
EMAIL_COLUMN = "agent_emails"


def names_key(kind: str) -> str:
    return f"names/{kind}.parquet"


@dataclass
class DayNames:
    """The names of a day's ids, per kind, what was asked of Genesys and why some ids have no name."""

    names: dict[str, dict[str, Name]] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    asked: dict[str, int] = field(default_factory=dict)  # ids asked for (bulk kinds) or listings read
    refused: dict[str, str] = field(default_factory=dict)

    def unresolved(self) -> dict[str, dict[str, str]]:
        """Per kind, id -> reason, for the run's metadata (at most ``REASONS_SHOWN`` each)."""
        out: dict[str, dict[str, str]] = {}
        for kind, names in self.names.items():
            missing = {i: n.reason or "no name" for i, n in sorted(names.items()) if n.name is None}
            if missing:
                out[kind] = dict(list(missing.items())[:REASONS_SHOWN])
        return out

    def unresolved_counts(self) -> dict[str, int]:
        return {k: sum(n.name is None for n in v.values()) for k, v in self.names.items()}


def ids_of(conversations: Iterable[ConversationSummary]) -> dict[str, set[str]]:
    """Every id of each kind the day's conversations hold."""
    found: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for c in conversations:
        found[USERS].update(c.agent_ids)
        found[QUEUES].update(c.queue_ids)
        found[WRAP_UP_CODES].update(c.wrap_up_codes)
        found[DIVISIONS].update(c.division_ids)
    return found


async def day_names(
    transport: Transport, store: DocumentStore, ids: Mapping[str, Iterable[str]], *, now: datetime
) -> DayNames:
    """The names of ``ids`` (kind -> ids), from the dimension tables and, for what they lack or hold too
    long, from Genesys; the tables are written back with what Genesys answered."""
    day = DayNames()
    for kind in KINDS:
        wanted = set(ids.get(kind, ()))
        held = _held(read_table(store, names_key(kind)))
        due = {i for i in wanted if i not in held or _stale(held[i], now)}
        if due:
            answer = await genesys_names.resolve(transport, kind, due)
            day.requests[kind], day.asked[kind] = answer.requests, len(due)
            if answer.refused is None:
                held.update({i: (n, now) for i, n in answer.names.items()})
                write_table(store, names_key(kind), _table(held))
            else:
                day.refused[kind] = answer.refused
                # Not stored: the reason stands for this run only.
                held.update({i: (answer.names[i], now) for i in due if i not in held})
        day.names[kind] = {i: held[i][0] for i in wanted}
    return day


def _stale(row: tuple[Name, datetime], now: datetime) -> bool:
    name, asked_at = row
    age = timedelta(days=REFRESH_DAYS if name.name is not None else RETRY_DAYS)
    return now - asked_at >= age


def _held(table: pa.Table | None) -> dict[str, tuple[Name, datetime]]:
    if table is None:
        return {}
    return {
        row["id"]: (Name(row["id"], row["name"], row["email"], row["state"], row["reason"]), row["asked_at"])
        for row in table.to_pylist()
        if isinstance(row["id"], str) and row["asked_at"] is not None
    }


def _table(held: Mapping[str, tuple[Name, datetime]]) -> pa.Table:
    rows = sorted(held.items())
    return pa.table(
        {
            "id": [i for i, _ in rows],
            "name": [n.name for _, (n, _) in rows],
            "email": [n.email for _, (n, _) in rows],
            "state": [n.state for _, (n, _) in rows],
            "reason": [n.reason for _, (n, _) in rows],
            "asked_at": [t for _, (_, t) in rows],
        },
        schema=NAMES,
    )


def with_names(table: pa.Table, day: DayNames) -> pa.Table:
    """``table`` (the metadata table) with each id list's names set beside it, index by index."""
    for kind, id_column in ID_COLUMNS.items():
        names = day.names.get(kind, {})
        lists = table[id_column].to_pylist()
        table = _set(table, NAME_COLUMNS[kind], [_aligned(ids, names, "name") for ids in lists])
        if kind == USERS:
            table = _set(table, EMAIL_COLUMN, [_aligned(ids, names, "email") for ids in lists])
    return table


def _aligned(ids: list[str] | None, names: Mapping[str, Name], attribute: str) -> list[str | None] | None:
    if ids is None:
        return None
    return [getattr(names[i], attribute) if i in names else None for i in ids]


def _set(table: pa.Table, column: str, values: list) -> pa.Table:
    index = table.schema.get_field_index(column)
    return table.set_column(
        index, table.schema.field(index), pa.array(values, table.schema.field(index).type)
    )
