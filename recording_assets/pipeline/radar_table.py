"""The expiry radar's findings as a table: one row per recording Genesys deletes within the horizon that the
archive does not hold, written each radar run under ``radar/date=YYYY-MM-DD/`` (the radar run's UTC date), so
what was at risk on a given date stays readable after the day is archived and the check turns green."""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from recording_assets.pipeline.radar import RadarReport
from recording_assets.pipeline.tables import TS, Column, Table, to_table

RADAR_TABLE = Table(
    "expiry_radar",
    "One row per recording Genesys deletes within the radar's horizon that the archive did not hold when "
    "the radar looked; written by each radar run, dated by that run (UTC).",
    "radar/date=2026-11-20/at_risk.parquet",
    (
        Column("conversation_id", pa.string(), "Genesys conversation id."),
        Column("recording_id", pa.string(), "Genesys recording id."),
        Column(
            "archive_day",
            pa.date32(),
            "The day whose archive run holds it: the day whose conversations table names the conversation, "
            "else the local day of its creation (or of its deletion when Genesys gave no creation time).",
        ),
        Column("delete_date", TS, "When Genesys deletes it (`deleteDate` of the retention query)."),
        Column("archive_date", TS, "When Genesys moves it to archive storage (`archiveDate`), if set."),
        Column("creation_time", TS, "When Genesys created it (`creationTime`), if given."),
        Column("horizon_days", pa.int32(), "The radar's horizon (`expiry_radar_days`) when it looked."),
    ),
)


def radar_key(*, day: date) -> str:
    return f"radar/date={day.isoformat()}/at_risk.parquet"


def radar_table(report: RadarReport) -> pa.Table:
    rows = [
        {
            "conversation_id": e.conversation_id,
            "recording_id": e.recording_id,
            "archive_day": filed if filed != date.min else None,
            "delete_date": e.delete_date,
            "archive_date": e.archive_date,
            "creation_time": e.creation_time,
            "horizon_days": report.horizon_days,
        }
        for filed, entries in report.at_risk.items()
        for e in entries
    ]
    return to_table(rows, RADAR_TABLE.schema)
