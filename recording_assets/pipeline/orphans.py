"""The day's orphan recordings: recordings Genesys holds without a conversation (an Edge uploaded them, the
conversation never reached the cloud), from ``GET /api/v2/orphanrecordings``. They are invisible to the
day's discovery, so this table is where they show; one row per orphan created in the local day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pyarrow as pa

from recording_assets.archive.keys import validate_prefix
from recording_assets.genesys.retention import Orphan
from recording_assets.pipeline.tables import TS, Column, Table
from recording_assets.pipeline.window import DayWindow

ORPHANS_TABLE = Table(
    "orphans",
    "One row per orphan recording (no conversation Genesys could attach it to) created in the local day.",
    "orphans/date=2026-11-20/orphans.parquet",
    (
        Column("orphan_id", pa.string(), "Genesys orphan recording id."),
        Column("created_time", TS, "When Genesys created the orphan; it decides the day."),
        Column("media_type", pa.string(), "`CALL`, `CHAT`, `EMAIL` or `SCREEN`."),
        Column("media_size_bytes", pa.int64(), "Size of the media Genesys holds."),
        Column("file_state", pa.string(), "Genesys `fileState` of the orphan."),
        Column("orphan_status", pa.string(), "`NO_CONVERSATION`, `UNKNOWN_CONVERSATION` ..."),
        Column("provider_type", pa.string(), "Where it came from: `EDGE`, `CHAT`, `SCREEN_RECORDING` ..."),
    ),
)
ORPHANS = ORPHANS_TABLE.schema


def orphans_key(*, day: date, prefix: str = "") -> str:
    return f"{validate_prefix(prefix)}orphans/date={day.isoformat()}/orphans.parquet"


def orphan_rows(orphans: Iterable[Orphan], window: DayWindow) -> list[dict]:
    rows = [
        {
            "orphan_id": o.orphan_id,
            "created_time": o.created_time,
            "media_type": o.media_type,
            "media_size_bytes": o.media_size_bytes,
            "file_state": o.file_state,
            "orphan_status": o.orphan_status,
            "provider_type": o.provider_type,
        }
        for o in orphans
        if o.created_time is not None and window.start <= o.created_time < window.end
    ]
    return sorted(rows, key=lambda r: (r["created_time"], r["orphan_id"]))
