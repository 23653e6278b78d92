"""The per-day tables: one column list each, from which the Arrow schemas and ``docs/tables.md`` derive.

- metadata: one row per conversation that started that day (what is known before download);
- outcomes: one row per recording the run touched, with its state (the run's ledger);
- conversations: one row per conversation of the day, whether it is settled (the re-run's plan);
- manifest: one row per known recording, what the archive holds and proves (sha256, size, where);
- audit: one row per attempt event (started / finished / failed ...);
- names: one row per user, queue, wrap-up code or division id named (one table per kind, every day's).

A column used by several tables is declared once and listed by reference; where its meaning differs
in one table, that table says so with ``described``. ``docs/tables.md`` is generated from these and the
radar's and orphans' tables (``tables_doc.py``).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from recording_assets.archive.keys import (
    audit_key,
    conversations_key,
    manifest_key,
    metadata_key,
    outcomes_key,
)

T = TypeVar("T")
TS = pa.timestamp("us", tz="UTC")
STRINGS = pa.list_(pa.string())
IN_ARCHIVE_ONLY = " Null unless the recording is in the archive."
PII_METADATA = {b"pii": b"true"}  # on a field that holds personal data (GDPR): readers must treat it so


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    doc: str
    pii: bool = False  # personal data: tagged in the field's metadata and the docs

    def described(self, doc: str) -> Column:
        """The same column (name and type), with what it means in one table."""
        return replace(self, doc=doc)

    @property
    def field(self) -> pa.Field:
        return pa.field(self.name, self.type, metadata=PII_METADATA if self.pii else None)


@dataclass(frozen=True)
class Table:
    name: str
    doc: str
    example_key: str  # where one day's table is written, for the docs
    columns: tuple[Column, ...]

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([column.field for column in self.columns])


# Shared columns.
CONVERSATION_ID = Column("conversation_id", pa.string(), "Genesys conversation id.")
RECORDING_ID = Column("recording_id", pa.string(), "Genesys recording id (one per recorded session).")
CONVERSATION_START = Column("conversation_start", TS, "When the conversation started; it decides the day.")
CONVERSATION_END = Column("conversation_end", TS, "When the conversation ended.")
DURATION_MS = Column("duration_ms", pa.int64(), "Conversation end minus start, in milliseconds.")
AGENT_IDS = Column("agent_ids", STRINGS, "Users (agents) who took part.")
QUEUE_IDS = Column("queue_ids", STRINGS, "Queues the conversation passed through.")
WRAP_UP_CODES = Column("wrap_up_codes", STRINGS, "Wrap-up codes the agents chose.")
STATE = Column("state", pa.string(), "End state of the recording in this run (`states.State`).")
REASON = Column("reason", pa.string(), "Why the recording is not archived, as free text (never parsed).")
SHA256 = Column("sha256", pa.string(), "Hex SHA-256 of the bytes, computed while streaming the download.")
SIZE_BYTES = Column("size_bytes", pa.int64(), "Size of the object in bytes.")
CONTENT_TYPE = Column("content_type", pa.string(), "Content type Genesys claims for the media.")
CONTAINER = Column("container", pa.string(), "Container the bytes really are, sniffed (`wav`, `ogg` ...).")
STORAGE_URI = Column("storage_uri", pa.string(), "`s3://` URI of the object under its final key.")
RUN_ID = Column("run_id", pa.string(), "Dagster run id of the run that wrote the row.")
PARTICIPANT_ADDRESSES = Column(
    "participant_addresses",
    STRINGS,
    "Addresses of the conversation's participants as analytics gives them per session (`ani`, `dnis`, "
    "`addressFrom`, `addressTo`): phone numbers, e-mail and message addresses. Personal data: what an "
    "erasure matches a data subject against; null in tables written before the column existed.",
    pii=True,
)
QUARANTINE_URI = Column(
    "quarantine_uri",
    pa.string(),
    "`s3://` URI of the evidence under `quarantine/` of the recording's first download that was not the "
    "container claimed: its first `RECORDING_QUARANTINE_EVIDENCE_KIB` KiB, metadata `download-size` and "
    "`download-sha256` of all of it. Kept when a later download archived it; null when none was bad.",
)
RETAIN_UNTIL = Column(
    "retain_until",
    TS,
    "Object Lock retain-until date the object was written with "
    "(conversation start + `RECORDING_OBJECT_LOCK_DAYS`); null when not locked.",
)
ORIGINATING_DIRECTION = Column("originating_direction", pa.string(), "`inbound` or `outbound`.")
MEDIA_TYPES = Column("media_types", STRINGS, "Media of the conversation (`voice`, `chat`, `email` ...).")
DIVISION_IDS = Column("division_ids", STRINGS, "Divisions the conversation belongs to.")
_ALIGNED = " Aligned index by index with `{}`: null where that id has no name (the run's metadata says why)."
AGENT_NAMES = Column(
    "agent_names", STRINGS, "Names of the agents, as Genesys' users list them." + _ALIGNED.format("agent_ids")
)
AGENT_EMAILS = Column(
    "agent_emails",
    STRINGS,
    "E-mail addresses of the agents, as Genesys' users list them." + _ALIGNED.format("agent_ids"),
    pii=True,
)
QUEUE_NAMES = Column("queue_names", STRINGS, "Names of the queues." + _ALIGNED.format("queue_ids"))
WRAP_UP_NAMES = Column(
    "wrap_up_names", STRINGS, "Names of the wrap-up codes." + _ALIGNED.format("wrap_up_codes")
)
DIVISION_NAMES = Column(
    "division_names", STRINGS, "Names of the divisions." + _ALIGNED.format("division_ids")
)
NAME_COLUMNS = (AGENT_NAMES, AGENT_EMAILS, QUEUE_NAMES, WRAP_UP_NAMES, DIVISION_NAMES)
LOCK_MODE = Column(
    "lock_mode", pa.string(), "Its Object Lock mode, `GOVERNANCE` or `COMPLIANCE`; null when none."
)
SESSION = pa.struct(
    [
        ("session_id", pa.string()),
        ("media_type", pa.string()),
        ("message_type", pa.string()),
        ("direction", pa.string()),
        ("session_start", TS),
        ("session_end", TS),
        ("duration_ms", pa.int64()),
        ("recorded", pa.bool_()),
    ]
)
SESSIONS = Column(
    "sessions",
    pa.list_(SESSION),
    "Every session of the conversation's participants, as analytics gives it: `session_id`, `media_type`, "
    "`message_type` (messaging's channel: `sms`, `whatsapp` ...), `direction`, its span `session_start` (first "
    "`segmentStart`) to `session_end` (last `segmentEnd`, null while a segment is open), `duration_ms`, and "
    "`recorded` (its `recording` flag). A value that fails its check is null; null in tables written "
    "before the column existed. Kept per conversation, here only: a manifest row finds its recording's "
    "session by `conversation_id` and `session_id`.",
)
# The recording's own description, from its `recordingmetadata` item. The batch route, which archives most
# recordings, gives none of it; a look-up is made only where the batch leaves a question (no request per
# conversation for a description), so these are null unless this run or an earlier one looked it up.
_LOOKED_UP = " Null unless a run looked the recording up (`recordingmetadata`); kept across re-runs."
MEDIA_SUBTYPE = Column(
    "media_subtype",
    pa.string(),
    "The recording's `mediaSubtype` (`Trunk`, `Station`, `Consult`, `Screen`, `Snippet`)." + _LOOKED_UP,
)
SESSION_ID = Column(
    "session_id",
    pa.string(),
    "The analytics session the recording is of (`sessionId`): its entry in the metadata table's `sessions`."
    + _LOOKED_UP,
)
RECORDING_START = Column(
    "recording_start",
    TS,
    "The recording's own `startTime` (the SDK gives it for screen recordings)." + _LOOKED_UP,
)
RECORDING_END = Column("recording_end", TS, "The recording's own `endTime`." + _LOOKED_UP)
RECORDING_COLUMNS = (MEDIA_SUBTYPE, SESSION_ID, RECORDING_START, RECORDING_END)

METADATA_TABLE = Table(
    "recording_metadata",
    "One row per ended conversation that started in the local day, as analytics describes it, and one per "
    "conversation discovery rejected (only its id and `invalid_reason`).",
    metadata_key(day=date(2026, 11, 20)),
    (
        CONVERSATION_ID,
        CONVERSATION_START,
        CONVERSATION_END,
        DURATION_MS,
        ORIGINATING_DIRECTION,
        MEDIA_TYPES,
        AGENT_IDS,
        QUEUE_IDS,
        WRAP_UP_CODES,
        DIVISION_IDS,
        Column("recorded_sessions", pa.int32(), "Recordings analytics counts (an estimate for look-ups)."),
        Column(
            "invalid_reason",
            pa.string(),
            "Fields analytics sent that failed their check and were dropped (field and problem), or why the "
            "conversation was rejected: its recordings are `failed`, never archived. Null when all was fine.",
        ),
        PARTICIPANT_ADDRESSES,
        *NAME_COLUMNS,  # added after the addresses
        SESSIONS,  # added after the names
    ),
)

OUTCOMES_TABLE = Table(
    "outcomes",
    "One row per recording the run touched: the run's ledger, read back by the next run and the manifest.",
    outcomes_key(day=date(2026, 11, 20)),
    (
        CONVERSATION_ID,
        RECORDING_ID,
        STATE,
        REASON,
        SHA256,
        SIZE_BYTES,
        CONTENT_TYPE,
        CONTAINER,
        STORAGE_URI,
        QUARANTINE_URI,
        Column("file_state", pa.string(), "Genesys `fileState` when it decided the state (`ARCHIVED` ...)."),
        Column("attempts", pa.int32(), "Download attempts this run made."),
        Column("archived_at", TS, "When the object was stored (from its metadata when an earlier run did)."),
        Column("archived_run_id", pa.string(), "Run id that stored the object."),
        Column("checksum_verified_by", pa.string(), "Proof of the bytes: `s3-checksum`, `read-back` ..."),
        Column(
            "quarantine_repeats",
            pa.int32(),
            "Downloads, this run and earlier ones, that gave these same bad bytes (same `sha256`). From 2 the "
            "recording is not downloaded again unless the `force_quarantined` setting asks for it.",
        ),
        Column("restore_until", TS, "For `restoring`: the `archiveDate` the restoration asked Genesys for."),
        RETAIN_UNTIL,
        LOCK_MODE,
        *RECORDING_COLUMNS,
        RUN_ID,
    ),
)

CONVERSATIONS_TABLE = Table(
    "conversations",
    "One row per conversation of the day the run planned for: whether it is settled (its batch answered "
    "and every recording reached a final state), read back by the next run, which spends no request on a "
    "settled conversation unless analytics now flags more recorded sessions than when it settled.",
    conversations_key(day=date(2026, 11, 20)),
    (
        CONVERSATION_ID,
        Column(
            "recorded_sessions",
            pa.int32(),
            "Sessions analytics flagged as recorded when the row was written.",
        ),
        Column("recordings", pa.int32(), "Recordings the run knows of in the conversation."),
        Column("settled", pa.bool_(), "Batch answered and every recording final: no request next run."),
        RUN_ID,
    ),
)

MANIFEST_TABLE = Table(
    "manifest",
    "One row per known recording: what the archive holds and proves. A re-run yields the same rows; only "
    "`run_outcome` and `manifest_run_id` say what the latest run did.",
    manifest_key(day=date(2026, 11, 20)),
    (
        CONVERSATION_ID,
        RECORDING_ID,
        STATE.described("The archive's view: `archived` for anything in the archive, else the run's state."),
        REASON.described(REASON.doc + " Null for a recording in the archive."),
        SHA256.described(SHA256.doc + IN_ARCHIVE_ONLY),
        SIZE_BYTES.described(SIZE_BYTES.doc + IN_ARCHIVE_ONLY),
        CONTENT_TYPE,
        CONTAINER,
        STORAGE_URI.described(STORAGE_URI.doc + IN_ARCHIVE_ONLY),
        Column("media_type", pa.string(), "`audio`, `screen`, `chat`, `message` or `email`."),
        CONVERSATION_START,
        CONVERSATION_END,
        DURATION_MS,
        AGENT_IDS,
        QUEUE_IDS,
        WRAP_UP_CODES,
        Column("exported_at", TS, "When the object was stored (stable across re-runs)." + IN_ARCHIVE_ONLY),
        RUN_ID.described("Run id that archived the object (stable across re-runs)." + IN_ARCHIVE_ONLY),
        Column("run_outcome", pa.string(), "What the latest run did with the recording (`states.State`)."),
        Column("manifest_run_id", pa.string(), "Run id that wrote this manifest."),
        Column(
            "annotations",
            pa.list_(
                pa.struct(
                    [
                        ("reason", pa.string()),
                        ("type", pa.string()),
                        ("location_ms", pa.int64()),
                        ("duration_ms", pa.int64()),
                    ]
                )
            ),
            "Genesys annotations of the recording (`reason` Hold, SecurePause ...; where and how long, ms). "
            "Null unless the `annotations` setting is on.",
        ),
        QUARANTINE_URI,  # these last: added after manifests were written, so a positional reader is not misled
        RETAIN_UNTIL.described(RETAIN_UNTIL.doc + IN_ARCHIVE_ONLY),
        LOCK_MODE.described(LOCK_MODE.doc + IN_ARCHIVE_ONLY),
        PARTICIPANT_ADDRESSES,  # added after the Object Lock columns
        DIVISION_IDS,  # these last: added after the addresses
        *NAME_COLUMNS,
        ORIGINATING_DIRECTION,  # the conversation's, as analytics gives it (the metadata table's)
        MEDIA_TYPES,
        *RECORDING_COLUMNS,  # added after the media types
        Column(
            "recording_duration_ms",
            pa.int64(),
            "`recording_end` minus `recording_start`, in milliseconds; null unless both are known.",
        ),
    ),
)

AUDIT_TABLE = Table(
    "audit",
    "One row per event of a run (batch round, attempt started / finished / failed ...), flushed in parts "
    "while the run goes, so a killed run leaves its trail up to the last flush.",
    audit_key(day=date(2026, 11, 20), run_id="RUN", part=1),
    (
        Column("at", TS, "When the event happened."),
        RUN_ID,
        Column("launched_by", pa.string(), "Who started the run: `user:...`, `schedule:...`, `manual` ..."),
        Column("event", pa.string(), "`batch`, `started`, `finished`, `failed`, `expired` or `quarantined`."),
        CONVERSATION_ID,
        RECORDING_ID,
        Column("attempt", pa.int32(), "Which download attempt of the recording."),
        Column("latency_ms", pa.int64(), "Milliseconds since the attempt started."),
        Column("bytes", pa.int64(), "Bytes stored or quarantined."),
        SHA256,
        Column("http_status", pa.int32(), "HTTP status that decided the event, if one did."),
        Column("correlation_id", pa.string(), "Reserved for a Genesys correlation id; left null."),
        STATE.described("State the event left the recording in."),
        REASON.described("Why the attempt failed or was quarantined."),
    ),
)

NAMES_TABLE = Table(
    "names",
    "One row per user, queue, wrap-up code or division id a run asked Genesys to name: one table per kind "
    "(`users`, `queues`, `wrap_up_codes`, `divisions`), reused by every later run, which asks again only for "
    "ids it lacks, names older than 7 days (renames) and ids without a name older than a day.",
    "names/users.parquet",
    (
        Column("id", pa.string(), "The Genesys id."),
        Column("name", pa.string(), "Its name; null when Genesys gave none (`reason` says why)."),
        Column("email", pa.string(), "A user's e-mail address; null for the other kinds.", pii=True),
        Column(
            "state",
            pa.string(),
            "A user's state (`active`, `inactive`, `deleted`); null for the other kinds.",
        ),
        Column("reason", pa.string(), "Why the id has no name (not in the answer, an unusable name ...)."),
        Column("asked_at", TS, "When Genesys was asked."),
    ),
)

TABLES = (METADATA_TABLE, OUTCOMES_TABLE, CONVERSATIONS_TABLE, MANIFEST_TABLE, AUDIT_TABLE, NAMES_TABLE)
METADATA, OUTCOMES, CONVERSATIONS, MANIFEST, AUDIT, NAMES = (table.schema for table in TABLES)


TYPE_OF = {column.name: column.type for table in TABLES for column in table.columns}


def table_of(
    items: Iterable[T], schema: pa.Schema, values: Callable[[T], tuple], *, batch_rows: int = 8192
) -> pa.Table:
    """A table of ``schema`` from ``items``, ``values(item)`` giving one row in column order. Built in record
    batches of ``batch_rows``, so neither a list of row dicts nor a whole day of Python rows is held."""
    batches: list[pa.RecordBatch] = []
    rows: list[tuple] = []
    for item in items:
        rows.append(values(item))
        if len(rows) == batch_rows:
            batches.append(_record_batch(rows, schema))
            rows = []
    if rows or not batches:
        batches.append(_record_batch(rows, schema))
    return pa.Table.from_batches(batches, schema=schema)


def _record_batch(rows: list[tuple], schema: pa.Schema) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    arrays = [pa.array(column, type=f.type) for column, f in zip(columns, schema, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def to_table(rows: Iterable[Mapping], schema: pa.Schema) -> pa.Table:
    """Rows (dicts) to a table of exactly ``schema``; missing keys are nulls, unknown keys an error."""
    rows = list(rows)
    names = set(schema.names)
    for row in rows:
        extra = set(row) - names
        if extra:
            raise ValueError(f"unknown columns {sorted(extra)} for schema with {schema.names}")
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    return pa.table(columns, schema=schema)


def to_parquet_bytes(table: pa.Table) -> bytes:
    return parts_to_parquet_bytes([table], table.schema)


def parts_to_parquet_bytes(parts: Iterable[pa.Table], schema: pa.Schema) -> bytes:
    """One Parquet document of ``parts`` (each a row group or more, written as it comes, so only one part
    need exist at a time), with ``schema``'s metadata."""
    sink = io.BytesIO()
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        for part in parts:
            writer.write_table(part)
    return sink.getvalue()


def parquet_parts(data: bytes, columns: Sequence[str], *, rows: int) -> Iterator[pa.Table]:
    """``columns`` of a Parquet document, ``rows`` rows at a time: its wide columns are never all decoded."""
    for batch in pq.ParquetFile(io.BytesIO(data)).iter_batches(batch_size=rows, columns=list(columns)):
        yield pa.Table.from_batches([batch])


def from_parquet_bytes(data: bytes, columns: Sequence[str] | None = None) -> pa.Table:
    """The table, or only ``columns`` of it (the others are never decoded). A column of these tables that
    the file lacks (written before the column existed) reads as nulls of its one type (``TYPE_OF``)."""
    held = pq.read_schema(io.BytesIO(data)).names
    wanted = list(held if columns is None else columns)
    absent = [name for name in wanted if name not in held and name in TYPE_OF]
    table = pq.read_table(io.BytesIO(data), columns=[name for name in wanted if name not in absent])
    for name in absent:
        table = table.append_column(pa.field(name, TYPE_OF[name]), pa.nulls(table.num_rows, TYPE_OF[name]))
    return table.select(wanted)
