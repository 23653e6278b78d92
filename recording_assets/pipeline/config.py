"""How a day is archived: every per-run knob, its default and its bounds, declared and validated here once.

``settings.py`` builds an ``ArchiveConfig`` from the environment (only the variables that are set; the
defaults are these); the archive resource overrides fields from the Launchpad and rebuilds it, so a value
is checked by the same rules wherever it comes from. Nothing else restates a default.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any

from recording_assets.archive.errors import InvalidIdentifierError
from recording_assets.archive.keys import validate_prefix
from recording_assets.archive.lock import LOCK_MODES, ObjectLock

# What the single-recording endpoint serves for each audio formatId (docs/genesys-api.md §4.3).
FORMAT_CONTENT_TYPES = {
    "WAV": "audio/wav",
    "WAV_ULAW": "audio/wav",
    "MP3": "audio/mpeg",
    "OGG_OPUS": "audio/ogg",
    "OGG_VORBIS": "audio/ogg",
    "WEBM": "audio/webm",
}
SENSITIVE_CHECKS = ("auto", "lookup", "trust")
MAX_EVIDENCE_KIB = 8 * 1024  # the spool's memory limit: evidence is read from memory or one bounded read
# Conversation media types an agent handles, on which screen recordings ride (docs/genesys-api.md §12).
SCREEN_CARRIERS = ("voice", "callback", "chat", "email", "message", "video")


class InvalidConfigError(ValueError):
    """A knob is out of its bounds; the message names the knob and what would be valid."""


def _within(name: str, value: int | float, low: int | float, high: int | float) -> None:
    if isinstance(value, bool) or not low <= value <= high:
        raise InvalidConfigError(f"{name}={value!r}: use a number from {low} to {high}")


@dataclass(frozen=True)
class RetentionConfig:
    """The retention features of a day's run, all opt in."""

    # Restore ARCHIVED recordings (a GET, then PUT .../recordings/{r} with a later archiveDate and the
    # deleteDate as read): two requests each, at most ``restore_cap`` per day's run. No org quota: Genesys no
    # longer enforces one (SDK: remainingRestorationsAllowedForOrg is deprecated, always 10000).
    restore_archived: bool = False
    restore_cap: int = 100
    restore_days: int = 7  # how long Genesys keeps a restored recording available (before its deleteDate)
    # The expiry radar protects the conversations it finds at risk (a legal hold, 1,000 per org) and lifts
    # its own holds once archived; ``protection_reserve`` of the 1,000 are left for the org's legal holds.
    protect_until_archived: bool = False
    protection_reserve: int = 200
    # One GET .../annotations per archived recording; the manifest's ``annotations`` list column.
    annotations: bool = False
    expiry_radar_days: int = 14  # the expiry radar's horizon
    # Pages of 500 the radar reads at most a run: under the SDK's reading the query lists the org's retained
    # history, so this bounds its cost (400 pages: 200,000 recordings, 400 requests); past it, it says so.
    radar_max_pages: int = 400

    def __post_init__(self) -> None:
        _within("restore_cap", self.restore_cap, 0, 100_000)
        _within("restore_days", self.restore_days, 1, 365)  # the days Genesys keeps a recording restored
        _within("expiry_radar_days", self.expiry_radar_days, 1, 365)
        _within("protection_reserve", self.protection_reserve, 0, 1000)
        _within("radar_max_pages", self.radar_max_pages, 1, 2000)

    def extra_permissions(self, *, screen: bool = False) -> tuple[str, ...]:
        """What these options need beyond reading recordings, for the preflight to confirm (a missing one
        fails the run). ``screen``: screen recordings are in scope, and restoring one needs its own
        permission (SDK put_conversation_recording: restore per recording kind)."""
        needed = []
        if self.restore_archived:
            needed.append("recording:recording:restore")
            if screen:
                needed.append("recording:screenRecording:restore")
        if self.protect_until_archived:
            needed += ["recording:deletionProtection:apply", "recording:deletionProtection:revoke"]
        return tuple(needed)

    @property
    def wanted_permissions(self) -> tuple[str, ...]:
        """Permissions whose absence only narrows what is kept: the preflight warns. Annotations accept any
        recording view permission; only bookmark annotations need recording:annotation:view."""
        return ("recording:annotation:view",) if self.annotations else ()


