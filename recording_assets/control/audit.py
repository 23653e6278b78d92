"""The control audit trail: one JSON object per control event, create-only, in the manifest bucket.

    s3://$RECORDING_MANIFEST_BUCKET/control-audit/date=YYYY-MM-DD/{event_id}.json

Every action is recorded, no-ops and refusals included, by the CLI and by the Dagster job alike.
Records name who launched the action, what was asked, what happened, the HTTP status and Genesys
correlation id; never a token, secret or presigned URL (nothing of that kind reaches them).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from recording_assets.archive.keys import control_audit_key, control_audit_prefix
from recording_assets.archive.store import ArchiveStore
from recording_assets.control.actions import ControlOutcome
from recording_assets.settings import ConfigError, StorageSettings, aws_region, manifest_bucket

CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class ControlAuditEvent:
    event_id: str
    at: str  # ISO-8601 UTC, when the outcome was known
    launched_by: str  # "cli:alice", "user:alice@example.com" (Dagster run tag), "schedule:..." ...
    source: str  # "cli" | "dagster"
    action: str
    conversation_id: str
    participant_id: str | None
    outcome: str  # changed | already | refused | failed
    message: str
    state: str | None
    http_status: int | None
    correlation_id: str | None
    error_type: str | None
    missing_permission: str | None
    run_id: str | None  # Dagster run id
    oauth_client_id: str | None  # which OAuth client acted (an id, not a secret)
    reason: str | None  # free text given by the operator

    @classmethod
    def from_outcome(
        cls,
        outcome: ControlOutcome,
        *,
        launched_by: str,
        source: str,
        at: datetime | None = None,
        run_id: str | None = None,
        oauth_client_id: str | None = None,
        reason: str | None = None,
    ) -> ControlAuditEvent:
        moment = (at or datetime.now(timezone.utc)).astimezone(timezone.utc)
        request = outcome.request
        return cls(
            event_id=str(uuid.uuid4()),
            at=moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            launched_by=launched_by,
            source=source,
            action=request.action,
            conversation_id=request.conversation_id,
            participant_id=request.participant_id,
            outcome=outcome.outcome,
            message=outcome.message,
            state=outcome.state,
            http_status=outcome.http_status,
            correlation_id=outcome.correlation_id,
            error_type=outcome.error_type,
            missing_permission=outcome.missing_permission,
            run_id=run_id,
            oauth_client_id=oauth_client_id,
            reason=reason,
        )

    @property
    def day(self):
        return datetime.fromisoformat(self.at.replace("Z", "+00:00")).date()

    @property
    def key(self) -> str:
        return control_audit_key(day=self.day, event_id=self.event_id)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), sort_keys=True).encode("utf-8")


class ControlAuditStore:
    """Appends events to the manifest bucket through ``ArchiveStore`` (create-only, encrypted, verified)."""

    def __init__(self, store: ArchiveStore) -> None:
        self._store = store

    @property
    def bucket(self) -> str:
        return self._store.bucket

    def check_writable(self) -> None:
        """Fail before any action if the bucket is missing or unreadable (raises ``ArchiveError``).

        A HEAD on an object cannot tell a missing bucket from a missing key, so this lists one key."""
        next(iter(self._store.list_day(control_audit_prefix(), page_size=1)), None)

    def append(self, event: ControlAuditEvent) -> str:
        """Write ``event``; return its ``s3://`` URI. Raises ``ArchiveError`` if S3 refused it."""
        key = event.key
        self._store.put_bytes(key, event.to_json(), content_type=CONTENT_TYPE, overwrite=False)
        return f"s3://{self._store.bucket}/{key}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ControlAuditStore:
        """The CLI's store: bucket from RECORDING_MANIFEST_BUCKET, S3 client built like dagster-aws builds
        it (endpoint, credentials and region from the standard AWS environment). Raises ``ConfigError``."""
        import boto3
        from botocore.config import Config

        bucket = manifest_bucket(environ)
        endpoint = StorageSettings.endpoint_from_env(environ)  # botocore reads it too; explicit for `environ`
        try:
            client = boto3.client(
                "s3",
                region_name=aws_region(environ),
                endpoint_url=endpoint,
                config=Config(retries={"mode": "standard"}),
            )
        except Exception as exc:  # botocore refuses e.g. a malformed AWS_ENDPOINT_URL before any request
            raise ConfigError(f"cannot build the S3 client from the AWS environment: {exc}") from None
        return cls(ArchiveStore(client, bucket=bucket))
