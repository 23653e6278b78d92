"""Injectable faults and the deterministic bookkeeping that decides when each one fires.

Every decision comes from counters or from a keyed hash of (seed, fault, identity), never from
unseeded randomness, so a failing test replays exactly.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from recording_assets.sandbox.flags import option
from recording_assets.sandbox.ids import fraction
from recording_assets.sandbox.ratelimit import HEADER_MODES

_5XX_CYCLE = (502, 503, 504)
AVAILABILITY_ANSWERS = ("truthful", "missing", "malformed", "future")


@dataclass(frozen=True)
class Faults:
    """What should go wrong. All off by default; change at runtime with ``SandboxServer.set_faults``.

    The fields are also the flags of the faults group of ``recording-assets sandbox`` (``sandbox.flags``),
    but for those marked ``cli=False``."""

    burst_429_every: int = option(0, "every Nth API request starts a burst of 429s")
    burst_429_length: int = option(3, "429s per burst")
    burst_retry_after_s: int = option(2, "Retry-After seconds sent during a burst")
    error_5xx_every: int = option(0, "every Nth API request answers 502/503/504")  # in turn
    # every Nth API request answers 500 (a transient server error); no command-line flag (yet)
    error_500_every: int = option(0, "every Nth API request answers 500")
    # the first media GET aborts the socket (RST) after about half the body
    reset_mid_body_rate: float = option(0.0, "share of recordings whose first media GET is reset")
    # the first media GET closes cleanly after half of the promised Content-Length
    truncate_body_rate: float = option(0.0, "share whose first media GET stops at half the body")
    # the first media GET is a 200 text/html error page
    wrong_content_type_rate: float = option(0.0, "share whose first media GET is an HTML page")
    # the first media GET starts with garbage instead of the container magic
    corrupt_magic_rate: float = option(0.0, "share whose first media GET has garbage magic bytes")
    corrupt_magic_persistent: bool = option(False, "corrupt every attempt, not just the first")
    revoke_tokens_every: int = option(0, "every Nth API request revokes its token")
    token_ttl_override_s: int | None = option(None, "lifetime of newly issued tokens, seconds")
    deny_permissions: frozenset[str] = option(
        frozenset(), "remove a permission from the grant (repeatable)", flag="--deny-permission", metavar="P"
    )
    deleted_status: int = option(404, "status for a DELETED recording: 404 or 410")
    # the first batch result of an available recording carries errorMsg
    batch_error_rate: float = option(0.0, "share of first batch results that carry errorMsg")
    # Batch download jobs know only InProgress and Completed (docs/genesys-api.md §4.2): a job that fails
    # is one whose status cannot be read. The Nth job submitted since the faults were set answers 503 to
    # every poll, however often it is asked.
    failed_batch_job: int = option(0, "the Nth batch job submitted answers 503 to every poll")
    slow_response_s: float = option(0.0, "real seconds added to every API response")
    pagination_drift: bool = option(False, "shift later details-query pages by -3..+3")  # items
    conflict_409_every: int = option(0, "every Nth recording-control call answers 409")
    # the inin-ratelimit-* headers as a proxy may pass them on (sandbox/ratelimit.py); the limit holds
    rate_limit_headers: str = option("present", "rate-limit headers: present, absent or malformed")
    # What GET .../details/jobs/availability answers: the true date (now less the data lag), no date, a
    # date that does not parse, or a date a day ahead of now.
    availability_answer: str = option(
        "truthful", "dataAvailabilityDate: truthful, missing, malformed, future"
    )
    # Every analytics details job submitted from here on ends in this state instead of FULFILLED.
    details_job_ends: str = option("FULFILLED", "analytics details jobs end FULFILLED, FAILED or EXPIRED")

    def __post_init__(self) -> None:
        if self.deleted_status not in (404, 410):
            raise ValueError("deleted_status must be 404 or 410")
        if self.rate_limit_headers not in HEADER_MODES:
            raise ValueError(f"rate_limit_headers must be one of {', '.join(HEADER_MODES)}")
        if self.availability_answer not in AVAILABILITY_ANSWERS:
            raise ValueError(f"availability_answer must be one of {', '.join(AVAILABILITY_ANSWERS)}")
        if self.details_job_ends not in ("FULFILLED", "FAILED", "EXPIRED"):
            raise ValueError("details_job_ends must be FULFILLED, FAILED or EXPIRED")
        for name in (
            "reset_mid_body_rate",
            "truncate_body_rate",
            "wrong_content_type_rate",
            "corrupt_magic_rate",
            "batch_error_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within 0..1, got {value}")
        for name in (
            "burst_429_every",
            "burst_429_length",
            "error_5xx_every",
            "error_500_every",
            "revoke_tokens_every",
            "conflict_409_every",
            "failed_batch_job",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if not isinstance(self.deny_permissions, frozenset):
            object.__setattr__(self, "deny_permissions", frozenset(self.deny_permissions))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Faults:
        """Build from JSON (``POST /__sandbox/faults``); unknown keys are an error, not silently ignored."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        values = dict(data)
        if "deny_permissions" in values:
            values["deny_permissions"] = frozenset(values["deny_permissions"] or ())
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["deny_permissions"] = sorted(self.deny_permissions)
        return data


