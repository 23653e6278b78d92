"""What an answer's parsed items leave out: ``Rejected`` items (which, where, why, never the raw value) and
``Listing``, a list of parsed items that says what was rejected and whether paging stopped early."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from recording_assets.genesys.fields import ResponseFormatError, optional_id
from recording_assets.genesys.redact import clean_text

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Rejected:
    """An answer item left out because it cannot be placed or trusted: what it was, its position in the
    answer, the id it named when that id is safe to repeat, and why (field and problem, never the raw value)."""

    what: str  # "conversation", "batch result", "recording metadata"
    index: int
    reason: str
    conversation_id: str | None = None


class Listing(list, Generic[T]):
    """Parsed items of one answer (or of all the pages of a listing), with what was left out and why
    (``rejected``) and whether paging stopped before its end (``complete`` / ``incomplete_reason``)."""

    def __init__(self, items: Iterable[T] = ()) -> None:
        super().__init__(items)
        self.rejected: list[Rejected] = []
        self.complete = True
        self.incomplete_reason: str | None = None

    def incomplete(self, reason: str) -> None:
        self.complete = False
        self.incomplete_reason = reason


def reject(what: str, index: int, raw: Any, error: ResponseFormatError) -> Rejected:
    """A ``Rejected`` for item ``index`` of an answer, naming its conversation when that id is safe."""
    cid = raw.get("conversationId") if isinstance(raw, dict) else None
    problems: list[str] = []
    safe = optional_id(cid, field="conversationId", problems=problems)
    return Rejected(what, index, clean_text(str(error)), safe)
