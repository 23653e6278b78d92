"""The storage side of the archive: object keys, media sniffing, spooling and verified S3 writes.

Knows nothing of Dagster or Genesys: a boto3 S3 client goes in, typed results come out.
"""

from recording_assets.archive.encryption import Encryption
from recording_assets.archive.errors import (
    ArchiveError,
    IntegrityError,
    InvalidIdentifierError,
    ObjectExistsError,
    StorageError,
)
from recording_assets.archive.keys import (
    QuarantineKeyParts,
    RecordingKeyParts,
    audit_day_prefix,
    audit_key,
    audit_run_prefix,
    control_audit_key,
    control_audit_prefix,
    manifest_key,
    metadata_key,
    outcomes_key,
    parse_quarantine_key,
    parse_recording_key,
    quarantine_day_prefix,
    quarantine_key,
    recording_day_prefix,
    recording_key,
)
from recording_assets.archive.objects import ListedObject, ObjectInfo, StoredObject
from recording_assets.archive.protocol import ArchiveReader, DocumentStore, RecordingStore
from recording_assets.archive.sniff import (
    ContainerVerdict,
    check_container,
    containers_for_content_type,
    extension_for,
    sniff,
)
from recording_assets.archive.spool import MediaSpool, UploadSource
from recording_assets.archive.store import ArchiveStore

__all__ = [
    "ArchiveError",
    "ArchiveReader",
    "ArchiveStore",
    "ContainerVerdict",
    "DocumentStore",
    "Encryption",
    "IntegrityError",
    "InvalidIdentifierError",
    "ListedObject",
    "MediaSpool",
    "ObjectExistsError",
    "ObjectInfo",
    "QuarantineKeyParts",
    "RecordingKeyParts",
    "RecordingStore",
    "StorageError",
    "StoredObject",
    "UploadSource",
    "audit_day_prefix",
    "audit_key",
    "audit_run_prefix",
    "check_container",
    "containers_for_content_type",
    "control_audit_key",
    "control_audit_prefix",
    "extension_for",
    "manifest_key",
    "metadata_key",
    "outcomes_key",
    "parse_quarantine_key",
    "parse_recording_key",
    "quarantine_day_prefix",
    "quarantine_key",
    "recording_day_prefix",
    "recording_key",
    "sniff",
]
