"""The explicit end state of every recording a run touches."""

from __future__ import annotations

from enum import Enum


class State(str, Enum):
    ARCHIVED = "archived"  # verified and stored under its final key by this run
    ALREADY_ARCHIVED = "already_archived"  # found under its final key from an earlier run
    ARCHIVED_IN_GENESYS = "archived_in_genesys"  # fileState ARCHIVED: skipped (restore is opt-in)
    RESTORING = "restoring"  # restoration requested (restore_archived); a later run archives it once served
    DELETED = "deleted"  # fileState DELETED, or 404/410 on the media
    EXCLUDED = "excluded"  # sensitive data and no recording:recording:viewSensitiveData
    QUARANTINED = "quarantined"  # bytes are not the container the API claims; kept under quarantine/
    FAILED = "failed"  # anything else, with the reason; the next run retries it
    # Deleted from the archive by an erasure (``erasure.py``, GDPR), its audit row first: final for good, so
    # no later run downloads it again, whatever Genesys still serves.
    ERASED = "erased"

    @property
    def in_archive(self) -> bool:
        return self in (State.ARCHIVED, State.ALREADY_ARCHIVED)


# The values of the states in the archive, for filters over state columns (``pc.is_in(..., value_set=)``).
IN_ARCHIVE = tuple(state.value for state in State if state.in_archive)


# What the manifest calls a recording's state: the archive's view, the same on every re-run.
def manifest_state(state: State) -> str:
    return State.ARCHIVED.value if state.in_archive else state.value
