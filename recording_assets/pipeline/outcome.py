"""What a day's run says about each recording (``Outcome``, one row of the outcomes table) and in sum.

``Outcome`` states the columns of ``tables.OUTCOMES`` as typed fields; the check below makes a column
added to one and not the other an import error, not a silently missing or unknown column. The previous
run's rows are read back once, into ``Outcome`` values (``outcomes_from_rows``), before the day's run
starts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import pyarrow as pa

from recording_assets.pipeline.states import State
from recording_assets.pipeline.tables import OUTCOMES, table_of

Key = tuple[str, str]  # (conversation_id, recording_id)

# The one outcomes column that is not the recording's: which run wrote the row (given to ``row``).
ROW_RUN_ID = "run_id"


@dataclass(slots=True)  # a day holds one per recording: no per-instance __dict__
class Outcome:
    conversation_id: str
    recording_id: str
    state: State
    reason: str | None = None
    sha256: str | None = None
    size_bytes: int | None = None
    content_type: str | None = None
    container: str | None = None
    storage_uri: str | None = None
    quarantine_uri: str | None = None
    file_state: str | None = None
    attempts: int = 0
    archived_at: datetime | None = None
    archived_run_id: str | None = None
    checksum_verified_by: str | None = None
    quarantine_repeats: int | None = None
    restore_until: datetime | None = None  # the archiveDate a restoration asked for (state restoring)
    retain_until: datetime | None = None  # the object's Object Lock retention (ObjectLockPolicy), if any
    lock_mode: str | None = None
    # What its recordingmetadata item said of it, where a run looked it up (``Ledger.describe``).
    media_subtype: str | None = None
    session_id: str | None = None
    recording_start: datetime | None = None
    recording_end: datetime | None = None

    @property
    def key(self) -> Key:
        return (self.conversation_id, self.recording_id)

    @classmethod
    def from_row(cls, row: Mapping) -> Outcome:
        """The outcome an earlier run wrote as ``row`` (of ``OUTCOMES``; its ``run_id`` is the writer's, not
        the recording's). Absent columns are None (``attempts`` 0); a ``restore_until`` that is not a time
        is read as one from its text (None when it is not one)."""
        values: dict[str, Any] = {name: row.get(name) for name in _FIELDS}
        values["state"] = State(row["state"])
        values["attempts"] = row.get("attempts") or 0
        until = values["restore_until"]
        if until is not None and not isinstance(until, datetime):
            values["restore_until"] = parse_time(str(until))
        return cls(**values)

    def row(self, run_id: str) -> dict:
        """This outcome as a row of ``OUTCOMES``, written by run ``run_id``."""
        return dict(zip(OUTCOMES.names, self.values(run_id), strict=True))

    def values(self, run_id: str) -> tuple:
        """This outcome's row of ``OUTCOMES`` as values in column order, written by run ``run_id``."""
        return tuple(self.state.value if name == "state" else getattr(self, name) for name in _FIELDS) + (
            run_id,
        )


def outcomes_from_rows(rows: Iterable[Mapping]) -> list[Outcome]:
    """The outcomes an earlier run wrote (rows of ``OUTCOMES``), typed; a row without a recording id is
    not a recording's and is left out."""
    return [Outcome.from_row(row) for row in rows if row.get("recording_id")]


def outcomes_table(outcomes: Iterable[Outcome], run_id: str) -> pa.Table:
    """The outcomes table, built in record batches (no row dicts)."""
    return table_of(outcomes, OUTCOMES, lambda outcome: outcome.values(run_id))


@dataclass
class ArchiveReport:
    outcomes: list[Outcome] = field(default_factory=list)
    batch_rounds: int = 0
    lookups: int = 0
    uploads: int = 0
    uploaded_bytes: int = 0
    downloads: int = 0
    url_refreshes: int = 0
    quarantined_attempts: int = 0
    restorations: int = 0  # restore requests this run made (restore_archived)
    annotation_requests: int = 0  # annotations look-ups this run made (annotations)
    protection: dict = field(default_factory=dict)  # what deletion protection did (protect_until_archived)
    conversations: list[dict] = field(default_factory=list)  # rows of the conversations table
    stray_keys: list[str] = field(default_factory=list)  # under the day's prefix, not a recording's: skipped
    sidecars_written: int = 0  # by the day itself, beside its downloads (``sidecar_feed.py``)


def parse_time(value: str | None) -> datetime | None:
    """An ISO-8601 time from object metadata; None when absent or not a time (metadata is not trusted)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def check_row_fields(row_type: type, schema: pa.Schema, *, added: tuple[str, ...] = ()) -> None:
    """Raise ``TypeError`` unless ``row_type``'s fields, then ``added``, are ``schema``'s columns in order."""
    declared = [f.name for f in fields(row_type)] + list(added)
    if declared != schema.names:
        name = row_type.__name__
        raise TypeError(f"{name} fields {declared} differ from the table's columns {schema.names}")


check_row_fields(Outcome, OUTCOMES, added=(ROW_RUN_ID,))
_FIELDS = tuple(f.name for f in fields(Outcome))
