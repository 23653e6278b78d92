"""The day's analytics sessions, kept column by column beside the conversations, not inside them.

A 100,000-conversation day has some 350,000 sessions. As ``SessionSummary`` objects, held for the whole
run with their conversations, they took about 310 bytes each; here about 130 (times as integers in two
arrays, the repeated words shared). Discovery fills it page by page (``Discovery.sessions``); the metadata
table reads it once.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from recording_assets.genesys.conversations import SessionSummary

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
ABSENT = -(2**63)  # an absent time


class SessionLog:
    def __init__(self) -> None:
        self._where: dict[str, tuple[int, int]] = {}  # conversation id -> (first row, rows)
        # The ids as Arrow lays strings out: their UTF-8 bytes end to end, where each ends, and which exist.
        self._id_bytes = bytearray()
        self._id_ends = array("q", [0])
        self._has_id = bytearray()
        self._media: list[str | None] = []
        self._message: list[str | None] = []
        self._direction: list[str | None] = []
        self._start = array("q")
        self._end = array("q")
        self._recorded = bytearray()

    def put(self, conversation_id: str, sessions: Sequence[SessionSummary]) -> None:
        """The sessions of ``conversation_id``; a later copy of a conversation (a page read again) replaces
        the earlier one (whose rows stay, unreferenced: repeats are rare)."""
        self._where[conversation_id] = (len(self._has_id), len(sessions))
        for session in sessions:
            self._id_bytes += (session.session_id or "").encode()
            self._id_ends.append(len(self._id_bytes))
            self._has_id.append(session.session_id is not None)
            self._media.append(session.media_type)
            self._message.append(session.message_type)
            self._direction.append(session.direction)
            self._start.append(_micros(session.start))
            self._end.append(_micros(session.end))
            self._recorded.append(session.recorded)

    def spans(self, conversation_ids: Sequence[str]) -> tuple[array, array]:
        """(offsets, rows) for ``conversation_ids`` in order: the i-th one's sessions are the rows
        ``rows[offsets[i]:offsets[i + 1]]`` of ``columns`` (none for one the log does not hold)."""
        offsets, rows = array("q", [0]), array("q")
        for conversation_id in conversation_ids:
            first, count = self._where.get(conversation_id, (0, 0))
            rows.extend(range(first, first + count))
            offsets.append(len(rows))
        return offsets, rows

    def columns(self) -> dict[str, Any]:
        """Every row put, in order, by field of ``SessionSummary``: the ids as (UTF-8 bytes end to end,
        int64 end offsets from a leading 0, bytes 0/1 for present), the other words as lists, the times as
        microseconds since the epoch (``ABSENT`` for none), ``recorded`` as bytes 0/1."""
        return {
            "session_id": (self._id_bytes, self._id_ends, self._has_id),
            "media_type": self._media,
            "message_type": self._message,
            "direction": self._direction,
            "start": self._start,
            "end": self._end,
            "recorded": self._recorded,
        }


def _micros(moment: datetime | None) -> int:
    return ABSENT if moment is None else (moment - _EPOCH) // _MICROSECOND