# S3 refuses a request signed more than 15 minutes off its clock, so our clock and S3's differ by less: a
# retain-until date closer than that to our now might already be S3's past, which S3 refuses.
LOCK_CLOCK_MARGIN = timedelta(minutes=15)
MAX_LOCK_DAYS = 36_500  # a hundred years: S3's bound on a retention period


@dataclass(frozen=True)
class ObjectLockPolicy:
    """S3 Object Lock (WORM) on every recording written under its final key: the deployment's alone.

    The retain-until date is ``days`` after the conversation's start, not after the archive run: the
    retention a regulation asks for (MiFID II, SEC 17a-4) runs from when the call was made, and the date must
    not depend on when or how often a day was archived (a backfill of last year, a re-run after a failure
    give the same recording the same date)."""

    mode: str  # GOVERNANCE or COMPLIANCE (archive/lock.py says what each allows)
    days: int

    def __post_init__(self) -> None:
        if self.mode not in LOCK_MODES:
            raise InvalidConfigError(f"object_lock mode={self.mode!r}: use GOVERNANCE or COMPLIANCE")
        _within("object_lock days", self.days, 1, MAX_LOCK_DAYS)

    def lock_for(self, conversation_start: datetime, *, now: datetime) -> ObjectLock | None:
        """The lock of a recording of a conversation that started then; None when its retention has already
        ended (an old day backfilled: S3 refuses a retain-until date in the past, and none is owed)."""
        until = conversation_start + timedelta(days=self.days)
        if until.microsecond:  # S3 keeps whole seconds: round up, never short of the policy
            until = until.replace(microsecond=0) + timedelta(seconds=1)
        if until <= now + LOCK_CLOCK_MARGIN:
            return None
        return ObjectLock(self.mode, until)  # type: ignore[arg-type]  # checked above


