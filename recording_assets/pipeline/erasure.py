"""Erasure that follows Genesys (GDPR): find a data subject's archived recordings through the day
manifests, write each one's audit row, then delete the object (every version), then rewrite the day's
manifest and outcomes with those rows ``erased``.

The order is the promise: nothing is deleted before its ``erasing`` row is stored (``erasure_audit.py``);
a run cut off after a delete leaves the manifest saying ``archived`` for an object that is gone, and the
next erasure run of the same subject finds no version left and completes the row. A version S3 Object
Lock refuses is ``held`` (with the date S3 gives), its row stays ``archived``. The outcomes table is
rewritten too, because it is what the next archive run reads: ``erased`` there is final for good
(``settled.is_final``), so no later run downloads the recording again, whatever Genesys still serves.
Every other row of both tables is left byte-for-byte as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from recording_assets.archive.erase import EraseResult, erase_object
from recording_assets.archive.errors import InvalidIdentifierError
from recording_assets.archive.keys import manifest_key, outcomes_key
from recording_assets.archive.protocol import DocumentStore
from recording_assets.archive.sidecar_keys import sidecar_key
from recording_assets.pipeline.erasure_audit import ErasureTrail
from recording_assets.pipeline.states import State
from recording_assets.pipeline.subjects import Subject
from recording_assets.pipeline.table_io import read_table, write_table

MAX_REASON_CHARS = 500
_NULLED_IN_MANIFEST = (
    "sha256",
    "size_bytes",
    "storage_uri",
    "exported_at",
    "run_id",
    "participant_addresses",
)
_NULLED_IN_OUTCOMES = ("storage_uri",)


@dataclass(frozen=True)
class ErasureOrder:
    subject: Subject
    reason: str
    request_id: str | None  # the Genesys GDPR request, or None for an operator's erasure
    launched_by: str
    run_id: str


@dataclass
class Found:
    day: date
    conversation_id: str
    recording_id: str
    storage_uri: str
    sha256: str | None
    size_bytes: int | None
    state: str = "erasing"
    held_until: datetime | None = None
    detail: str | None = None


@dataclass
class ErasureReport:
    days_searched: int = 0
    matched_rows: int = 0  # rows of the subject's conversations, in the archive or not
    erased: list[Found] = field(default_factory=list)
    held: list[Found] = field(default_factory=list)
    failed: list[Found] = field(default_factory=list)
    audit_uris: list[str] = field(default_factory=list)
    manifests_rewritten: list[str] = field(default_factory=list)


def checked_reason(reason: Any) -> str:
    """The operator's reason: required, at most 500 characters, no control characters."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("reason is required: say why the subject's recordings are erased")
    if len(reason) > MAX_REASON_CHARS or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in reason):
        raise ValueError(f"reason must be at most {MAX_REASON_CHARS} characters without control characters")
    return reason.strip()


