"""Hostile answers: the sandbox playing a Genesys (or a media host) that cannot be trusted.

Everything that arrives from Genesys or a media host is untrusted input to the archiver. ``Hostile``
(``SandboxConfig.hostile``, ``--hostile`` on the command line) makes the sandbox send such input, so the
client's guards can be shown working over real HTTP. Two kinds:

- **item scenarios** (``ITEM_SCENARIOS``): each plays on exactly one conversation of a day (one with a
  single AVAILABLE audio recording, picked by a seeded hash), so hostile items stay a small minority and a
  test can check that every well-formed recording of the day still archives. ``HostileState.targets``
  names, per day, which conversation and recording each one plays on (also ``GET /__sandbox/hostile``);
- **call scenarios**: a whole kind of answer turns hostile (token answers, a pager), for tests of that
  kind of answer alone.

The default plays nothing: the well-formed behaviour stays the default. ``Hostile.parse`` reads the
command line's ``--hostile items`` (every item scenario), ``--hostile queue_traversal,gzip_bomb`` or
``--hostile items,canary_url=http://127.0.0.2:9000/x``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import threading
import typing
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from recording_assets.sandbox.ids import fraction
from recording_assets.sandbox.org import AVAILABLE, Conversation, Recording, SyntheticOrg

ITEM_SCENARIOS: dict[str, str] = {
    "queue_traversal": "analytics: the conversation's segments carry queueId '../../x'",
    "slash_recording_id": "batch: the result's recordingId contains '/' ('<id>/../x')",
    "untyped_media": "batch: the result has no contentType, and its media answers without Content-Type",
    "crlf_content_type": "batch: the result's contentType carries CR/LF and a header after it",
    "idna_result_url": "batch: the result's resultUrl has a malformed IDNA host (xn--a)",
    "nul_result_url": "batch: the result's resultUrl contains a NUL character",
    "canary_redirect": "media: 302 to canary_url (a non-allowlisted loopback address, say)",
    "downgrade_redirect": "media: 302 to canary_url over plain http (from https when the sandbox has TLS)",
    "html_metadata": "recordingmetadata: 200 text/html instead of JSON",
    "numeric_file_state": "recordingmetadata: fileState is the number 3",
    "numeric_direction": "analytics: originatingDirection is the number 1",
    "no_conversation_start": "analytics: the conversation has no conversationStart",
    "trickle_media": "media: the promised Content-Length, one byte every trickle_interval_s",
    "gzip_bomb": "recordingmetadata: a gzip body that inflates to gzip_bomb_bytes",
    "transient_media_404": "media: the first GET answers 404 NoSuchKey, the next ones the bytes",
}
MIB = 1 << 20
HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Single sign-on</h1>"
    b"<p>Your session has expired. Please sign in again.</p></body></html>"
)


@dataclass(frozen=True)
class Hostile:
    """Which hostile answers the sandbox plays (all off by default)."""

    items: frozenset[str] = frozenset()  # item scenarios played, each on one conversation a day
    html_token_answers: int = 0  # the first N token answers are 200 text/html pages
    token_expires_in: Any = None  # not None: every token answer claims this expires_in (0, -5, "x" ...)
    repeating_pages: bool = False  # details query: every pageNumber answers page 1 again (a full page)
    understated_total: bool = False  # details query: totalHits 1, however many pages follow
    cycling_cursor: bool = False  # job results: the third page's cursor points back to the second's (A->B->A)
    canary_url: str = "http://127.0.0.2:9/canary"  # where canary_redirect (and downgrade_redirect) point
    trickle_interval_s: float = 1.5
    gzip_bomb_bytes: int = 300 * MIB

    def __post_init__(self) -> None:
        if not isinstance(self.items, frozenset):
            object.__setattr__(self, "items", frozenset(self.items))
        unknown = sorted(self.items - set(ITEM_SCENARIOS))
        if unknown:
            raise ValueError(
                f"unknown hostile item scenarios {unknown}; choose from {', '.join(ITEM_SCENARIOS)}"
            )
        if self.html_token_answers < 0 or self.gzip_bomb_bytes < 1 or self.trickle_interval_s < 0:
            raise ValueError(
                "hostile html_token_answers, gzip_bomb_bytes and trickle_interval_s must be >= 0"
            )

    @property
    def active(self) -> bool:
        return self != Hostile()

    @classmethod
    def parse(cls, text: str) -> Hostile:
        """``items`` (every item scenario), scenario and switch names, and ``field=value``, comma-separated."""
        values: dict[str, Any] = {}
        items: set[str] = set()
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, sep, value = part.partition("=")
            name = name.strip().replace("-", "_")
            if not sep and name in ("items", "all", "hostile"):
                items.update(ITEM_SCENARIOS)
            elif not sep and name in ITEM_SCENARIOS:
                items.add(name)
            elif not sep and hints.get(name) is bool:
                values[name] = True
            elif sep and name in names and name != "items":
                values[name] = _read(hints[name], value.strip())
            else:
                raise ValueError(
                    f"hostile {part!r}: use 'items', a scenario ({', '.join(ITEM_SCENARIOS)}), a switch "
                    "(repeating_pages, understated_total, cycling_cursor) or field=value "
                    "(html_token_answers, token_expires_in, canary_url, trickle_interval_s, gzip_bomb_bytes)"
                )
        return cls(items=frozenset(items), **values)


def _read(kind: Any, value: str) -> Any:
    if kind is int:
        return int(value)
    if kind is float:
        return float(value)
    if kind is bool:
        return value.lower() in ("1", "true", "yes")
    if kind is Any:  # token_expires_in: a number when it reads as one, the text otherwise
        for convert in (int, float):
            try:
                return convert(value)
            except ValueError:
                pass
        return value
    return value


@dataclass(frozen=True)
class Target:
    scenario: str
    conversation_id: str
    recording_id: str


@dataclass
class HostileState:
    """The plan (which conversation plays which item scenario, per day) and what was served."""

    hostile: Hostile
    org: SyntheticOrg
    served: Counter = field(default_factory=Counter)  # scenario -> answers played
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _plans: dict[int, dict[str, Target]] = field(default_factory=dict, repr=False)
    _media_gets: Counter = field(default_factory=Counter, repr=False)
    _token_answers: int = 0

    def targets(self, day: dt.date) -> dict[str, Target]:
        """Item scenario -> the conversation and recording it plays on that UTC day."""
        return dict(self._plan(day.toordinal()))

    def _plan(self, ordinal: int) -> dict[str, Target]:
        with self._lock:
            plan = self._plans.get(ordinal)
        if plan is not None:
            return plan
        scenarios = [s for s in ITEM_SCENARIOS if s in self.hostile.items]
        plan = {}
        if scenarios:
            eligible = [
                c for c in self.org.conversations_for_day(dt.date.fromordinal(ordinal)) if _eligible(c)
            ]
            eligible.sort(key=lambda c: fraction(self.org.seed, "hostile", c.id))
            for scenario, conv in zip(scenarios, eligible, strict=False):
                plan[scenario] = Target(scenario, conv.id, conv.recordings[0].id)
        with self._lock:
            self._plans[ordinal] = plan
        return plan

    def scenario(self, conversation: Conversation | None) -> str | None:
        """The item scenario ``conversation`` plays, if any."""
        if conversation is None or conversation.live or not self.hostile.items:
            return None
        for target in self._plan(conversation.day_ordinal).values():
            if target.conversation_id == conversation.id:
                return target.scenario
        return None

    def recording_scenario(self, recording: Recording | None) -> str | None:
        return None if recording is None else self.scenario(recording.conversation)

    def played(self, scenario: str) -> None:
        with self._lock:
            self.served[scenario] += 1

    def first_media_get(self, recording_id: str) -> bool:
        with self._lock:
            self._media_gets[recording_id] += 1
            return self._media_gets[recording_id] == 1

    def html_token_answer(self) -> bool:
        """True when this token request should be answered with an HTML page."""
        with self._lock:
            self._token_answers += 1
            return self._token_answers <= self.hostile.html_token_answers

    def snapshot(self, day: dt.date | None) -> dict[str, Any]:
        out: dict[str, Any] = {"served": dict(self.served)}
        if day is not None:
            out["targets"] = {
                name: {"conversationId": t.conversation_id, "recordingId": t.recording_id}
                for name, t in self.targets(day).items()
            }
        return out


def _eligible(conv: Conversation) -> bool:
    if conv.live or conv.media_type != "voice" or len(conv.recordings) != 1:
        return False
    rec = conv.recordings[0]
    return rec.media == "audio" and rec.file_state == AVAILABLE and not rec.sensitive and not rec.giant_bytes


# ---- what each scenario does to an answer --------------------------------------------------------------
def conversation_answer(scenario: str | None, rendered: dict[str, Any]) -> dict[str, Any]:
    """An analytics conversation as the scenario has it."""
    if scenario == "queue_traversal":
        for participant in rendered.get("participants", []):
            for session in participant.get("sessions", []):
                for segment in session.get("segments", []):
                    if "queueId" in segment:
                        segment["queueId"] = "../../x"
    elif scenario == "numeric_direction":
        rendered["originatingDirection"] = 1
    elif scenario == "no_conversation_start":
        rendered.pop("conversationStart", None)
    return rendered


def batch_item(scenario: str | None, item: dict[str, Any]) -> dict[str, Any]:
    """A batch result as the scenario has it (only results that carry a URL are changed)."""
    url = item.get("resultUrl")
    if url is None:
        return item
    if scenario == "slash_recording_id":
        item["recordingId"] = f"{item.get('recordingId')}/../x"
    elif scenario == "untyped_media":
        item.pop("contentType", None)
    elif scenario == "crlf_content_type":
        item["contentType"] = f"{item.get('contentType')}\r\nX-Injected: yes"
    elif scenario == "idna_result_url":
        scheme, _, rest = url.partition("://")
        item["resultUrl"] = f"{scheme}://xn--a.example/{rest.partition('/')[2]}"
    elif scenario == "nul_result_url":
        item["resultUrl"] = url.replace("/media/", "/media/\x00", 1)
    return item


def metadata_item(scenario: str | None, item: dict[str, Any]) -> dict[str, Any]:
    if scenario == "numeric_file_state":
        item["fileState"] = 3
    return item


@functools.lru_cache(maxsize=4)
def gzip_bomb(inflated_bytes: int) -> bytes:
    """A gzip stream of ``[`` and spaces that inflates to ``inflated_bytes`` (about 1 KiB per MiB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [packer.compress(b"[")]
    block = b" " * MIB
    left = inflated_bytes - 1
    while left > 0:
        parts.append(packer.compress(block[: min(left, MIB)]))
        left -= MIB
    parts.append(packer.flush())
    return b"".join(parts)
