"""A run's request budget, learned from the answers: the org's real limit, and how much of it is ours.

A run starts from a ``BudgetPolicy`` (the documented 300/minute per token, or what the operator stated,
divided by the runs expected to share it) and corrects it with every answer's ``inin-ratelimit-*`` headers
(``ratelimit_headers``):

- ``allowed`` is the limit: the rate follows it at once, down or up, never past what an operator stated;
- ``count`` is what the window has spent. Whether several tokens of one OAuth client share one budget is
  undocumented (docs/genesys-behaviours.md), so the count is compared with this run's own requests in the
  window: what it counts beyond them is spent by someone else, and the run takes its measured share of the
  limit instead of all of it. The comparison errs towards "ours": every request granted before the answer
  arrived is taken as counted, and the window as a second longer than the headers say, so a token with a
  budget of its own is never mistaken for a shared one;
- when the count (with what this run sent since, and what the others spend meanwhile) nears the limit, the
  run waits for the window's reset instead of spending into 429s.

Pure logic on the caller's clock; ``pacing.Pacer`` asks it for the rate and for waits.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from recording_assets.genesys.ratelimit_headers import ALLOWED, WINDOW_S, WindowReading

DOCUMENTED = "assumed: 300/minute per token (docs/genesys-api.md §7)"
MARGIN = 0.9  # of the limit: slack for clocks, answers in flight and other clients of the org
MIN_SHARE = 1 / 8  # however busy the others, a run keeps moving; the reset wait guards the window
EVIDENCE = 6  # requests counted in a window (ours and others') before its share is believed
NOTES_KEPT = 5


@dataclass(frozen=True)
class BudgetPolicy:
    """Where a run's budget starts, and the bounds an operator set on it.

    ``limit_per_minute``: the limit assumed until an answer states it (None: no client-side rate, the
    headers' window alone); ``share``: the part of it this run starts with; ``org_cap_per_minute`` and
    ``run_cap_per_minute``: an operator's statement of the org's limit and of this run's rate, never
    exceeded whatever the headers allow; ``learn``: follow the headers' limit and share (False: a fixed
    rate, for tests and benchmarks)."""

    limit_per_minute: float | None = 300.0
    limit_source: str = DOCUMENTED
    share: float = 1.0
    org_cap_per_minute: float | None = None
    run_cap_per_minute: float | None = None
    learn: bool = True
    margin: float = MARGIN
    max_burst: int = 10

    @classmethod
    def fixed(cls, per_minute: float | None) -> BudgetPolicy:
        """Exactly ``per_minute`` (None: unpaced but for the headers' window), whatever the answers say."""
        return cls(limit_per_minute=per_minute, limit_source="fixed", learn=False, margin=1.0)


@dataclass
class _Window:
    end: float  # latest moment the window may reset (the headers' whole seconds rounded up)
    earliest_end: float  # earliest moment it may have reset, from when the requests left
    allowed: int
    first_t: float
    own_at_first: int  # our requests in the window when its first answer came
    others_at_first: int  # others' requests counted by then
    count: int  # the highest count read
    count_t: float  # when it was read
    own: int = 0  # our requests in the window at the latest answer
    others: int = 0  # the others' requests counted by then (a lower bound)


class RequestBudget:
    def __init__(self, policy: BudgetPolicy) -> None:
        self.policy = policy
        self._limit = policy.limit_per_minute
        self.source = policy.limit_source if policy.limit_per_minute else "none"
        self.share = min(1.0, max(MIN_SHARE, policy.share))
        self.least_share = 1.0  # the smallest share measured (or left by a 429), not the first guess
        self._sends: deque[float] = deque()
        self._window: _Window | None = None
        self.shared_seen = 0  # others' requests seen in our windows, at most
        self.readings = 0  # answers whose headers told the window's state
        self.without_headers = 0  # answers with none of them
        self.ignored = 0  # header values ignored or clamped
        self.notes: list[str] = []  # the first distinct reasons
        self.rate_limited = 0
        self._halved_at: float | None = None  # when a 429 last cut the share (or the share last grew back)

    @property
    def limit_per_minute(self) -> float | None:
        cap = self.policy.org_cap_per_minute
        if self._limit is None:
            return cap
        return self._limit if cap is None else min(self._limit, cap)

    def rate_per_s(self) -> float | None:
        limit = self.limit_per_minute
        if limit is None:
            return None if self.policy.run_cap_per_minute is None else self.policy.run_cap_per_minute / 60
        rate = self.policy.margin * limit * self.share
        if self.policy.run_cap_per_minute is not None:
            rate = min(rate, self.policy.run_cap_per_minute)
        return rate / 60.0

    def burst(self) -> float:
        """Requests that may go at once: a twentieth of a minute's rate, so that the bursts of several
        runs sharing a window stay inside its margin."""
        rate = self.rate_per_s()
        if rate is None:
            return float(self.policy.max_burst)
        return max(1.0, min(float(self.policy.max_burst), rate * 60 * 0.05))

    def sent(self, now: float) -> None:
        """One request of ours is about to leave."""
        if self._halved_at is not None and not self.readings and now - self._halved_at >= WINDOW_S:
            # No header measures the share: a minute without a 429 lets it grow back towards the start.
            self.share = min(max(MIN_SHARE, self.policy.share), self.share * 1.5)
            self._halved_at = now
        self._sends.append(now)
        while self._sends and self._sends[0] < now - WINDOW_S - 2:
            self._sends.popleft()

    def observe(self, reading: WindowReading, now: float, *, sent_at: float | None = None) -> None:
        """``now``: when the answer came; ``sent_at``: when its request left (default ``now``). The
        server counted it in between, so the window ends within (sent_at + reset - 1, now + reset]."""
        sent_at = now if sent_at is None else min(sent_at, now)
        for note in reading.notes:
            self.ignored += 1
            if note not in self.notes and len(self.notes) < NOTES_KEPT:
                self.notes.append(note)
        if reading.allowed is None and reading.count is None and reading.reset_s is None:
            self.without_headers += 1
            return
        if reading.allowed is not None and self.policy.learn:
            self._limit = float(reading.allowed)
            self.source = f"{ALLOWED} header"
        if not reading.spent_known:
            return
        assert reading.allowed is not None and reading.count is not None and reading.reset_s is not None
        self.readings += 1
        reset = math.ceil(reading.reset_s)
        latest_end, earliest_end = now + reset, sent_at + reset - 1
        window = self._window
        if window is None or now >= window.end or earliest_end > window.end:
            # A new window: it opened at least a minute before its earliest end, less a second for requests
            # of ours still on their way when it opened (counting too many of ours errs towards "ours").
            own = self._own_since(earliest_end - WINDOW_S - 1, now)
            others = max(0, reading.count - own)
            self._window = window = _Window(
                latest_end, earliest_end, reading.allowed, now, own, others, reading.count, now
            )
        else:
            window.end = min(window.end, latest_end)
            window.earliest_end = min(window.earliest_end, earliest_end)
            window.allowed = reading.allowed
            if reading.count >= window.count:
                window.count, window.count_t = reading.count, now
        window.own = self._own_since(window.earliest_end - WINDOW_S - 1, now)
        window.others = max(window.others, reading.count - window.own)
        self.shared_seen = max(self.shared_seen, window.others)
        self._learn_share(window)

    def _learn_share(self, window: _Window) -> None:
        ours = window.own - window.own_at_first
        theirs = max(0, window.others - window.others_at_first)
        if self.policy.learn and ours > 0 and ours + theirs >= EVIDENCE:
            self.share = min(1.0, max(MIN_SHARE, ours / (ours + theirs)))
            self.least_share = min(self.least_share, self.share)

    def wait_s(self, now: float) -> float:
        """How long to wait before the next request: until the window's reset when it is nearly spent."""
        window = self._window
        if window is None:
            return 0.0
        if now >= window.end:
            self._window = None  # reset: the next answer opens the new window
            return 0.0
        spent: float = window.count + self._own_since(window.count_t, now, after=True)
        span = window.count_t - window.first_t
        if span >= 1.0:
            spent += (window.others - window.others_at_first) / span * (now - window.count_t)
        reserve = max(2, math.ceil(0.05 * window.allowed))
        return window.end - now if spent >= window.allowed - reserve else 0.0

    def on_rate_limited(self, now: float) -> None:
        """A 429 says the rate was too high, whatever the headers said (or if they said nothing)."""
        self.rate_limited += 1
        if self.policy.learn:
            self.share = max(MIN_SHARE, self.share / 2)
            self._halved_at = now
            self.least_share = min(self.least_share, self.share)

    def _own_since(self, start: float, now: float, *, after: bool = False) -> int:
        return sum(1 for t in self._sends if (t > start if after else t >= start) and t <= now)

    def report(self) -> dict[str, Any]:
        """What the run learned, for its metadata."""
        if self.readings:
            scope = "shared with other tokens" if self.shared_seen else "this token's own"
        else:
            scope = "unknown (no answer told the window's count)"
        rate = self.rate_per_s()
        return {
            "limit_per_minute": self.limit_per_minute,
            "limit_source": self.source,
            "budget": scope,
            "others_requests_seen": self.shared_seen,
            "share": round(self.share, 3),
            "least_share": round(self.least_share, 3),
            "run_rate_per_minute": None if rate is None else round(rate * 60, 1),
            "answers_with_window": self.readings,
            "answers_without_headers": self.without_headers,
            "header_values_ignored": self.ignored,
            "header_notes": list(self.notes),
            "rate_limited_429": self.rate_limited,
        }
