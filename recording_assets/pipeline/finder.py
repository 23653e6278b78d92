"""Finding archived recordings: a query over the day manifests, read only for the days it spans.

The manifests' keys are derived from the layout (``keys.manifest_key``, one per local day), never found by
listing or globbing the bucket, so a query over a week reads seven objects whatever the archive holds.
Each is read through ``get_bytes`` (its recorded SHA-256 checked) and the days are queried together with
DuckDB (https://duckdb.org/docs/api/python/overview), a well-kept engine for the list-column predicates
(``list_contains``, lambdas) that would otherwise be hand-written here. A day without a manifest is
reported as missing, a manifest that cannot be read as unreadable, never a crash.

Older manifests lack some columns (``participant_addresses``, the name columns ``agent_names`` ...): they
read as null, so a query matches what a manifest holds. ``--agent`` matches an agent id, name or e-mail;
``--queue`` a queue id or name (names case-insensitively); ``--address`` a phone number or e-mail address
as an erasure matches it (``subjects.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

import pyarrow as pa

from recording_assets.archive.errors import ArchiveError
from recording_assets.archive.keys import manifest_key
from recording_assets.archive.protocol import DocumentStore
from recording_assets.pipeline.states import State
from recording_assets.pipeline.subjects import email_key, phone_key
from recording_assets.pipeline.tables import from_parquet_bytes

MAX_DAYS = 366  # one manifest GET a day: a bound an operator can name, not an unbounded scan
# Columns a manifest may lack (older ones): read as null lists so one query fits every day.
_OPTIONAL_LISTS = (
    "agent_ids",
    "agent_names",
    "agent_emails",
    "queue_ids",
    "queue_names",
    "participant_addresses",
)
SHOWN = (
    "day",
    "conversation_id",
    "recording_id",
    "state",
    "conversation_start",
    "media_type",
    "agent_ids",
    "agent_names",
    "queue_ids",
    "queue_names",
    "sha256",
    "size_bytes",
    "storage_uri",
)


class FindError(ValueError):
    """A query that cannot run: the message names the problem and the fix."""


class FindDependencyError(FindError):
    pass


@dataclass(frozen=True)
class FindQuery:
    """Conversations that started in ``[start, end)``, narrowed by every filter given."""

    start: datetime
    end: datetime
    agent: str | None = None
    queue: str | None = None
    address: str | None = None
    conversation_id: str | None = None
    state: str | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise FindError("--from and --to need a time zone (the partition zone is applied to dates)")
        if self.end <= self.start:
            raise FindError(f"--to ({self.end.isoformat()}) must be after --from ({self.start.isoformat()})")
        for option, value in (
            ("--agent", self.agent),
            ("--queue", self.queue),
            ("--address", self.address),
            ("--conversation", self.conversation_id),
        ):
            if value is not None and not value.strip():
                raise FindError(f"{option} is empty: give a value or leave the option out")
        if self.state is not None and self.state not in {s.value for s in State}:
            states = ", ".join(sorted(s.value for s in State))
            raise FindError(f"--state {self.state!r} is not a state: use one of {states}")
        if self.address is not None and self.address_key is None:
            raise FindError(
                "--address is neither a phone number (at least 5 digits, e.g. +15550001111) nor an e-mail "
                "address"
            )

    @property
    def address_key(self) -> str | None:
        if self.address is None:
            return None
        return phone_key(self.address) or email_key(self.address)

    def days(self, zone: tzinfo) -> list[date]:
        """The local days (partitions) the range touches; ``FindError`` past ``MAX_DAYS``."""
        first = self.start.astimezone(zone).date()
        last = (self.end - timedelta(microseconds=1)).astimezone(zone).date()
        count = (last - first).days + 1
        if count > MAX_DAYS:
            raise FindError(f"--from/--to span {count} days; query at most {MAX_DAYS} at a time")
        return [first + timedelta(days=n) for n in range(count)]


@dataclass
class FindResult:
    rows: list[dict] = field(default_factory=list)
    manifests_read: list[str] = field(default_factory=list)  # keys read, in day order
    missing_days: list[date] = field(default_factory=list)  # no manifest: not archived (yet)
    unreadable: list[str] = field(default_factory=list)  # "key: reason"


def find_recordings(manifests: DocumentStore, query: FindQuery, *, zone: tzinfo) -> FindResult:
    duckdb = _duckdb()
    result = FindResult()
    tables = list(_day_tables(manifests, query.days(zone), result))
    if not tables:
        return result
    days = pa.concat_tables(tables, promote_options="permissive")
    if query.address_key is not None:  # normalised once, in Python, as an erasure matches (subjects.py)
        days = days.append_column("address_keys", _address_keys(days["participant_addresses"]))
    else:
        days = days.append_column("address_keys", pa.nulls(days.num_rows, pa.list_(pa.string())))
    connection = duckdb.connect()
    try:
        connection.execute("SET TimeZone = 'UTC'")  # timestamps come back in UTC, whatever the machine's zone
        connection.register("manifest", days)
        relation = connection.execute(_SQL, _parameters(query))
        names = [d[0] for d in relation.description]
        result.rows = [dict(zip(names, row, strict=True)) for row in relation.fetchall()]
    finally:
        connection.close()
    return result


def _day_tables(manifests: DocumentStore, days: list[date], result: FindResult) -> Iterator[pa.Table]:
    for day in days:
        key = manifest_key(day=day)
        try:
            body = manifests.get_bytes(key)
            if body is None:
                result.missing_days.append(day)
                continue
            table = from_parquet_bytes(body)
            if "state" not in table.column_names or "conversation_start" not in table.column_names:
                raise ValueError("it has no state or conversation_start column: not a manifest")
        except (ArchiveError, ValueError, OSError, pa.ArrowException) as error:
            result.unreadable.append(f"{key}: {type(error).__name__}: {error}"[:300])
            continue
        result.manifests_read.append(key)
        yield _with_optional_columns(table).append_column(
            "day", pa.array([day] * table.num_rows, pa.date32())
        )


def _with_optional_columns(table: pa.Table) -> pa.Table:
    for name in _OPTIONAL_LISTS:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, pa.list_(pa.string())))
    return table


def _address_keys(addresses: pa.ChunkedArray) -> pa.Array:
    keys = [[phone_key(a) or email_key(a) for a in row] if row else None for row in addresses.to_pylist()]
    return pa.array(keys, pa.list_(pa.string()))


def _parameters(query: FindQuery) -> dict:
    return {
        "start": query.start,
        "end": query.end,
        "agent": query.agent.strip().lower() if query.agent else None,
        "queue": query.queue.strip().lower() if query.queue else None,
        "address": query.address_key,
        "cid": query.conversation_id,
        "state": query.state,
    }


def _lowered(column: str) -> str:
    return f"list_transform(coalesce({column}, []), lambda x: lower(x))"


# Ids match exactly (lower-cased like the names: Genesys ids are lower-case UUIDs); names and e-mails
# case-insensitively; addresses by their normalised key.
_SQL = f"""
SELECT {", ".join(SHOWN)}
FROM manifest
WHERE conversation_start >= $start AND conversation_start < $end
  AND ($agent IS NULL OR list_contains({_lowered("agent_ids")}, $agent)
       OR list_contains({_lowered("agent_names")}, $agent) OR list_contains({_lowered("agent_emails")}, $agent))
  AND ($queue IS NULL OR list_contains({_lowered("queue_ids")}, $queue)
       OR list_contains({_lowered("queue_names")}, $queue))
  AND ($address IS NULL OR list_contains(coalesce(address_keys, []), $address))
  AND ($cid IS NULL OR conversation_id = $cid)
  AND ($state IS NULL OR state = $state)
ORDER BY conversation_start, conversation_id, recording_id
"""


def _duckdb():
    try:
        import duckdb
    except ImportError:
        raise FindDependencyError(
            "recording-assets find needs DuckDB: pip install 'recording-assets[find]'"
        ) from None
    return duckdb
