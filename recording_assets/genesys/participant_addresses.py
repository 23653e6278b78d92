"""Participant addresses of an analytics conversation: personal data, read at the trust boundary.

Analytics details give each session the addresses it connected (docs/genesys-api.md §3.1,
``AnalyticsSession``): ``ani`` / ``dnis`` for voice (``tel:+1...`` or bare digits, the form is not
documented), ``addressFrom`` / ``addressTo`` for e-mail and messages. They are kept so an erasure can find a
data subject's recordings (``pipeline/erasure.py``); they are never logged, and a refused value is
described by its field and kind, never repeated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from recording_assets.genesys.fields import describe

SESSION_ADDRESS_FIELDS = ("ani", "dnis", "addressFrom", "addressTo")
MAX_ADDRESS_CHARS = 256  # an e-mail address is at most 254; a phone URI far less
# Per conversation. An e-mail to a long distribution list or a large conference is still a conversation
# whose recordings must archive; beyond 1,000 the answer is hostile (and fails its conversation).
MAX_ADDRESSES = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def address_problem(value: Any) -> str | None:
    """Why ``value`` is not a usable address (without repeating it), or None."""
    if not isinstance(value, str):
        return f"expected a string, got {describe(value)}"
    if not value.strip():
        return "blank"
    if len(value) > MAX_ADDRESS_CHARS:
        return f"longer than {MAX_ADDRESS_CHARS} characters ({len(value)})"
    if _CONTROL.search(value):
        return f"control characters in {describe(value)}"
    return None


def session_addresses(session: Mapping[str, Any], into: list[str], problems: list[str]) -> None:
    """Add the session's addresses to ``into`` (each once, stripped); a refused one is named in
    ``problems`` by its field and kind and dropped."""
    for name in SESSION_ADDRESS_FIELDS:
        value = session.get(name)
        if value in (None, ""):
            continue
        problem = address_problem(value)
        if problem is not None:
            problems.append(f"{name}: {problem}")
            continue
        address = value.strip()
        if address in into:
            continue
        if len(into) >= MAX_ADDRESSES:
            problems.append(f"{name}: more than {MAX_ADDRESSES} participant addresses, the rest dropped")
            return
        into.append(address)
