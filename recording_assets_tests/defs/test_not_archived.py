"""The day's non-archived recordings as a metadata table: what needs someone first, capped, the rest
counted, every value cleaned, evidence linked."""

import json

import dagster as dg

from recording_assets.archive.links import ObjectLinks
from recording_assets.defs.not_archived import SHOWN, not_archived_metadata
from recording_assets.pipeline.tables import MANIFEST_TABLE, OUTCOMES_TABLE, to_table

LINKS = ObjectLinks(endpoint_url="http://127.0.0.1:5055")
EVIDENCE = "s3://m/quarantine/date=2026-11-20/c-q/r-q-ab12.bin"


def _row(n: int, state: str, **more) -> dict:
    return {"conversation_id": f"c-{n}", "recording_id": f"r-{n}", "state": state, **more}


def test_failed_and_quarantined_come_first_with_reason_and_a_link_to_their_evidence():
    rows = [
        _row(1, "archived"),
        _row(2, "deleted", reason="fileState DELETED"),
        _row(3, "already_archived"),
        _row(4, "quarantined", reason="html page, not wav", quarantine_uri=EVIDENCE),
        _row(5, "failed", reason="ServerError: 503\x1b[31m\nretry"),
    ]
    metadata = not_archived_metadata(to_table(rows, OUTCOMES_TABLE.schema), LINKS)
    table = metadata["not_archived"]
    assert isinstance(table, dg.TableMetadataValue)
    assert [c.name for c in table.schema.columns] == [
        "conversation_id", "recording_id", "state", "reason", "evidence_uri", "evidence_link",
    ]  # fmt: skip
    records = [r.data for r in table.records]
    assert [r["recording_id"] for r in records] == ["r-4", "r-5", "r-2"]
    assert records[0]["evidence_uri"] == EVIDENCE
    assert (
        records[0]["evidence_link"] == "http://127.0.0.1:5055/m/quarantine/date=2026-11-20/c-q/r-q-ab12.bin"
    )
    assert records[1]["reason"] == "ServerError: 503 retry"  # no escape sequence, no line break
    assert records[2]["evidence_uri"] is None and records[2]["evidence_link"] is None
    assert metadata["not_archived_count"].value == 3 and metadata["not_archived_not_shown"].value == 0
    json.dumps([r.data for r in table.records])  # what the event log stores


def test_a_bad_day_shows_the_first_rows_and_counts_the_rest():
    rows = [_row(n, "failed", reason=f"boom {n}") for n in range(SHOWN + 19)] + [_row(999, "archived")]
    metadata = not_archived_metadata(to_table(rows, MANIFEST_TABLE.schema), LINKS)
    assert len(metadata["not_archived"].records) == SHOWN
    assert metadata["not_archived_count"].value == SHOWN + 19
    assert metadata["not_archived_not_shown"].value == 19


def test_a_clean_day_has_an_empty_table():
    metadata = not_archived_metadata(to_table([_row(1, "archived")], MANIFEST_TABLE.schema), LINKS)
    assert metadata["not_archived"].records == [] and metadata["not_archived_count"].value == 0
