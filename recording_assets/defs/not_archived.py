"""The day's recordings that are not in the archive, as a table on the materialisation, so "which
recordings failed, and why?" is answered on the day's page instead of in a Parquet file.

``recording_audio`` shows its outcome rows, ``recording_manifest`` its manifest rows: conversation,
recording, state, reason and the evidence of a bad download (``quarantine_uri``, with a link a browser
opens). Failed and quarantined rows come first; at most ``SHOWN`` rows, and the count of the rest.
Every value is text the org sent or a run derived from it: cut to a bounded length, control characters
removed (``clean_text``).
"""

from __future__ import annotations

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from recording_assets.archive.links import ObjectLinks
from recording_assets.genesys.redact import clean_text
from recording_assets.pipeline.states import IN_ARCHIVE, State

SHOWN = 50
FIRST = (State.FAILED.value, State.QUARANTINED.value)  # what needs someone; the rest is Genesys' doing
SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("conversation_id", "string", description="Genesys conversation id."),
        dg.TableColumn("recording_id", "string", description="Genesys recording id."),
        dg.TableColumn("state", "string", description="Why it is not archived, in one word."),
        dg.TableColumn("reason", "string", description="What happened, as the run recorded it."),
        dg.TableColumn("evidence_uri", "string", description="The kept bad download (quarantine/), if any."),
        dg.TableColumn("evidence_link", "string", description="That evidence, as a link a browser opens."),
    ]
)


def not_archived_metadata(table: pa.Table, links: ObjectLinks) -> dict[str, dg.MetadataValue]:
    """``not_archived`` (the table), ``not_archived_count`` and ``not_archived_not_shown``."""
    outside = table.filter(pc.invert(pc.is_in(table["state"], value_set=pa.array(IN_ARCHIVE))))
    first = pc.is_in(outside["state"], value_set=pa.array(FIRST))
    ordered = pa.concat_tables([outside.filter(first), outside.filter(pc.invert(first))])
    shown = ordered.slice(0, SHOWN)
    columns = ["conversation_id", "recording_id", "state", "reason", "quarantine_uri"]
    records = [_record(row, links) for row in shown.select(columns).to_pylist()]
    return {
        "not_archived": dg.MetadataValue.table(records=records, schema=SCHEMA),
        "not_archived_count": dg.MetadataValue.int(outside.num_rows),
        "not_archived_not_shown": dg.MetadataValue.int(outside.num_rows - shown.num_rows),
    }


def _record(row: dict, links: ObjectLinks) -> dg.TableRecord:
    evidence = row["quarantine_uri"]
    return dg.TableRecord(
        {
            "conversation_id": clean_text(row["conversation_id"] or "", limit=100),
            "recording_id": clean_text(row["recording_id"] or "", limit=100),
            "state": clean_text(row["state"] or "", limit=40),
            "reason": clean_text(row["reason"] or "", limit=300),
            "evidence_uri": clean_text(evidence, limit=500) if evidence else None,
            "evidence_link": links.browser_url(evidence) if evidence else None,
        }
    )
