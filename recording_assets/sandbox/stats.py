"""Request counters and a bounded request log, readable in-process or over ``GET /__sandbox/stats``."""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any

LOG_LIMIT = 200_000


class Stats:
    def __init__(self, log_limit: int = LOG_LIMIT) -> None:
        self._lock = threading.Lock()
        self._log_limit = log_limit
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests: Counter[str] = Counter()
            self._statuses: Counter[str] = Counter()
            self._rate_limited = 0
            self._tokens_issued = 0
            self._media_bytes = 0
            self._media_authorization = 0
            self._log: deque[dict[str, Any]] = deque(maxlen=self._log_limit)

    def record(
        self, *, t: float, method: str, path: str, query: str, family: str, status: int, token_id: str | None
    ) -> None:
        with self._lock:
            self._requests[family] += 1
            self._statuses[str(status)] += 1
            if status == 429:
                self._rate_limited += 1
            self._log.append(
                {
                    "t": t,
                    "method": method,
                    "path": path,
                    "query": query,
                    "family": family,
                    "status": status,
                    "token_id": token_id,
                }
            )

    def token_issued(self) -> None:
        with self._lock:
            self._tokens_issued += 1

    def media_sent(self, count: int) -> None:
        with self._lock:
            self._media_bytes += count

    def media_authorization_seen(self) -> None:
        """A media GET carried an Authorization header: a presigned URL must never be sent the token."""
        with self._lock:
            self._media_authorization += 1

    def snapshot(self, log_limit: int | None = None) -> dict[str, Any]:
        """Counters plus the request log (its last ``log_limit`` entries; None = all of it)."""
        with self._lock:
            log = (
                list(self._log)
                if log_limit is None
                else list(self._log)[-log_limit:]
                if log_limit > 0
                else []
            )
            return {
                "requests": dict(self._requests),
                "statuses": dict(self._statuses),
                "rate_limited": self._rate_limited,
                "tokens_issued": self._tokens_issued,
                "media_bytes": self._media_bytes,
                "media_with_authorization": self._media_authorization,
                "log": log,
            }
