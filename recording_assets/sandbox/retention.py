"""What the org's retention did to its recordings since the sandbox started: restorations, deletion
protection (legal holds) and the retention sweeps a test triggers.

The synthetic org fixes each recording's settled ``fileState`` from the seed; this ledger is the part that
changes while the sandbox runs, read by ``Recording.file_state_at`` so every route sees the same state:

- a restoration (``PUT .../recordings/{r}`` with a later ``archiveDate``) turns ARCHIVED into RESTORING,
  then RESTORED once ``restore_latency_s`` has passed, until the requested date. No quota: the SDK marks
  ``remainingRestorationsAllowedForOrg`` "Deprecated - Always returns 10000 since the restoration limit
  is no longer enforced". A new ``archiveDate`` past the recording's ``deleteDate`` is refused (400);
- deletion protection (``PUT /api/v2/recordings/deletionprotection``) is a legal hold (help centre,
  "Protect recordings from deletion for a legal hold directive"): at most ``PROTECTION_CAP`` conversations
  per org, and only for policy-based recordings. The org already holds ``holds_elsewhere`` conversations
  placed by other parties (they count against the cap), ``legal_hold_per_mille`` of every day's
  conversations among them; a revocation of one of those is remembered (``foreign_revoked``) so a test can
  prove the product never releases a hold it did not place;
- a retention sweep (``/__sandbox/retention/sweep``, or ``sweep`` in-process) deletes the recordings it
  is given unless their conversation is protected: the protection blocks the org's own retention deletes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from recording_assets.sandbox.ids import stable_int

ARCHIVED, DELETED, RESTORING, RESTORED = "ARCHIVED", "DELETED", "RESTORING", "RESTORED"
PROTECTION_CAP = 1000  # conversations protected per org (help centre, legal hold directive)
RESTORATIONS_REPORTED = (
    10_000  # what the deprecated restoration counters always say (SDK models/recording.py)
)
# The sandbox's own error codes for a refused protection (undocumented: docs/genesys-behaviours.md).
CAP_REACHED = "recording.deletion.protection.limit.exceeded"
NOT_POLICY_BASED = "recording.deletion.protection.not.policy.based"
ADHOC_EVERY = 40  # one conversation in this many holds only ad-hoc (not policy-based) recordings


class RestoreRefused(Exception):
    """A restoration the org does not allow: not ARCHIVED, a date in the past or past the deleteDate."""


@dataclass(frozen=True)
class Restoration:
    requested_ms: int
    until_ms: int


@dataclass(frozen=True)
class ProtectionFailure:
    conversation_id: str
    error_code: str
    message: str

    def to_json(self) -> dict:  # FailedDeleteProtectionUpdate
        return {
            "conversation": {
                "id": self.conversation_id,
                "selfUri": f"/api/v2/conversations/{self.conversation_id}",
            },
            "errorCode": self.error_code,
            "errorMessage": self.message,
        }


@dataclass(frozen=True)
class SweepResult:
    deleted: tuple[str, ...]  # recording ids
    kept_protected: tuple[str, ...]

    def to_json(self) -> dict:
        return {"deleted": list(self.deleted), "keptProtected": list(self.kept_protected)}


class RetentionLedger:
    def __init__(
        self,
        *,
        seed: int = 7,
        restore_latency_s: float = 5.0,
        holds_elsewhere: int = 0,
        legal_hold_per_mille: int = 0,
    ) -> None:
        self.seed = seed
        self.restore_latency_ms = int(restore_latency_s * 1000)
        self.holds_elsewhere = holds_elsewhere  # conversations other parties hold, beyond this ledger's
        self.legal_hold_per_mille = legal_hold_per_mille
        self._restorations: dict[str, Restoration] = {}
        self._deleted: dict[str, int] = {}  # recording id -> when the sweep deleted it
        self._delete_dates: dict[str, int | None] = {}  # recording id -> deleteDate a PUT set (None: removed)
        self._protected: set[str] = set()  # placed through the API
        self.foreign_revoked: set[str] = set()  # holds of other parties revoked through the API
        self._refused: set[str] = set()  # recordings whose restoration the org refuses (a test plants them)
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

    def delete_date(self, recording_id: str, settled_ms: int) -> int | None:
        """The recording's deleteDate: the one a PUT set (or removed), else the org's retention's."""
        return self._delete_dates.get(recording_id, settled_ms)

    # ---- what the API changes -----------------------------------------------------------------------
    def refuse_restorations(self, recording_ids: Iterable[str]) -> None:
        """Not Genesys: the org answers 400 for these recordings' restorations (whatever the cause, e.g. an
        export pending), so a test can show one refusal stops no other restoration."""
        with self._lock:
            self._refused.update(recording_ids)

    def restore(
        self, recording_id: str, current: str, until_ms: int, now_ms: int, delete_ms: int | None
    ) -> None:
        with self._lock:
            if recording_id in self._refused:
                raise RestoreRefused(f"Recording {recording_id} cannot be restored now.")
            if delete_ms is not None and until_ms >= delete_ms:
                raise RestoreRefused(
                    "archiveDate must be before the recording's deleteDate: it would be deleted while restored."
                )
            if current in (RESTORING, RESTORED) and recording_id in self._restorations:
                earlier = self._restorations[recording_id]
                self._restorations[recording_id] = Restoration(earlier.requested_ms, until_ms)
                return  # moving the date of a restoration restores nothing again
            if current != ARCHIVED:
                raise RestoreRefused(
                    f"Recording {recording_id} is {current}: only an ARCHIVED one is restored."
                )
            if until_ms <= now_ms:
                raise RestoreRefused("archiveDate must be in the future to restore a recording.")
            self._restorations[recording_id] = Restoration(now_ms, until_ms)

    def set_delete_date(self, recording_id: str, delete_ms: int | None) -> None:
        with self._lock:
            self._delete_dates[recording_id] = delete_ms

    def held_by_others(self, conversation_id: str) -> bool:
        """A legal hold another party placed before the sandbox started (seeded), not revoked since."""
        if conversation_id in self.foreign_revoked or not self.legal_hold_per_mille:
            return False
        return stable_int(self.seed, conversation_id, "legal-hold") % 1000 < self.legal_hold_per_mille

    def in_use(self) -> int:
        """Conversations protected in the org: this ledger's and the other parties' elsewhere."""
        return len(self._protected) + max(0, self.holds_elsewhere - len(self.foreign_revoked))

    def protect(
        self, conversation_ids: Iterable[str], protect: bool, policy_based: Callable[[str], bool]
    ) -> list[ProtectionFailure]:
        """Apply or revoke; returns the conversations that could not be protected, each with why."""
        failed = []
        with self._lock:
            for cid in conversation_ids:
                if not protect:
                    if self.held_by_others(cid):
                        self.foreign_revoked.add(cid)
                    self._protected.discard(cid)
                elif cid in self._protected or self.held_by_others(cid):
                    continue  # already protected: protecting again changes nothing
                elif not policy_based(cid):
                    failed.append(
                        ProtectionFailure(
                            cid, NOT_POLICY_BASED, "Only policy-based recordings can be protected."
                        )
                    )
                elif self.in_use() >= PROTECTION_CAP:
                    failed.append(
                        ProtectionFailure(
                            cid,
                            CAP_REACHED,
                            f"At most {PROTECTION_CAP} conversations can be protected per organization.",
                        )
                    )
                else:
                    self._protected.add(cid)
        return failed

    def room(self) -> int:
        with self._lock:
            return max(0, PROTECTION_CAP - self.in_use())

    def protected(self, conversation_ids: Iterable[str] | None = None) -> set[str]:
        """The protected conversations among ``conversation_ids`` (by anyone); all placed through the API
        when None."""
        with self._lock:
            if conversation_ids is None:
                return set(self._protected)
            return {c for c in conversation_ids if c in self._protected or self.held_by_others(c)}

    def sweep(self, recordings: Iterable[tuple[str, str]], now_ms: int) -> SweepResult:
        """Delete ``(conversation_id, recording_id)`` pairs as the org's retention would, but the protected
        conversations' recordings."""
        deleted, kept = [], []
        with self._lock:
            for conversation_id, recording_id in recordings:
                if conversation_id in self._protected or self.held_by_others(conversation_id):
                    kept.append(recording_id)
                elif recording_id not in self._deleted:
                    self._deleted[recording_id] = now_ms
                    deleted.append(recording_id)
        return SweepResult(tuple(deleted), tuple(kept))


def policy_based(seed: int, conversation_id: str) -> bool:
    """Whether a conversation's recordings are policy-based (the rest are ad-hoc only): seeded."""
    return stable_int(seed, conversation_id, "policy") % ADHOC_EVERY != 0
