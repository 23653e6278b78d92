"""The erasure audit trail: one row per archived object an erasure touches, written *before* the object is
deleted (event ``erasing``) and again with what happened (``erased``, ``held``, ``failed``), under
``erasure/date=YYYY-MM-DD/run=RUN/part-NNNNN.parquet`` in the manifest bucket. It names the object and its
SHA-256, never the subject's identifiers (personal data): the request id and the reason say why.
Regenerate its docs with ``python -m recording_assets.pipeline.erasure_audit`` (docs/erasure.md).
"""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa

from recording_assets.archive.keys import validate_prefix
from recording_assets.pipeline.table_io import write_table
from recording_assets.pipeline.tables import (
    CONVERSATION_ID,
    RECORDING_ID,
    RUN_ID,
    SHA256,
    SIZE_BYTES,
    STORAGE_URI,
    TS,
    Column,
    Table,
    to_table,
)

ERASURE_TABLE = Table(
    "erasure",
    "One row per archived object an erasure touches: `erasing` is written and stored before the delete, then "
    "`erased` (every version deleted), `held` (S3 Object Lock refused: `held_until` when S3 says it) or "
    "`failed`. No identifier of the subject is recorded.",
    "erasure/date=2026-11-20/run=RUN/part-00001.parquet",
    (
        Column("at", TS, "When the event happened."),
        RUN_ID,
        Column("launched_by", pa.string(), "Who started the erasure: `user:...`, `manual` ..."),
        Column("request_id", pa.string(), "The Genesys GDPR request id, or null for an operator's erasure."),
        Column("reason", pa.string(), "Why, as the operator gave it."),
        Column("event", pa.string(), "`erasing` (before the delete), `erased`, `held` or `failed`."),
        CONVERSATION_ID,
        RECORDING_ID,
        STORAGE_URI.described("`s3://` URI of the object erased."),
        SHA256.described("Hex SHA-256 of the object, from the manifest."),
        SIZE_BYTES,
        Column("versions_deleted", pa.int32(), "Object versions deleted (delete markers included)."),
        Column("held_until", TS, "For `held`: the Object Lock retain-until date S3 gave, when it gave one."),
        Column("detail", pa.string(), "What S3 said, for `held` and `failed`."),
    ),
)
ERASURE = ERASURE_TABLE.schema


def erasure_key(*, day: date, run_id: str, part: int, prefix: str = "") -> str:
    return f"{validate_prefix(prefix)}erasure/date={day.isoformat()}/run={run_id}/part-{part:05d}.parquet"


class ErasureTrail:
    """The day's erasure rows of one run, each batch stored at once (a part per ``flush``)."""

    def __init__(self, store, *, day: date, run_id: str, launched_by: str, request_id, reason: str) -> None:
        self._store, self._day, self._run_id = store, day, run_id
        self._common = {
            "run_id": run_id,
            "launched_by": launched_by,
            "request_id": request_id,
            "reason": reason,
        }
        self._parts = 0
        self.uris: list[str] = []

    def write(self, rows: list[dict], *, at: datetime) -> str:
        """Store ``rows`` now, as one part; returns its URI (the caller deletes only after this returned)."""
        self._parts += 1
        table = to_table([{**self._common, "at": at, **row} for row in rows], ERASURE)
        key = erasure_key(day=self._day, run_id=self._run_id, part=self._parts)
        uri = write_table(self._store, key, table)
        self.uris.append(uri)
        return uri


def erasure_markdown() -> str:
    lines = [
        "# Erasure audit",
        "",
        ERASURE_TABLE.doc,
        "",
        f"Key of one day: `{ERASURE_TABLE.example_key}`",
        "",
    ]
    lines += ["| column | type | meaning |", "|---|---|---|"]
    lines += [f"| `{c.name}` | `{c.type}` | {c.doc} |" for c in ERASURE_TABLE.columns]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(erasure_markdown(), end="")
