"""Secure-pause evidence (``annotations``, off by default): each archived recording's annotations (hold,
pause, ``SecurePause`` ...) from ``GET .../recordings/{r}/annotations``, one request per recording.

Kept in a per-day table beside the outcomes (``annotations/date=YYYY-MM-DD/annotations.parquet``) so a
re-run asks only for recordings archived since; the manifest carries them as its ``annotations`` list column.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

import pyarrow as pa

from recording_assets.archive.keys import validate_prefix
from recording_assets.genesys import GenesysClient
from recording_assets.genesys.errors import GenesysApiError, PermissionDeniedError

Key = tuple[str, str]
ANNOTATION = pa.struct(
    [("reason", pa.string()), ("type", pa.string()), ("location_ms", pa.int64()), ("duration_ms", pa.int64())]
)
ANNOTATIONS_COLUMN = pa.list_(ANNOTATION)
ANNOTATIONS = pa.schema(
    [("conversation_id", pa.string()), ("recording_id", pa.string()), ("annotations", ANNOTATIONS_COLUMN)]
)


def annotations_key(*, day, prefix: str = "") -> str:
    return f"{validate_prefix(prefix)}annotations/date={day.isoformat()}/annotations.parquet"


def known(table: pa.Table | None) -> dict[Key, list[dict]]:
    """What an earlier run stored: (conversation, recording) -> annotations."""
    if table is None:
        return {}
    return {(r["conversation_id"], r["recording_id"]): r["annotations"] or [] for r in table.to_pylist()}


async def collect(
    client: GenesysClient, keys: Iterable[Key], earlier: Mapping[Key, list[dict]], *, concurrency: int
) -> tuple[dict[Key, list[dict]], int]:
    """The annotations of ``keys`` (earlier ones reused); returns them and the requests spent.

    A recording whose annotations cannot be read (gone since, say) is left out, never stored as empty."""
    semaphore = asyncio.Semaphore(concurrency)
    wanted = [k for k in sorted(set(keys)) if k not in earlier]

    async def one(key: Key) -> tuple[Key, list[dict] | None]:
        async with semaphore:
            try:
                found = await client.retention.annotations(*key)
            except PermissionDeniedError:
                raise
            except GenesysApiError:
                return key, None
            return key, [
                {
                    "reason": a.reason,
                    "type": a.type,
                    "location_ms": a.location_ms,
                    "duration_ms": a.duration_ms,
                }
                for a in found
            ]

    fetched = dict(await asyncio.gather(*(one(k) for k in wanted)))
    merged = {k: v for k, v in earlier.items()}
    merged.update({k: v for k, v in fetched.items() if v is not None})
    return merged, len(wanted)


def annotations_table(found: Mapping[Key, list[dict]]) -> pa.Table:
    rows = [
        {"conversation_id": cid, "recording_id": rid, "annotations": notes}
        for (cid, rid), notes in sorted(found.items())
    ]
    return pa.Table.from_pylist(rows, schema=ANNOTATIONS)
