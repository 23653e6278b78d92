"""Everything one running sandbox remembers, in one place the routes share."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter

from recording_assets.clock import Clock
from recording_assets.sandbox.analytics import QueryEngine
from recording_assets.sandbox.batch import BatchStore
from recording_assets.sandbox.config import SandboxConfig
from recording_assets.sandbox.control import RecordingControl
from recording_assets.sandbox.faults import Faults, FaultState
from recording_assets.sandbox.grants import covered_divisions
from recording_assets.sandbox.hostile import HostileState
from recording_assets.sandbox.jobs import JobStore
from recording_assets.sandbox.org import SyntheticOrg
from recording_assets.sandbox.presign import UrlSigner
from recording_assets.sandbox.ratelimit import RateLimiter
from recording_assets.sandbox.retention import RetentionLedger, SweepResult
from recording_assets.sandbox.stats import Stats
from recording_assets.sandbox.tokens import TokenStore


class Bandwidth:
    """A real-time byte budget shared by every concurrent media response (0 = unlimited)."""

    def __init__(self, bytes_per_s: int) -> None:
        self.bytes_per_s = bytes_per_s
        self._next_free = 0.0

    @property
    def chunk_limit(self) -> int:
        return max(1024, min(64 * 1024, self.bytes_per_s // 20)) if self.bytes_per_s else 1 << 20

    async def take(self, count: int) -> None:
        if not self.bytes_per_s:
            return
        # Runs on the server's single event loop, so reserving a slot needs no lock.
        now = time.monotonic()
        start = max(now, self._next_free)
        self._next_free = start + count / self.bytes_per_s
        delay = self._next_free - now
        if delay > 0:
            await asyncio.sleep(delay)


class SandboxState:
    def __init__(self, config: SandboxConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.org = SyntheticOrg(
            seed=config.seed,
            conversations_per_day=config.conversations_per_day,
            live_calls=config.live_calls,
            media_scale=config.media_scale,
            giant_recording_bytes=config.giant_recording_bytes,
            anchor_ms=self.now_ms(),
            dialect=config.dialect,
            divisions=config.divisions,
        )
        self.org.visible_divisions = covered_divisions(config, self.org.directory)
        self.org.retention = RetentionLedger(
            seed=config.seed,
            restore_latency_s=config.restore_latency_s,
            holds_elsewhere=config.holds_elsewhere,
            legal_hold_per_mille=config.legal_hold_per_mille,
        )
        self.faults = FaultState(seed=config.seed, faults=config.faults)
        self.tokens = TokenStore()
        self.limiter = RateLimiter(config.rate_limit_per_minute, config.dialect.rate_limit_scope)
        self.stats = Stats()
        self.queries = QueryEngine(self.org)
        self.jobs = JobStore(self.org, config.job_latency_s, config.data_lag_s)
        self.batches = BatchStore(self.org, self.faults, config.batch_latency_s)
        self.control = RecordingControl()
        self.signer = UrlSigner(config.seed)
        self.bandwidth = Bandwidth(config.media_bandwidth_bytes_per_s)
        self.hostile = HostileState(config.hostile, self.org)
        self._transcode_polls: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        return int(self.clock.time() * 1000)

    def set_faults(self, faults: Faults) -> None:
        self.faults.replace(faults)

    def retention_sweep(self, conversation_ids) -> SweepResult:
        """Delete every recording of these conversations as the org's retention would, but the protected."""
        now = self.now_ms()
        recordings = [r for cid in conversation_ids for r in self.org.recordings(cid)]
        gone = ("DELETED", "UPLOADING")  # nothing to delete yet, or already
        pairs = [(r.conversation_id, r.id) for r in recordings if r.file_state_at(now) not in gone]
        return self.org.retention.sweep(pairs, now)

    def permissions(self) -> frozenset[str]:
        """What the client holds right now: the configured grant minus any denied by faults."""
        return self.config.granted_permissions - self.faults.faults.deny_permissions

    def transcode_poll(self, recording_id: str, container: str) -> int:
        """Count a single-recording GET for a transcoded format; returns how many so far."""
        with self._lock:
            self._transcode_polls[(recording_id, container)] += 1
            return self._transcode_polls[(recording_id, container)]