def erase_subject(
    order: ErasureOrder,
    *,
    days: Iterable[date],
    manifests: DocumentStore,
    s3_client: Any,
    archive_bucket: str,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> ErasureReport:
    report = ErasureReport()
    for day in days:
        manifest = read_table(manifests, manifest_key(day=day))
        if manifest is None:
            continue
        report.days_searched += 1
        found = _matches(order.subject, manifest, day)
        report.matched_rows += len(found)
        targets = [f for f in found if f.storage_uri]
        if not targets:
            continue
        trail = ErasureTrail(
            manifests,
            day=day,
            run_id=order.run_id,
            launched_by=order.launched_by,
            request_id=order.request_id,
            reason=order.reason,
        )
        trail.write([_row(f, "erasing") for f in targets], at=now())  # before any delete
        versions: dict[tuple[str, str], int] = {}
        for target in targets:
            _erase(target, s3_client, archive_bucket, versions)
        trail.write([_row(f, f.state, versions.get(_key(f))) for f in targets], at=now())
        report.audit_uris += trail.uris
        erased = {_key(f) for f in targets if f.state == State.ERASED.value}
        reason = f"erased: {'GDPR request ' + order.request_id if order.request_id else 'operator request'}"
        if erased:
            report.manifests_rewritten.append(
                _rewrite(
                    manifests,
                    manifest_key(day=day),
                    manifest,
                    erased,
                    reason,
                    _NULLED_IN_MANIFEST,
                    run_outcome=True,
                )
            )
            outcomes = read_table(manifests, outcomes_key(day=day))
            if outcomes is not None:
                _rewrite(manifests, outcomes_key(day=day), outcomes, erased, reason, _NULLED_IN_OUTCOMES)
        for target in targets:
            {"erased": report.erased, "held": report.held}.get(target.state, report.failed).append(target)
    return report


def _matches(subject: Subject, manifest: pa.Table, day: date) -> list[Found]:
    columns = ("conversation_id", "recording_id", "storage_uri", "sha256", "size_bytes", "state")
    rows = (
        manifest.select([*columns, "participant_addresses"]).to_pylist()
        if "participant_addresses" in manifest.column_names
        else [{**row, "participant_addresses": None} for row in manifest.select(list(columns)).to_pylist()]
    )
    return [
        Found(
            day,
            row["conversation_id"],
            row["recording_id"],
            row["storage_uri"] if row["state"] == State.ARCHIVED.value else "",
            row["sha256"],
            row["size_bytes"],
        )
        for row in rows
        if subject.matches(row["conversation_id"], row["participant_addresses"])
    ]


def _erase(target: Found, s3_client: Any, bucket: str, versions: dict) -> None:
    prefix = f"s3://{bucket}/"
    if not target.storage_uri.startswith(prefix):
        target.state, target.detail = State.FAILED.value, "storage_uri is not in the archive bucket"
        return
    try:
        result = erase_object(s3_client, bucket, target.storage_uri[len(prefix) :])
    except Exception as error:  # one object's failure is its row's, not the erasure's
        target.state, target.detail = State.FAILED.value, f"{type(error).__name__}: {error}"[:500]
        return
    versions[_key(target)] = len(result.deleted_versions)
    if result.held:
        target.state, target.held_until, target.detail = "held", result.held_until, result.detail
        return
    # Its sidecar goes with it (pipeline/sidecars.py), once the recording is gone. Should that fail, the
    # row stays archived, so a repeated erasure finds it again and deletes what is left.
    try:
        sidecar = _erase_sidecar(s3_client, bucket, target.storage_uri[len(prefix) :])
    except Exception as error:
        target.state, target.detail = State.FAILED.value, f"sidecar: {type(error).__name__}: {error}"[:500]
        return
    if sidecar is not None and sidecar.held:
        target.state, target.detail = State.FAILED.value, f"sidecar held: {sidecar.detail}"
        return
    target.state = State.ERASED.value
    target.detail = "no version was left (erased before)" if result.absent else None


def _erase_sidecar(s3_client: Any, bucket: str, key: str) -> EraseResult | None:
    try:
        sidecar = sidecar_key(key)
    except InvalidIdentifierError:
        return None  # not a key of the archive's layout: no sidecar was ever written beside it
    return erase_object(s3_client, bucket, sidecar)


def _rewrite(
    store: DocumentStore,
    key: str,
    table: pa.Table,
    erased: set[tuple[str, str]],
    reason: str,
    nulled: Sequence[str],
    *,
    run_outcome: bool = False,
) -> str:
    """``table`` with the ``erased`` rows' state ``erased``, their reason, and ``nulled`` columns null; every
    other row as it was."""
    pairs = zip(table["conversation_id"].to_pylist(), table["recording_id"].to_pylist(), strict=True)
    mask = pa.array([pair in erased for pair in pairs], pa.bool_())
    replaced = {
        "state": pc.if_else(mask, State.ERASED.value, table["state"]),
        "reason": pc.if_else(mask, reason, table["reason"]),
        **{
            name: pc.if_else(mask, pa.scalar(None, table[name].type), table[name])
            for name in nulled
            if name in table.column_names
        },
    }
    if run_outcome:
        replaced["run_outcome"] = pc.if_else(mask, State.ERASED.value, table["run_outcome"])
    for name, column in replaced.items():
        index = table.column_names.index(name)
        table = table.set_column(index, table.schema.field(name), column)
    return write_table(store, key, table)


def _key(found: Found) -> tuple[str, str]:
    return (found.conversation_id, found.recording_id)


def _row(found: Found, event: str, versions: int | None = None) -> dict:
    return {
        "event": event,
        "conversation_id": found.conversation_id,
        "recording_id": found.recording_id,
        "storage_uri": found.storage_uri,
        "sha256": found.sha256,
        "size_bytes": found.size_bytes,
        "versions_deleted": versions,
        "held_until": found.held_until,
        "detail": found.detail,
    }
