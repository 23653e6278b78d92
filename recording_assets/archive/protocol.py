"""What the code around the archive uses of ``ArchiveStore``, so a fake or a wrapper can stand in.

Each protocol is a slice of ``ArchiveStore``'s public methods, with the same signatures; ``ArchiveStore``
implements them all, and a test may wrap it (a listing that misses objects, say) or fake a slice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Protocol

from recording_assets.archive.lock import ObjectLock
from recording_assets.archive.objects import ListedObject, ObjectInfo, StoredObject
from recording_assets.archive.spool import UploadSource


class DocumentStore(Protocol):
    """Small whole documents (Parquet tables, JSON events) written and read back by key."""

    @property
    def bucket(self) -> str: ...

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str,
        overwrite: bool,
        metadata: Mapping[str, str] | None = None,
    ) -> StoredObject: ...

    def get_bytes(self, key: str) -> bytes | None: ...


class ArchiveReader(Protocol):
    """What re-verifying archived objects reads: HEADs, leading bytes and read-back hashes."""

    @property
    def bucket(self) -> str: ...

    def head(self, key: str) -> ObjectInfo | None: ...

    def read_back_sample(self, key: str, lead: int) -> tuple[str, bytes]: ...


class RecordingStore(ArchiveReader, Protocol):
    """What archiving a day uses: the reads, a day's listing, the stale-upload sweep, create-only writes,
    and the read-back hash that tells whether an object already under a key holds the same bytes."""

    def read_back_sha256(self, key: str) -> str: ...

    def list_day(self, prefix: str, *, page_size: int = 1000) -> Iterator[ListedObject]: ...

    def abort_stale_uploads(self, prefix: str, *, initiated_before: datetime | None = None) -> int: ...

    def put_new(
        self,
        key: str,
        spool: UploadSource,
        *,
        content_type: str,
        metadata: Mapping[str, str],
        lock: ObjectLock | None = None,
    ) -> StoredObject: ...
