"""Legal holds on archived recordings: S3 Object Lock legal hold set or cleared on every archived object of
one day, or of one conversation of that day, found through the day's manifest; every request audited.

A legal hold keeps an object version from being deleted, whatever its retention date, until it is cleared
(``archive/lock.py``): the tool of a litigation or a regulator's inquiry, beside the time-based retention
the pipeline writes. A recording's sidecar is held and cleared with it. The audit record of each request
is one JSON document, create-only, in the manifest bucket, written in a ``finally`` so that a request that
failed half way is recorded too::

    s3://$RECORDING_MANIFEST_BUCKET/legal-hold-audit/date=YYYY-MM-DD/{event_id}.json

(``date`` is the archived day the request was about). It names who asked (the run's launcher), when, what
(on or off, the reason), every object and what became of it, and the result.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from typing import Any

import pyarrow.compute as pc

from recording_assets.archive.errors import ArchiveError
from recording_assets.archive.keys import manifest_key, validate_identifier
from recording_assets.archive.sidecar_keys import sidecar_key
from recording_assets.archive.store import ArchiveStore
from recording_assets.pipeline.states import State
from recording_assets.pipeline.table_io import require_table

AUDIT_PREFIX = "legal-hold-audit/"
MAX_REASON_CHARS = 1000
MANIFEST_COLUMNS = ("conversation_id", "recording_id", "state", "storage_uri")


class LegalHoldRequestError(ValueError):
    """The request itself is wrong (an id, a reason); the message names the field and the fix."""


@dataclass(frozen=True)
class HoldRequest:
    day: date
    on: bool
    reason: str
    launched_by: str
    run_id: str
    conversation_id: str | None = None  # None: every archived object of the day

    def __post_init__(self) -> None:
        if self.conversation_id is not None:
            try:  # the key alphabet: an id that could not be in a key cannot name an archived object
                validate_identifier(self.conversation_id, field="conversation_id")
            except ArchiveError as exc:
                raise LegalHoldRequestError(str(exc)) from None
        reason = self.reason.strip()
        if not reason or len(reason) > MAX_REASON_CHARS or not reason.isprintable():
            raise LegalHoldRequestError(
                f"reason: give why the hold is set or cleared (a case or ticket reference), 1-{MAX_REASON_CHARS} "
                "printable characters; it is kept in the audit record"
            )

    @property
    def action(self) -> str:
        return "legal_hold_on" if self.on else "legal_hold_off"


@dataclass(frozen=True)
class ObjectChange:
    conversation_id: str
    recording_id: str
    uri: str
    result: str  # changed | failed
    error: str | None = None


@dataclass(frozen=True)
class LegalHoldEvent:
    """The audit record of one request: who, what, when, which objects, result."""

    event_id: str
    at: str  # ISO-8601 UTC, when the request was done
    launched_by: str
    run_id: str
    action: str  # legal_hold_on | legal_hold_off
    day: str
    conversation_id: str | None
    reason: str
    result: str  # done | partial | failed | nothing_found
    error: str | None
    objects: list[ObjectChange] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{AUDIT_PREFIX}date={self.day}/{self.event_id}.json"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def failed(self) -> list[ObjectChange]:
        return [change for change in self.objects if change.result != "changed"]


@dataclass(frozen=True)
class HoldOutcome:
    event: LegalHoldEvent
    audit_uri: str


def archived_objects(manifest: Any, conversation_id: str | None) -> list[tuple[str, str, str]]:
    """(conversation, recording, storage URI) of every archived row, of one conversation if given."""
    rows = manifest.filter(pc.equal(manifest["state"], State.ARCHIVED.value))
    if conversation_id is not None:
        rows = rows.filter(pc.equal(rows["conversation_id"], conversation_id))
    return [
        (row["conversation_id"], row["recording_id"], row["storage_uri"])
        for row in rows.to_pylist()
        if row["storage_uri"]
    ]


def apply_legal_hold(
    request: HoldRequest,
    *,
    archive: ArchiveStore,
    manifests: ArchiveStore,
    lock_setting: str,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> HoldOutcome:
    """Set or clear the legal hold of the request's objects; the audit record is written whatever happens
    (raises what stopped the request after recording it). ``lock_setting`` names what the operator sets
    when the archive bucket has no Object Lock (the error of ``require_object_lock``)."""
    changes: list[ObjectChange] = []
    error: str | None = "interrupted before it finished"
    try:
        archive.require_object_lock(setting=lock_setting)
        manifest = require_table(manifests, manifest_key(day=request.day), columns=MANIFEST_COLUMNS)
        targets = archived_objects(manifest, request.conversation_id)
        for cid, rid, uri in targets:
            changes.append(_change(archive, cid, rid, uri, on=request.on))
        error = None
        if not targets:
            which = f"conversation {request.conversation_id}" if request.conversation_id else "any recording"
            error = f"the manifest of {request.day} holds no archived object of {which}"
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        event = _event(request, changes, error, at=now())
        manifests.put_bytes(
            event.key,
            json.dumps(event.to_dict(), sort_keys=True).encode(),
            content_type="application/json",
            overwrite=False,
        )
    return HoldOutcome(event, f"s3://{manifests.bucket}/{event.key}")


def _change(archive: ArchiveStore, cid: str, rid: str, uri: str, *, on: bool) -> ObjectChange:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if bucket != archive.bucket:
        return ObjectChange(cid, rid, uri, "failed", f"not in the archive bucket s3://{archive.bucket}")
    try:
        archive.set_legal_hold(key, on=on)
    except ArchiveError as exc:
        return ObjectChange(cid, rid, uri, "failed", str(exc))
    # Its sidecar (pipeline/sidecars.py) is held with it, so the two stay together; a day archived before
    # sidecars existed has none until its next run.
    try:
        sidecar = sidecar_key(key)
        if archive.head(sidecar) is not None:
            archive.set_legal_hold(sidecar, on=on)
    except ArchiveError as exc:
        return ObjectChange(cid, rid, uri, "failed", f"its sidecar: {exc}")
    return ObjectChange(cid, rid, uri, "changed")


def _event(
    request: HoldRequest, changes: list[ObjectChange], error: str | None, *, at: datetime
) -> LegalHoldEvent:
    failed = [c for c in changes if c.result != "changed"]
    if error is not None and not changes:
        result = "nothing_found" if error.startswith("the manifest of") else "failed"
    elif error is not None or failed:
        result = "failed" if len(failed) == len(changes) else "partial"
    else:
        result = "done"
    return LegalHoldEvent(
        event_id=str(uuid.uuid4()),
        at=at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        launched_by=request.launched_by,
        run_id=request.run_id,
        action=request.action,
        day=request.day.isoformat(),
        conversation_id=request.conversation_id,
        reason=request.reason.strip(),
        result=result,
        error=error,
        objects=changes,
    )