@dataclass(frozen=True)
class GateDecision:
    """What the fault layer wants done with one API request."""

    status: int | None = None  # answer with this status instead of handling the request
    retry_after_s: int | None = None
    revoke_after: bool = False  # handle normally, then revoke the token


@dataclass(frozen=True)
class MediaFault:
    kind: str  # "reset" | "truncate" | "wrong_content_type" | "corrupt_magic"


@dataclass
class FaultState:
    """Counters behind the count-based faults, and the per-recording attempt tallies."""

    seed: int
    faults: Faults = field(default_factory=Faults)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _api_requests: int = 0
    _burst_left: int = 0
    _errors_sent: int = 0
    _control_calls: int = 0
    _media_attempts: Counter = field(default_factory=Counter)
    _batch_attempts: Counter = field(default_factory=Counter)
    _batch_jobs: int = 0

    def replace(self, faults: Faults) -> None:
        """New faults; "every Nth" counts restart from here. Media/batch "first attempt" tallies persist."""
        with self._lock:
            self.faults = faults
            self._burst_left = 0
            self._api_requests = 0
            self._errors_sent = 0
            self._control_calls = 0
            self._batch_jobs = 0

    def on_batch_submit(self) -> bool:
        """Count one batch job submitted; True when it is the one whose every poll fails."""
        with self._lock:
            self._batch_jobs += 1
            return self._batch_jobs == self.faults.failed_batch_job

    def on_api_request(self) -> GateDecision:
        """Called once per authenticated, in-limit ``/api/v2`` request."""
        with self._lock:
            f = self.faults
            self._api_requests += 1
            n = self._api_requests
            revoke = bool(f.revoke_tokens_every) and n % f.revoke_tokens_every == 0
            if self._burst_left > 0:
                self._burst_left -= 1
                return GateDecision(429, f.burst_retry_after_s, revoke)
            if f.burst_429_every and n % f.burst_429_every == 0 and f.burst_429_length > 0:
                self._burst_left = f.burst_429_length - 1
                return GateDecision(429, f.burst_retry_after_s, revoke)
            if f.error_5xx_every and n % f.error_5xx_every == 0:
                status = _5XX_CYCLE[self._errors_sent % len(_5XX_CYCLE)]
                self._errors_sent += 1
                return GateDecision(status, 1 if status == 503 else None, revoke)
            if f.error_500_every and n % f.error_500_every == 0:
                return GateDecision(500, None, revoke)
            return GateDecision(None, None, revoke)

    def on_control_call(self) -> bool:
        """True when this recording-control call should answer 409."""
        with self._lock:
            self._control_calls += 1
            every = self.faults.conflict_409_every
            return bool(every) and self._control_calls % every == 0

    def on_media_get(self, recording_id: str) -> MediaFault | None:
        """Count one media GET of a recording and pick the fault (if any) for this attempt."""
        with self._lock:
            self._media_attempts[recording_id] += 1
            first = self._media_attempts[recording_id] == 1
            f = self.faults
        if first and self._picked(f.wrong_content_type_rate, "wrong-content-type", recording_id):
            return MediaFault("wrong_content_type")
        if (first or f.corrupt_magic_persistent) and self._picked(
            f.corrupt_magic_rate, "corrupt", recording_id
        ):
            return MediaFault("corrupt_magic")
        if first and self._picked(f.reset_mid_body_rate, "reset", recording_id):
            return MediaFault("reset")
        if first and self._picked(f.truncate_body_rate, "truncate", recording_id):
            return MediaFault("truncate")
        return None

    def on_batch_result(self, recording_id: str) -> bool:
        """True when this batch result of an available recording should carry an errorMsg."""
        with self._lock:
            self._batch_attempts[recording_id] += 1
            first = self._batch_attempts[recording_id] == 1
            rate = self.faults.batch_error_rate
        return first and self._picked(rate, "batch-error", recording_id)

    def _picked(self, rate: float, salt: str, identity: str) -> bool:
        return rate > 0 and fraction(self.seed, salt, identity) < rate
