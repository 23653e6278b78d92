"""What discovery found: the ``Discovery`` it returns, and the de-duplicating ``Seen`` its pagers feed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from recording_assets.genesys.conversations import ConversationSummary
from recording_assets.genesys.fields import ResponseFormatError
from recording_assets.genesys.listing import Rejected, reject
from recording_assets.genesys.session_log import SessionLog


@dataclass
class Discovery:
    """The conversations found, and how: for metadata and for "is this day complete?"."""

    conversations: list[ConversationSummary] = field(default_factory=list)
    method: str = "query"  # "query" or "jobs": the route that read the window
    route_reason: str | None = None  # why that route (discovery_route.choose_route), and any fallback
    pages: int = 0
    windows: int = 0
    extra_passes: int = 0
    complete: bool = True
    incomplete_reason: str | None = None
    rejected: list[Rejected] = field(default_factory=list)  # conversations left out at the boundary
    sessions: SessionLog = field(default_factory=SessionLog)  # of the conversations, by id

    def restart(self, method: str, reason: str) -> None:
        """Read the window again by ``method``: what the route before it left incomplete no longer counts."""
        self.method, self.route_reason = method, reason
        self.complete, self.incomplete_reason = True, None
        self.rejected = []

    def incomplete(self, reason: str) -> None:
        """Mark the discovery incomplete, adding ``reason`` to any given before."""
        self.complete = False
        if self.incomplete_reason and reason not in self.incomplete_reason:
            self.incomplete_reason = f"{self.incomplete_reason}; {reason}"
        else:
            self.incomplete_reason = reason


def iso(moment: datetime) -> str:
    return (
        moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


class Seen(dict):
    """The conversations read so far, by id (a later copy replaces an earlier one), handing on the new ones
    and listing those that cannot be placed in ``found.rejected``."""

    def __init__(self, start: datetime, end: datetime, on_new, found: Discovery) -> None:
        super().__init__()
        self._start, self._end, self._on_new, self._found = start, end, on_new, found
        self._rejected: set[tuple] = set()

    def forget_rejected(self) -> None:
        """The window is read again from the start: its rejections are listed again as they come."""
        self._rejected.clear()

    async def absorb(self, page: Mapping[str, Any]) -> tuple[list[str], int]:
        """Take a page's conversations; return their ids, in page order (a rejected one has none), and how
        many items the page held."""
        ids, new = [], []
        items = page.get("conversations")
        if items is not None and not isinstance(items, list):
            raise ResponseFormatError(f"expected a list in 'conversations', got {type(items).__name__}")
        for index, raw in enumerate(items or []):
            try:
                conversation, sessions = ConversationSummary.parse(raw)
            except ResponseFormatError as error:
                rejected = reject("conversation", index, raw, error)
                key = (rejected.reason, json.dumps(raw, sort_keys=True, default=str)[:4096])
                if key not in self._rejected:  # the same item on a page read again is one rejection
                    self._rejected.add(key)
                    self._found.rejected.append(rejected)
                continue
            cid = conversation.conversation_id
            if cid not in self and self._start <= conversation.conversation_start < self._end:
                new.append(conversation)
            self[cid] = conversation
            self._found.sessions.put(cid, sessions)
            ids.append(cid)
        if new and self._on_new is not None:
            await self._on_new(new)
        return ids, len(items or [])
