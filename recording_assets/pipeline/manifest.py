"""The day's manifest: one row per known recording, joining outcomes with conversation metadata.

Rows describe the archive, not the run, so a re-run yields the same rows: an object found from an
earlier run is ``archived`` with its original ``exported_at`` and ``run_id`` (read back from the
object's metadata); only ``run_outcome`` and ``manifest_run_id`` say what this run did. Every row whose
recording had a bad download points at its one evidence object (``quarantine_uri``, ``evidence.py``),
archived or not, so nothing under ``quarantine/`` is left that no row names.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from recording_assets.pipeline.states import IN_ARCHIVE, State
from recording_assets.pipeline.tables import MANIFEST

_MEDIA_BY_TYPE = {"audio": "audio", "video": "screen"}
_MEDIA_BY_CONTAINER = {"json": "chat", "zip": "message", "eml": "email"}


def media_type_of(content_type: str | None, container: str | None) -> str | None:
    if container in _MEDIA_BY_CONTAINER:
        return _MEDIA_BY_CONTAINER[container]
    if content_type:
        return _MEDIA_BY_TYPE.get(content_type.split("/", 1)[0].strip().lower())
    return None


class Columns(Protocol):
    """A table to read column by column: a ``pa.Table``, or a stored one decoded a column at a time
    (``table_io.ParquetColumns``)."""

    @property
    def num_rows(self) -> int: ...

    def column(self, name: str) -> pa.ChunkedArray: ...


# Rows built at a time: a 100,000-recording day is never held whole as a manifest (70 MB in Arrow), only
# as its Parquet document (11 MB) and one part; a day of up to this many recordings is one part.
PART_ROWS = 25_000


def manifest_table(
    metadata: Columns, outcomes: Columns, *, manifest_run_id: str, annotations: Mapping | None = None
) -> pa.Table:
    """The whole manifest at once (``manifest_parts`` joined): for a few rows, or a test."""
    return pa.concat_tables(
        list(manifest_parts(metadata, outcomes, manifest_run_id=manifest_run_id, annotations=annotations))
    )


def manifest_parts(
    metadata: Columns,
    outcomes: Columns,
    *,
    manifest_run_id: str,
    annotations: Mapping | None = None,
    rows: int = PART_ROWS,
) -> Iterator[pa.Table]:
    """Outcomes joined with their conversation's metadata, column by column in Arrow (no row dicts), in
    parts of ``rows`` rows, in manifest order (at least one part, empty for an empty day). ``annotations``:
    (conversation, recording) -> annotations, when the ``annotations`` setting is on."""
    by_key = [("conversation_id", "ascending"), ("recording_id", "ascending")]
    keys = pa.table({name: outcomes.column(name) for name, _ in by_key})
    order = pc.sort_indices(keys, sort_keys=by_key)
    del keys
    conversations = metadata.column("conversation_id")
    for start in range(0, max(len(order), 1), rows):
        yield _part(
            metadata, outcomes, order.slice(start, rows), conversations, manifest_run_id, annotations or {}
        )


def _part(
    metadata: Columns,
    outcomes: Columns,
    order: pa.Array,
    conversations: pa.ChunkedArray,
    manifest_run_id: str,
    annotations: Mapping,
) -> pa.Table:
    """The manifest rows of the outcomes at ``order``. Each input column is read, put in order and let
    go of as it is used, so neither input is held whole beside the part when the inputs are read a
    column at a time (``ParquetColumns``), and a column replaced by if_else is dropped at once."""

    def sorted_column(name: str) -> pa.ChunkedArray:
        return outcomes.column(name).take(order)

    kept = {name: sorted_column(name) for name in _KEPT_AS_IS}
    state = sorted_column("state")
    in_archive = pc.is_in(state, value_set=pa.array(IN_ARCHIVE))
    # Each outcome's conversation row (null where the metadata does not hold it); list columns cannot be
    # the payload of an Arrow join, so the rows are taken by index instead.
    found = pc.index_in(kept["conversation_id"], value_set=conversations)

    def of_conversation(name: str) -> pa.ChunkedArray:
        return metadata.column(name).take(found)

    def archived_only(name: str) -> pa.ChunkedArray:
        column = sorted_column(name)
        return pc.if_else(in_archive, column, pa.scalar(None, column.type))

    addresses = of_conversation("participant_addresses")
    columns = {
        **kept,
        "state": pc.if_else(in_archive, State.ARCHIVED.value, state),
        "reason": pc.if_else(in_archive, pa.scalar(None, pa.string()), sorted_column("reason")),
        "sha256": archived_only("sha256"),
        "size_bytes": archived_only("size_bytes"),
        "storage_uri": archived_only("storage_uri"),
        "quarantine_uri": sorted_column("quarantine_uri"),  # nulls from an older table (from_parquet_bytes)
        "media_type": _media_types(kept["content_type"], kept["container"]),
        **{name: of_conversation(name) for name in _FROM_CONVERSATION if name != "participant_addresses"},
        # An erased recording's row keeps no address of its participants: the erasure was of that person.
        "participant_addresses": pc.if_else(
            pc.equal(state, State.ERASED.value), pa.scalar(None, addresses.type), addresses
        ),
        "exported_at": archived_only("archived_at"),
        "run_id": archived_only("archived_run_id"),
        "run_outcome": state,
        "manifest_run_id": pa.repeat(pa.scalar(manifest_run_id, pa.string()), len(order)),
        "annotations": _annotations(kept, annotations),
        "retain_until": archived_only("retain_until"),  # nulls from an older table (from_parquet_bytes)
        "lock_mode": archived_only("lock_mode"),
        **{name: sorted_column(name) for name in _DESCRIBING},  # nulls from an older table, as above
        "recording_duration_ms": _milliseconds_between(
            sorted_column("recording_start"), sorted_column("recording_end")
        ),
    }
    return pa.table({name: columns[name] for name in MANIFEST.names}, schema=MANIFEST)


_FROM_CONVERSATION = (
    "conversation_start",
    "conversation_end",
    "duration_ms",
    "agent_ids",
    "queue_ids",
    "wrap_up_codes",
    "participant_addresses",  # personal data (PII-tagged): what an erasure matches against
    "division_ids",
    "agent_names",
    "agent_emails",  # personal data (PII-tagged) of the agents
    "queue_names",
    "wrap_up_names",
    "division_names",
    "originating_direction",
    "media_types",
)
# The recording's own description, where a run looked it up (``Ledger.describe``).
_DESCRIBING = ("media_subtype", "session_id", "recording_start", "recording_end")
_KEPT_AS_IS = ("conversation_id", "recording_id", "content_type", "container")
# What the step's counts and checks read of the written manifest (``state_counts`` ... ``missing_objects``,
# and the day's page of recordings not archived): its other columns are not read back.
CHECKED_COLUMNS = (
    "conversation_id",
    "recording_id",
    "state",
    "reason",
    "quarantine_uri",
    "size_bytes",
    "storage_uri",
)


def _milliseconds_between(start: pa.ChunkedArray, end: pa.ChunkedArray) -> pa.ChunkedArray:
    """``end - start`` in whole milliseconds; null where either is."""
    return pc.cast(pc.milliseconds_between(start, end), pa.int64())


def _annotations(keys: Mapping[str, pa.ChunkedArray], annotations: Mapping) -> pa.Array:
    kind = MANIFEST.field("annotations").type
    rows = len(keys["conversation_id"])
    if not annotations:
        return pa.nulls(rows, kind)
    pairs = zip(keys["conversation_id"].to_pylist(), keys["recording_id"].to_pylist(), strict=True)
    return pa.array([annotations.get(pair) for pair in pairs], kind)


def _media_types(content_types: pa.ChunkedArray, containers: pa.ChunkedArray) -> pa.Array:
    """``media_type_of`` each (content type, container) pair: a day holds a handful of pairs, so each is
    worked out once and the rows take theirs by index (no Python list of 100,000 strings)."""
    blank = pa.scalar("", pa.string())
    pairs = pc.binary_join_element_wise(
        pc.fill_null(content_types, blank), pc.fill_null(containers, blank), _PAIR_SEPARATOR
    ).combine_chunks()
    encoded = pairs.dictionary_encode()
    media = [
        media_type_of(*(part or None for part in pair.rsplit(_PAIR_SEPARATOR, 1)))
        for pair in encoded.dictionary.to_pylist()
    ]
    return pa.array(media, pa.string()).take(encoded.indices)


# A container is one of the sniffer's words (archive/sniff.py), never holding it, so the last separator is
# the pair's, whatever the content type (an API's answer) holds.
_PAIR_SEPARATOR = "\x1f"


# What the manifest step counts and checks, in Arrow: a 100,000-recording day becomes no row dicts.


def state_counts(manifest: pa.Table) -> dict[str, int]:
    """Rows per ``state``, sorted by state."""
    counted = pc.value_counts(manifest["state"]).to_pylist()
    return dict(sorted((entry["values"], entry["counts"]) for entry in counted))


def archived_bytes(manifest: pa.Table) -> int:
    archived = pc.equal(manifest["state"], State.ARCHIVED.value)
    return pc.sum(manifest["size_bytes"].filter(archived)).as_py() or 0


def duplicate_keys(manifest: pa.Table) -> list[tuple[str, str]]:
    """(conversation, recording) pairs that have more than one row, sorted. Found by sorting the keys and
    comparing neighbours: Arrow's hash group-by held ~58 MB for 100,000 rows, this a few MB."""
    names = ["conversation_id", "recording_id"]
    keys = manifest.select(names)
    keys = keys.take(pc.sort_indices(keys, sort_keys=[(name, "ascending") for name in names]))
    if keys.num_rows < 2:
        return []
    after, before = keys.slice(1), keys.slice(0, keys.num_rows - 1)
    same = pc.and_(*[pc.fill_null(pc.equal(after[name], before[name]), False) for name in names])
    repeated = after.filter(same)
    return sorted(
        set(zip(repeated["conversation_id"].to_pylist(), repeated["recording_id"].to_pylist(), strict=True))
    )


def missing_objects(manifest: pa.Table, listing: Iterable[str], *, chunk: int = 10_000) -> list[str | None]:
    """``storage_uri`` of every ``archived`` row whose object is not in ``listing`` (URIs, e.g. an S3
    listing of 100,000 keys). The listing is matched ``chunk`` URIs at a time, so neither it nor a hash
    of all of it is ever held (one ``is_in`` over all of it took ~50 MB at 100,000 recordings)."""
    uris = manifest.filter(pc.equal(manifest["state"], State.ARCHIVED.value))["storage_uri"]
    present = pa.repeat(False, len(uris))
    for found in _chunks(listing, chunk):
        present = pc.or_(present, pc.is_in(uris, value_set=pa.array(found, pa.string())))
    return uris.filter(pc.invert(present)).to_pylist()


def _chunks(values: Iterable[str], size: int) -> Iterable[list[str]]:
    chunk: list[str] = []
    for value in values:
        chunk.append(value)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
