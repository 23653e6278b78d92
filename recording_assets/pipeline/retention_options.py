"""The retention features of a day's run (issue 14), all opt in: restore what Genesys archived, protect what
is not yet archived from Genesys' retention deletes, store each recording's annotations."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetentionOptions:
    # Restore ARCHIVED recordings (PUT .../recordings/{r} with a later archiveDate): one request each,
    # at most ``restore_cap`` per day's run and never more than the org's remainingRestorationsAllowedForOrg.
    restore_archived: bool = False
    restore_cap: int = 100
    restore_days: int = 7  # how long Genesys keeps a restored recording available
    # Protect the day's conversations before downloading; lift it once every recording is archived.
    protect_until_archived: bool = False
    # One GET .../annotations per archived recording; the manifest's ``annotations`` list column.
    annotations: bool = False

    def __post_init__(self) -> None:
        if self.restore_cap < 0:
            raise ValueError(f"restore_cap must be 0 or more, got {self.restore_cap}")
        if not 1 <= self.restore_days <= 365:
            raise ValueError(
                "restore_days must be within 1..365 (the days Genesys keeps a recording restored), "
                f"got {self.restore_days}"
            )

    @property
    def extra_permissions(self) -> tuple[str, ...]:
        """What these options need beyond reading recordings, for the preflight to confirm."""
        needed = []
        if self.restore_archived:
            needed.append("recording:recording:restore")
        if self.protect_until_archived:
            needed += ["recording:deletionProtection:apply", "recording:deletionProtection:revoke"]
        if self.annotations:
            needed.append("recording:annotation:view")
        return tuple(needed)