@dataclass(frozen=True)
class ArchiveConfig:
    """Where in the bucket, how fast and how thoroughly one day is archived."""

    key_prefix: str = ""  # inside the archive bucket: empty or ending in '/'
    concurrency: int = 8  # recordings downloaded and uploaded at once
    media_types: tuple[str, ...] | None = None  # limit discovery to these media types
    # None: each recording's original codec through batch requests (cheapest). A formatId (WAV, MP3,
    # OGG_OPUS, WEBM ...) costs at least one more single-recording request per audio recording, plus one
    # per poll while Genesys transcodes.
    format_id: str | None = None
    # Batches leave sensitive recordings out silently without recording:recording:viewSensitiveData.
    # lookup: one recordingmetadata look-up per conversation, so they are listed (as excluded): exact.
    # trust: batch items only, cheap. auto: trust when preflight confirmed the permission, else lookup.
    sensitive_check: str = "auto"
    # A recording whose downloads gave the same bad bytes twice is not downloaded again, unless this is set.
    force_quarantined: bool = False
    failure_rate_warn: float = 0.05  # the manifest's check warns above this share of failed + quarantined
    max_media_attempts: int = 3
    url_refresh_rounds: int = 3
    # Download tasks waiting for a worker before the next batch job is submitted (backpressure): about
    # thirty jobs' worth, so the workers never starve while look-ups still take their turns, and a few MB.
    download_backlog: int = 3000
    # Bytes that are not what the API claims are kept as evidence under quarantine/, at most their first
    # this many KiB (the object's metadata holds the download's full size and SHA-256), so a 2 GiB error
    # page cannot fill the quarantine. Below the spool's memory limit, so evidence goes up in one PUT.
    quarantine_evidence_kib: int = 1024
    # Object Lock on every recording under its final key (None: off). The deployment's alone, like
    # quarantine_evidence_kib: no resource field, so no run config can weaken or drop it.
    object_lock: ObjectLockPolicy | None = None
    # Seconds between the day's progress lines (``progress.py``), told from a timer so a stalled day
    # still reports. The deployment's (no resource field).
    progress_interval_s: int = 30
    retention: RetentionConfig = field(default_factory=RetentionConfig)

    def __post_init__(self) -> None:
        try:
            validate_prefix(self.key_prefix)
        except InvalidIdentifierError as exc:
            raise InvalidConfigError(f"key_prefix: {exc}") from None
        _within("concurrency", self.concurrency, 1, 64)
        _within("failure_rate_warn", self.failure_rate_warn, 0, 1)
        _within("max_media_attempts", self.max_media_attempts, 1, 10)
        _within("url_refresh_rounds", self.url_refresh_rounds, 0, 10)
        _within("download_backlog", self.download_backlog, 1, 1_000_000)
        _within("quarantine_evidence_kib", self.quarantine_evidence_kib, 0, MAX_EVIDENCE_KIB)
        _within("progress_interval_s", self.progress_interval_s, 1, 3600)
        if self.sensitive_check not in SENSITIVE_CHECKS:
            raise InvalidConfigError(
                f"sensitive_check={self.sensitive_check!r}: use one of {', '.join(SENSITIVE_CHECKS)}"
            )
        if self.format_id is not None and self.format_id not in FORMAT_CONTENT_TYPES:
            raise InvalidConfigError(
                f"format_id={self.format_id!r} is not supported: leave it unset (original codec) or use one of "
                + ", ".join(FORMAT_CONTENT_TYPES)
            )

    @property
    def quarantine_evidence_bytes(self) -> int:
        return self.quarantine_evidence_kib * 1024

    def sensitive_check_for(self, permission: bool | None) -> str:
        """``lookup`` or ``trust``: ``auto`` trusts the batches only when the preflight confirmed
        recording:recording:viewSensitiveData (``permission`` True)."""
        if self.sensitive_check != "auto":
            return self.sensitive_check
        return "trust" if permission is True else "lookup"

    @property
    def screen_recordings_in_scope(self) -> bool:
        """Screen recordings are ``media: screen`` recordings on the agent's own voice or digital
        conversation (not the analytics ``screenshare`` session type): in scope with any of those types."""
        return self.media_types is None or bool(set(self.media_types) & set(SCREEN_CARRIERS))

    def preflight_permissions(self) -> tuple[str, ...]:
        """Permissions the preflight looks for in the client's roles, beyond the recording family's."""
        screen = self.screen_recordings_in_scope
        extra = ("recording:screenRecording:view",) if screen else ()
        return self.retention.extra_permissions(screen=screen) + extra

    def knobs(self) -> dict[str, Any]:
        """Every knob by name, the retention ones among them (the names ``overridden`` takes)."""
        own = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "retention"}
        return {**own, **{f.name: getattr(self.retention, f.name) for f in fields(self.retention)}}

    def overridden(self, values: dict[str, Any]) -> ArchiveConfig:
        """This configuration with ``values`` (knob name -> value, retention knobs among them) replaced,
        validated again; ``None`` values keep what is configured."""
        retention_names = {f.name for f in fields(RetentionConfig)}
        given = {name: value for name, value in values.items() if value is not None}
        unknown = set(given) - set(self.knobs())
        if unknown:
            raise InvalidConfigError(f"unknown archive setting(s): {', '.join(sorted(unknown))}")
        retention = replace(self.retention, **{n: v for n, v in given.items() if n in retention_names})
        own = {n: v for n, v in given.items() if n not in retention_names}
        if isinstance(own.get("media_types"), list):
            own["media_types"] = tuple(own["media_types"])
        return replace(self, retention=retention, **own)
