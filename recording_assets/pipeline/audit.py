"""The per-day audit trail: every attempt, as Parquet parts written while the run goes.

Parts are flushed every ``flush_every`` events, so a run killed mid-day still leaves the trail of
what it did up to its last flush: ``audit/date=YYYY-MM-DD/run={run_id}/part-00001.parquet``
(``keys.audit_key``).
"""

from __future__ import annotations

import threading
from datetime import date, datetime, timezone

from recording_assets.archive.keys import audit_key, audit_run_prefix
from recording_assets.archive.protocol import DocumentStore
from recording_assets.clock import Clock
from recording_assets.pipeline.tables import AUDIT, to_parquet_bytes, to_table


class AuditTrail:
    def __init__(
        self,
        *,
        store: DocumentStore,
        day: date,
        run_id: str,
        launched_by: str,
        clock: Clock,
        prefix: str = "",
        flush_every: int = 500,
    ) -> None:
        self._store = store
        self._day = day
        self._key_prefix = prefix
        self._prefix = audit_run_prefix(day=day, run_id=run_id, prefix=prefix)
        self._run_id = run_id
        self._launched_by = launched_by
        self._clock = clock
        self._flush_every = flush_every
        self._pending: list[dict] = []
        self._parts = 0
        self._lock = threading.Lock()
        self.events = 0
        self.keys: list[str] = []

    @property
    def prefix(self) -> str:
        return self._prefix

    def record(self, event: str, **fields) -> None:
        row = {
            "at": datetime.fromtimestamp(self._clock.time(), tz=timezone.utc),
            "run_id": self._run_id,
            "launched_by": self._launched_by,
            "event": event,
            **fields,
        }
        with self._lock:
            self._pending.append(row)
            self.events += 1
            due = len(self._pending) >= self._flush_every
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            rows, self._pending = self._pending, []
            if not rows:
                return
            self._parts += 1
            key = audit_key(day=self._day, run_id=self._run_id, part=self._parts, prefix=self._key_prefix)
        self._store.put_bytes(
            key,
            to_parquet_bytes(to_table(rows, AUDIT)),
            content_type="application/vnd.apache.parquet",
            overwrite=False,
        )
        self.keys.append(key)
