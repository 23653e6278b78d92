"""A sidecar per archived recording: ``{recordingId}_metadata.json`` beside its object, as Genesys' own S3
export writes one (https://help.mypurecloud.com/articles/working-with-exported-recordings-in-aws-s3-bucket),
so tools built for that export (a Glue crawler, an Athena table over the sidecars) read this archive too.

The manifest stays the day's proof; the sidecar is the object's self-description, built from a manifest
row (``sidecar_document``): the day step's early one (``sidecar_feed.py``) or the very row the day's
manifest writes, so the two always agree. It is written
create-only: a re-run writes a missing sidecar and never replaces one; a recording not archived has none.
It carries its recording's Object Lock retention, so under WORM neither outlives nor undercuts the other,
and no participant address: personal data stays in the manifest's one PII column, which an erasure
rewrites (a locked sidecar could not be). Fields: docs/finding.md, "Sidecars".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from recording_assets.archive.errors import ArchiveError, ObjectExistsError
from recording_assets.archive.keys import recording_day_prefix
from recording_assets.archive.lock import ObjectLock
from recording_assets.archive.sidecar_keys import is_sidecar_key, sidecar_key
from recording_assets.archive.store import ArchiveStore
from recording_assets.pipeline.states import State

# Genesys' export names media "one of Call, Chat, Email, Message, Callback, Screen" (help centre, above).
_GENESYS_MEDIA = {"audio": "Call", "chat": "Chat", "email": "Email", "message": "Message", "screen": "Screen"}
# Sidecar field <- manifest column. The first block is the export's own names; the rest are ours, in the
# Platform API's spelling. A name column (agent_names ...) is read when the manifest has it.
_FIELDS = {
    "userIds": "agent_ids",
    "conversationId": "conversation_id",
    "recordingId": "recording_id",
    "conversationStartTime": "conversation_start",
    "conversationEndTime": "conversation_end",
    "durationMs": "duration_ms",
    "queueIds": "queue_ids",
    "wrapupCodes": "wrap_up_codes",
    "divisionIds": "division_ids",
    "userNames": "agent_names",
    "userEmails": "agent_emails",
    "queueNames": "queue_names",
    "wrapupNames": "wrap_up_names",
    "divisionNames": "division_names",
    "contentType": "content_type",
    "container": "container",
    "sha256": "sha256",
    "sizeBytes": "size_bytes",
    "storageUri": "storage_uri",
    "exportedAt": "exported_at",
    "archiveRunId": "run_id",
    "retainUntil": "retain_until",
    "lockMode": "lock_mode",
    "mediaSubtype": "media_subtype",
    "sessionId": "session_id",
    "recordingStartTime": "recording_start",
    "recordingEndTime": "recording_end",
    "recordingDurationMs": "recording_duration_ms",
}
CONTENT_TYPE = "application/json"
# The manifest columns a sidecar is made of, with the state that says which rows have one.
SIDECAR_COLUMNS = ("state", "media_type", *_FIELDS.values())


def sidecar_document(row: Mapping) -> dict:
    """The sidecar of one manifest row (an ``archived`` one): JSON-ready values, null where unknown."""
    document: dict = {
        "mediaType": _GENESYS_MEDIA.get(row.get("media_type") or ""),
        "provider": None,  # Genesys' recording provider (e.g. "edge"): the manifest does not record it
    }
    for name, column in _FIELDS.items():
        value = row.get(column)
        document[name] = value.isoformat() if isinstance(value, datetime) else value
    return document


def sidecar_bytes(row: Mapping) -> bytes:
    return json.dumps(sidecar_document(row), sort_keys=True, separators=(",", ":")).encode()


@dataclass
class SidecarReport:
    written: int = 0
    present: int = 0  # found from an earlier run (listed, or refused as taken): never replaced
    failed: list[str] = field(default_factory=list)  # "key: reason"; the next run writes them

    def metadata(self) -> dict:
        return {"written": self.written, "present": self.present, "failed": len(self.failed)}

    def count(self, results: Iterable[str | None]) -> None:
        """Count what ``write_sidecar`` returned for each sidecar."""
        for result in results:
            if result is None:
                self.written += 1
            elif result == PRESENT:
                self.present += 1
            else:
                self.failed.append(result)


def write_sidecars(
    store: ArchiveStore,
    manifest: pa.Table | Iterable[pa.Table],
    *,
    existing: frozenset[str],
    concurrency: int = 8,
) -> SidecarReport:
    """Write the sidecar of every ``archived`` row of ``manifest`` (a table, or its parts one after
    another: ``SIDECAR_COLUMNS`` of them are enough) whose key is not in ``existing`` (the day's sidecars,
    as ``day_listing`` found them), ``concurrency`` writes at a time. One sidecar's failure is reported,
    never the day's."""
    report = SidecarReport()
    parts = [manifest] if isinstance(manifest, pa.Table) else manifest
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for part in parts:
            for rows in sidecar_rows(part):
                report.count(pool.map(lambda row: write_sidecar(store, row, existing), rows))
    return report


def day_listing(store: ArchiveStore, *, key_prefix: str, day, sidecars: set[str]) -> Iterator[str]:
    """The ``s3://`` URIs of the day's objects as one listing finds them, but for the sidecars, whose keys
    are added to ``sidecars``: the manifest step's completeness check and its sidecar writes read one
    listing, not one each."""
    bucket_prefix = f"s3://{store.bucket}/"
    for item in store.list_day(recording_day_prefix(prefix=key_prefix, day=day)):
        if is_sidecar_key(item.key):
            sidecars.add(item.key)
        else:
            yield f"{bucket_prefix}{item.key}"


def sidecar_rows(manifest: pa.Table) -> Iterator[list[dict]]:
    """The ``archived`` rows of ``manifest``, only the columns a sidecar holds, a batch at a time: a
    100,000-recording day never becomes 100,000 row dicts at once."""
    archived = manifest.filter(pc.equal(manifest["state"], State.ARCHIVED.value))
    columns = [c for c in ("media_type", *_FIELDS.values()) if c in archived.column_names]
    for batch in archived.select(columns).to_batches(max_chunksize=_BATCH_ROWS):
        yield batch.to_pylist()


_BATCH_ROWS = 1000
PRESENT = "present"


def write_sidecar(store: ArchiveStore, row: Mapping, existing: frozenset[str]) -> str | None:
    """The sidecar of one manifest row, create-only. None when written, ``PRESENT`` when it was there
    already (listed in ``existing``, or refused as taken), else the problem (``key: reason``)."""
    bucket_prefix = f"s3://{store.bucket}/"
    uri = row.get("storage_uri") or ""
    if not uri.startswith(bucket_prefix):
        return f"{uri or row.get('recording_id')}: storage_uri is not in s3://{store.bucket}"
    try:
        key = sidecar_key(uri[len(bucket_prefix) :])
    except ArchiveError as error:
        return f"{uri}: {error}"
    if key in existing:
        return PRESENT
    try:
        store.put_bytes(
            key, sidecar_bytes(row), content_type=CONTENT_TYPE, overwrite=False, lock=_lock_of(row)
        )
    except ObjectExistsError:
        return PRESENT  # written by an earlier run, or another run between the listing and now: it stays
    except ArchiveError as error:
        return f"{key}: {error}"[:500]
    return None


def _lock_of(row: Mapping) -> ObjectLock | None:
    """The recording's own retention (``retain_until``, ``lock_mode`` in its row), or none."""
    if row.get("lock_mode") and row.get("retain_until"):
        return ObjectLock(mode=row["lock_mode"], retain_until=row["retain_until"])
    return None
