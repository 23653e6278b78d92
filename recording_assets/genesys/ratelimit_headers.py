"""The ``inin-ratelimit-*`` headers of one answer, read as untrusted input.

Genesys sends ``inin-ratelimit-allowed`` (the limit), ``inin-ratelimit-count`` (requests counted in the
current window) and ``inin-ratelimit-reset`` (seconds until the window resets) on its answers
(docs/genesys-api.md §7). A proxy may strip them and anything on the way may mangle them, so each value is
checked on its own, and each decision carries its reason: a value that cannot be a limit, a count or a
time is ignored; one past a sane bound is clamped where that paces harder (a count, a reset) and ignored
where it would pace looser (a limit). Nothing here raises, and no value can stop pacing (an ``allowed`` of
0, a reset of ``inf``) or lift it (an ``allowed`` of 10^12).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

ALLOWED = "inin-ratelimit-allowed"
COUNT = "inin-ratelimit-count"
RESET = "inin-ratelimit-reset"
WINDOW_S = 60.0  # "per minute": no reset is further away than that
MAX_ALLOWED = 3000  # per minute: ten times the documented 300; a larger "limit" is not believed
_MAX_DIGITS = 12  # longer numbers are not parsed at all (int("9" * 10**6) costs seconds)


@dataclass(frozen=True)
class WindowReading:
    """What one answer says of the rate-limit window; None where its header was absent or ignored."""

    allowed: int | None = None  # requests per window, 1..MAX_ALLOWED
    count: int | None = None  # requests counted in the window, this one included (>= 1)
    reset_s: float | None = None  # seconds until the window resets, 0..WINDOW_S
    notes: tuple[str, ...] = ()  # why a value present was ignored or clamped

    @property
    def spent_known(self) -> bool:
        """Whether it says how much of the window is spent (all three values readable)."""
        return self.allowed is not None and self.count is not None and self.reset_s is not None


def read_window(headers: Mapping[str, str]) -> WindowReading:
    notes: list[str] = []
    allowed = _whole(headers.get(ALLOWED), ALLOWED, notes)
    if allowed is not None and allowed < 1:
        notes.append(
            f"{ALLOWED} {_shown(headers[ALLOWED])} ignored: a limit below 1 would stop every request"
        )
        allowed = None
    elif allowed is not None and allowed > MAX_ALLOWED:
        notes.append(f"{ALLOWED} {_shown(headers[ALLOWED])} ignored: above {MAX_ALLOWED}, not believed")
        allowed = None
    count = _whole(headers.get(COUNT), COUNT, notes)
    if count is not None and count < 1:
        # The request answered is counted itself: 0 comes from answers no window counted (a 401).
        notes.append(f"{COUNT} {_shown(headers[COUNT])} ignored: the answer was not counted in a window")
        count = None
    elif count is not None and allowed is not None and count > 10 * allowed:
        notes.append(f"{COUNT} {_shown(headers[COUNT])} clamped to {10 * allowed} (ten times the limit)")
        count = 10 * allowed
    reset = _seconds(headers.get(RESET), notes)
    return WindowReading(allowed, count, reset, tuple(notes))


def _shown(raw: str) -> str:
    text = raw.strip()
    return repr(text if len(text) <= 24 else text[:24] + "...")


def _whole(raw: str | None, name: str, notes: list[str]) -> int | None:
    if raw is None:
        return None
    text = raw.strip()
    digits = text[1:] if text[:1] in "+-" else text
    if not digits.isascii() or not digits.isdigit():
        notes.append(f"{name} {_shown(raw)} ignored: not a whole number")
        return None
    if len(digits) > _MAX_DIGITS:
        # Beyond any limit or count: too large if positive, meaningless if negative.
        return -1 if text.startswith("-") else 10**_MAX_DIGITS
    return int(text)


def _seconds(raw: str | None, notes: list[str]) -> float | None:
    if raw is None:
        return None
    text = raw.strip()
    try:
        value = float(text) if len(text) <= 32 else math.nan
    except ValueError:
        value = math.nan
    if math.isnan(value) or value == -math.inf:
        notes.append(f"{RESET} {_shown(raw)} ignored: not a number of seconds")
        return None
    if value < 0:
        notes.append(f"{RESET} {_shown(raw)} ignored: a reset in the past")
        return None
    if value > WINDOW_S:  # 'inf' included: a pause until then would last for ever
        notes.append(f"{RESET} {_shown(raw)} clamped to {WINDOW_S:.0f} s (the window)")
        return WINDOW_S
    return value
