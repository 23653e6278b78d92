"""What the org's retention did to its recordings since the sandbox started: restorations, deletion
protection and the retention sweeps a test triggers.

The synthetic org fixes each recording's settled ``fileState`` from the seed; this ledger is the part that
changes while the sandbox runs, read by ``Recording.file_state_at`` so every route sees the same state:

- a restoration (``PUT .../recordings/{r}`` with a later ``archiveDate``) turns ARCHIVED into RESTORING,
  then RESTORED once ``restore_latency_s`` has passed, until the requested date; each one spends one of the
  org's ``restore_quota`` restorations (``remainingRestorationsAllowedForOrg``);
- deletion protection (``PUT /api/v2/recordings/deletionprotection``) holds conversation ids;
- a retention sweep (``/__sandbox/retention/sweep``, or ``sweep`` in-process) deletes the recordings it
  is given unless their conversation is protected: the protection blocks the org's own retention deletes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

ARCHIVED, DELETED, RESTORING, RESTORED = "ARCHIVED", "DELETED", "RESTORING", "RESTORED"


class RestoreRefused(Exception):
    """A restoration the org does not allow: not ARCHIVED, or no restorations left."""


@dataclass(frozen=True)
class Restoration:
    requested_ms: int
    until_ms: int


@dataclass(frozen=True)
class SweepResult:
    deleted: tuple[str, ...]  # recording ids
    kept_protected: tuple[str, ...]

    def to_json(self) -> dict:
        return {"deleted": list(self.deleted), "keptProtected": list(self.kept_protected)}


class RetentionLedger:
    def __init__(self, *, restore_latency_s: float = 5.0, restore_quota: int = 10_000) -> None:
        self.restore_latency_ms = int(restore_latency_s * 1000)
        self.max_restorations = restore_quota
        self._restorations: dict[str, Restoration] = {}
        self._deleted: dict[str, int] = {}  # recording id -> when the sweep deleted it
        self._protected: set[str] = set()
        self._lock = threading.Lock()

    # ---- what a recording looks like now ------------------------------------------------------------
    def state_of(self, recording_id: str, settled: str, now_ms: int) -> str:
        if not self._restorations and not self._deleted:
            return settled  # the common case: nothing happened to the org's retention
        if recording_id in self._deleted:
            return DELETED
        restoration = self._restorations.get(recording_id)
        if restoration is None:
            return settled
        if now_ms >= restoration.until_ms:
            return ARCHIVED  # the restoration expired: back in the archive tier
        return RESTORED if now_ms >= restoration.requested_ms + self.restore_latency_ms else RESTORING

    def restoration(self, recording_id: str) -> Restoration | None:
        return self._restorations.get(recording_id)

    def deleted_at(self, recording_id: str) -> int | None:
        return self._deleted.get(recording_id)

    @property
    def remaining_restorations(self) -> int:
        return max(0, self.max_restorations - len(self._restorations))

    # ---- what the API changes -----------------------------------------------------------------------
    def restore(self, recording_id: str, current: str, until_ms: int, now_ms: int) -> None:
        with self._lock:
            if current in (RESTORING, RESTORED) and recording_id in self._restorations:
                earlier = self._restorations[recording_id]
                self._restorations[recording_id] = Restoration(earlier.requested_ms, until_ms)
                return  # moving the date of a restoration spends no new one
            if current != ARCHIVED:
                raise RestoreRefused(
                    f"Recording {recording_id} is {current}: only an ARCHIVED one is restored."
                )
            if until_ms <= now_ms:
                raise RestoreRefused("archiveDate must be in the future to restore a recording.")
            if self.remaining_restorations == 0:
                raise RestoreRefused(
                    f"The organization has used all of its {self.max_restorations} restorations "
                    "(remainingRestorationsAllowedForOrg is 0)."
                )
            self._restorations[recording_id] = Restoration(now_ms, until_ms)

    def protect(self, conversation_ids: Iterable[str], protect: bool) -> None:
        with self._lock:
            if protect:
                self._protected.update(conversation_ids)
            else:
                self._protected.difference_update(conversation_ids)

    def protected(self, conversation_ids: Iterable[str] | None = None) -> set[str]:
        with self._lock:
            if conversation_ids is None:
                return set(self._protected)
            return {c for c in conversation_ids if c in self._protected}

    def sweep(self, recordings: Iterable[tuple[str, str]], now_ms: int) -> SweepResult:
        """Delete ``(conversation_id, recording_id)`` pairs as the org's retention would, but the protected
        conversations' recordings."""
        deleted, kept = [], []
        with self._lock:
            for conversation_id, recording_id in recordings:
                if conversation_id in self._protected:
                    kept.append(recording_id)
                elif recording_id not in self._deleted:
                    self._deleted[recording_id] = now_ms
                    deleted.append(recording_id)
        return SweepResult(tuple(deleted), tuple(kept))
