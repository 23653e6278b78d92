"""The synthetic Genesys Cloud org: people, queues and every conversation and recording of every day.

Each UTC day is generated lazily from (seed, date) and cached, so the same config always yields the
same ids and bytes and a day nobody asks for costs nothing. Objects are kept small (``__slots__``,
ids computed on first use) because a benchmark day holds 100,000 recordings.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from recording_assets.sandbox import media
from recording_assets.sandbox.dialect import Dialect
from recording_assets.sandbox.ids import IdCodec, stable_int, stable_uuid
from recording_assets.sandbox.retention import RetentionLedger
from recording_assets.sandbox.timefmt import DAY_MS, day_of_ms, day_start_ms

# Id kinds encoded into conversation / recording UUIDs.
_CONVERSATION, _RECORDING, _LIVE_CONVERSATION, _LIVE_RECORDING = 1, 2, 3, 4

AVAILABLE, ARCHIVED, DELETED, UPLOADING = "AVAILABLE", "ARCHIVED", "DELETED", "UPLOADING"
RETENTION_DAYS = 90

_HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 4, 8, 14, 16, 16, 15, 13, 15, 16, 15, 13, 10, 7, 5, 4, 3, 2, 1)
_HOUR_CUMULATIVE = [sum(_HOUR_WEIGHTS[: h + 1]) for h in range(24)]
_FIRST = (
    "Ava",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kemi",
    "Luca",
    "Maya",
    "Nikhil",
    "Olga",
    "Pedro",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
)
_LAST = (
    "Adams",
    "Bauer",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jansen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Patel",
    "Rossi",
    "Silva",
    "Tanaka",
    "Weber",
)
_QUEUES = ("Sales", "Support", "Billing", "Retention", "Technical", "Claims", "Onboarding", "Collections")
_WRAPUPS = (
    "Resolved",
    "Follow-up required",
    "Escalated",
    "Callback scheduled",
    "Wrong number",
    "Billing question",
    "Order placed",
    "Cancelled",
    "Information provided",
    "Complaint",
)
AGENT_COUNT = 40
# What the names endpoints cannot answer (routes_names.py): the last agents left the org (their users are
# deleted), one queue and one wrap-up code were deleted, though old conversations still carry their ids.
DELETED_AGENTS = 3
DELETED_QUEUE, DELETED_WRAPUP = len(_QUEUES) - 1, len(_WRAPUPS) - 1
_DIVISIONS = ("Sales", "Support", "Collections", "Partners")


@dataclass(frozen=True)
class Named:
    id: str
    name: str


class Directory:
    """The org's people and routing objects; fixed per seed."""

    def __init__(self, seed: int, divisions: int = 1) -> None:
        self.organization = Named(stable_uuid(seed, "org"), f"Sandbox Org {seed}")
        self.division = Named(stable_uuid(seed, "division"), "Home")  # the home division
        self.seed = seed
        self.divisions = (self.division,) + tuple(
            Named(stable_uuid(seed, "division", i), _DIVISIONS[(i - 1) % len(_DIVISIONS)] + f" {i}")
            for i in range(1, divisions)
        )
        rng = random.Random(stable_int(seed, "directory"))
        self.agents = tuple(
            Named(stable_uuid(seed, "agent", i), f"{rng.choice(_FIRST)} {rng.choice(_LAST)}")
            for i in range(AGENT_COUNT)
        )
        self.queues = tuple(Named(stable_uuid(seed, "queue", i), name) for i, name in enumerate(_QUEUES))
        self.wrapups = tuple(Named(stable_uuid(seed, "wrapup", i), name) for i, name in enumerate(_WRAPUPS))

    def email_of(self, agent: Named) -> str:
        return agent.name.lower().replace(" ", ".") + f".{agent.id[:4]}@sandbox.example"

    def agent_deleted(self, agent: Named) -> bool:
        return self.agents.index(agent) >= AGENT_COUNT - DELETED_AGENTS

    def division_of(self, conversation_id: str) -> Named:
        """The conversation's division: spread by a hash of its id, so generation draws nothing more."""
        if len(self.divisions) == 1:
            return self.division
        return self.divisions[
            stable_int(self.seed, "conversation-division", conversation_id) % len(self.divisions)
        ]


class Recording:
    """One recorded leg / transcript / screen capture of a conversation, in its native container."""

    __slots__ = (
        "conversation",
        "sub",
        "media",
        "subtype",
        "file_state",
        "sensitive",
        "codec",
        "start_ms",
        "end_ms",
        "role",
        "giant_bytes",
        "_id",
    )

    def __init__(
        self,
        conversation: Conversation,
        sub: int,
        media_kind: str,
        subtype: str | None,
        file_state: str,
        sensitive: bool,
        codec: str,
        start_ms: int,
        end_ms: int,
        role: str,
    ) -> None:
        self.conversation = conversation
        self.sub = sub
        self.media = media_kind  # audio | screen | chat | email | message
        self.subtype = subtype  # Trunk | Consult | Screen | None
        self.file_state = file_state  # the settled state; the API shows UPLOADING while the call is live
        self.sensitive = sensitive
        self.codec = codec  # native container, see media.CONTAINERS
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.role = role  # which participant's session recorded it: customer | agent | consult
        self.giant_bytes = 0
        self._id: str | None = None

    @property
    def id(self) -> str:
        if self._id is None:
            conv = self.conversation
            kind = _LIVE_RECORDING if conv.live else _RECORDING
            self._id = conv.org.codec.encode(kind, conv.day_ordinal, conv.index, self.sub)
        return self._id

    @property
    def conversation_id(self) -> str:
        return self.conversation.id

    @property
    def session_id(self) -> str:
        return self.conversation.session_id(self.role)

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    @property
    def archive_date_ms(self) -> int | None:
        restoration = self.conversation.org.retention.restoration(self.id)
        if restoration is not None:
            return restoration.until_ms  # restored until then, when it returns to the archive tier
        return self.conversation.end_ms if self.file_state == ARCHIVED else None

    @property
    def restore_expiration_ms(self) -> int | None:
        restoration = self.conversation.org.retention.restoration(self.id)
        return restoration.until_ms if restoration is not None else None

    @property
    def delete_date_ms(self) -> int | None:
        """When the org's retention deletes it; None once a PUT removed the date (kept until changed)."""
        swept = self.conversation.org.retention.deleted_at(self.id)
        if swept is not None:
            return swept
        if self.file_state == DELETED:
            return self.conversation.end_ms
        return self.conversation.org.retention.delete_date(
            self.id, self.conversation.start_ms + RETENTION_DAYS * DAY_MS
        )

    def file_state_at(self, now_ms: int) -> str:
        if self.conversation.end_ms > now_ms:
            return UPLOADING
        # What the org's retention did since the sandbox started (restorations, sweeps): sandbox/retention.py
        return self.conversation.org.retention.state_of(self.id, self.file_state, now_ms)

    def __repr__(self) -> str:
        return f"Recording({self.id}, {self.media}/{self.subtype}, {self.file_state}, {self.codec})"


class Conversation:
    """One interaction. Timeline: start -> queue -> alert -> talk -> wrap-up -> end."""

    __slots__ = (
        "org",
        "live",
        "day_ordinal",
        "index",
        "start_ms",
        "end_ms",
        "media_type",
        "screen",
        "direction",
        "agent",
        "consult_agent",
        "queue",
        "wrapup",
        "answered_ms",
        "talk_end_ms",
        "queue_end_ms",
        "consult_start_ms",
        "consult_end_ms",
        "recordings",
        "_id",
    )
    # Set when the org lays out the day (``_timeline`` and the live calls), not in __init__.
    start_ms: int
    end_ms: int
    media_type: str
    screen: bool
    direction: str
    agent: int
    queue: int
    wrapup: int
    answered_ms: int
    talk_end_ms: int
    queue_end_ms: int

    def __init__(self, org: SyntheticOrg, live: bool, day_ordinal: int, index: int) -> None:
        self.org = org
        self.live = live  # one of the config's guaranteed live calls
        self.day_ordinal = day_ordinal
        self.index = index
        self.recordings: tuple[Recording, ...] = ()
        self.consult_agent = -1
        self.consult_start_ms = self.consult_end_ms = 0
        self._id: str | None = None

    @property
    def id(self) -> str:
        if self._id is None:
            kind = _LIVE_CONVERSATION if self.live else _CONVERSATION
            self._id = self.org.codec.encode(kind, self.day_ordinal, self.index)
        return self._id

    @property
    def division(self) -> Named:
        return self.org.directory.division_of(self.id)

    def session_id(self, role: str) -> str:
        return stable_uuid(self.org.seed, self.id, "session", role)

    def participant_id(self, role: str) -> str:
        return stable_uuid(self.org.seed, self.id, "participant", role)

    def started(self, now_ms: int) -> bool:
        return self.start_ms <= now_ms

    def ended(self, now_ms: int) -> bool:
        return self.end_ms <= now_ms

    def is_live(self, now_ms: int) -> bool:
        return self.start_ms <= now_ms < self.end_ms

    @property
    def has_recording(self) -> bool:
        return bool(self.recordings)

    def __repr__(self) -> str:
        return f"Conversation({self.id}, {self.media_type}, {len(self.recordings)} recordings)"


class SyntheticOrg:
    """Lazily generated, cached per UTC day. Thread-safe: the server thread and tests both read it."""

    def __init__(
        self,
        *,
        seed: int,
        conversations_per_day: int,
        live_calls: int,
        media_scale: float,
        giant_recording_bytes: int,
        anchor_ms: int,
        cache_days: int = 8,
        dialect: Dialect | None = None,
        divisions: int = 1,
    ) -> None:
        self.seed = seed
        self.dialect = dialect or Dialect()
        self.conversations_per_day = conversations_per_day
        self.media_scale = media_scale
        self.giant_recording_bytes = giant_recording_bytes
        self.codec = IdCodec(seed)
        self.directory = Directory(seed, divisions)
        # The divisions whose conversations the client's roles let it see (None: all); SandboxState sets it.
        self.visible_divisions: frozenset[str] | None = None
        self.anchor_ms = anchor_ms  # the clock's time when the org was built: live calls are live then
        self._anchor_ordinal = day_of_ms(anchor_ms).toordinal()
        self._cache_days = cache_days
        self._days: OrderedDict[int, _Day] = OrderedDict()
        self._lock = threading.RLock()
        self._media_cache: dict[tuple[str, str], tuple[int, str]] = {}
        self.retention = RetentionLedger()  # SandboxState sizes it from its config
        self._live = self._make_live_calls(live_calls)

    # ---- public lookups -------------------------------------------------------------------------
    def visible(self, conv: Conversation) -> bool:
        """Analytics answers only conversations in divisions the client's roles cover."""
        return self.visible_divisions is None or conv.division.id in self.visible_divisions

    def conversations_for_day(self, day: dt.date) -> list[Conversation]:
        """Every conversation that starts on this UTC day (live calls included), ordered by start."""
        return list(self._day(day.toordinal()).conversations)

    def conversation(self, conversation_id: str) -> Conversation | None:
        decoded = self.codec.decode(conversation_id)
        if decoded is None or decoded.sub != 0:
            return None
        if decoded.kind == _CONVERSATION:
            regular = self._regular(decoded.day_ordinal)
            return regular[decoded.index] if decoded.index < len(regular) else None
        if decoded.kind == _LIVE_CONVERSATION and decoded.day_ordinal == self._anchor_ordinal:
            return self._live[decoded.index] if decoded.index < len(self._live) else None
        return None

    def recordings(self, conversation_id: str) -> list[Recording]:
        conv = self.conversation(conversation_id)
        return list(conv.recordings) if conv else []

    def recording(self, recording_id: str) -> Recording | None:
        decoded = self.codec.decode(recording_id)
        if decoded is None:
            return None
        if decoded.kind == _RECORDING:
            kind = _CONVERSATION
        elif decoded.kind == _LIVE_RECORDING:
            kind = _LIVE_CONVERSATION
        else:
            return None
        conv = self.conversation(self.codec.encode(kind, decoded.day_ordinal, decoded.index))
        if conv is None:
            return None
        for rec in conv.recordings:
            if rec.sub == decoded.sub:
                return rec
        return None

    def media_body(self, recording: Recording, format_id: str | None = None) -> media.MediaBody:
        """The exact bytes served for this recording in this format (None = native)."""
        container = media.container_for(recording, format_id)
        return media.body_for(self.seed, recording, container, self.media_scale)

    def media_size(self, recording_id: str, format_id: str | None = None) -> int:
        return self._media_facts(recording_id, format_id)[0]

    def media_sha256(self, recording_id: str, format_id: str | None = None) -> str:
        return self._media_facts(recording_id, format_id)[1]

    def media_content_type(self, recording_id: str, format_id: str | None = None) -> str:
        return self.media_body(self._require(recording_id), format_id).content_type

    def conversations_between(self, start_ms: int, end_ms: int) -> Iterable[Conversation]:
        """Conversations whose start is in [start_ms, end_ms), in start order."""
        day = start_ms // DAY_MS
        while day * DAY_MS < end_ms:
            cached = self._day(day + _EPOCH_DAY_OFFSET)
            lo = bisect.bisect_left(cached.starts, start_ms)
            hi = bisect.bisect_left(cached.starts, end_ms)
            yield from cached.conversations[lo:hi]
            day += 1

    # ---- generation -----------------------------------------------------------------------------
    def _require(self, recording_id: str) -> Recording:
        rec = self.recording(recording_id)
        if rec is None:
            raise KeyError(f"unknown recording {recording_id}")
        return rec

    def _media_facts(self, recording_id: str, format_id: str | None) -> tuple[int, str]:
        rec = self._require(recording_id)
        container = media.container_for(rec, format_id)
        key = (recording_id, container)
        with self._lock:
            cached = self._media_cache.get(key)
        if cached is None:
            body = media.body_for(self.seed, rec, container, self.media_scale)
            cached = (body.size, body.sha256())
            with self._lock:
                self._media_cache[key] = cached
        return cached

    def _day(self, ordinal: int) -> _Day:
        with self._lock:
            cached = self._days.get(ordinal)
            if cached is not None:
                self._days.move_to_end(ordinal)
                return cached
            regular = self._generate_day(ordinal)
            merged = regular
            if ordinal == self._anchor_ordinal and self._live:
                merged = sorted([*regular, *self._live], key=lambda c: c.start_ms)
            cached = _Day(regular, merged, [c.start_ms for c in merged])
            self._days[ordinal] = cached
            while len(self._days) > self._cache_days:
                self._days.popitem(last=False)
            return cached

    @property
    def generated_days(self) -> int:
        """How many days are generated and cached right now (at most ``cache_days``)."""
        with self._lock:
            return len(self._days)

    def _regular(self, ordinal: int) -> list[Conversation]:
        return self._day(ordinal).regular

    def _generate_day(self, ordinal: int) -> list[Conversation]:
        rng = random.Random(stable_int(self.seed, "day", ordinal))
        base = day_start_ms(dt.date.fromordinal(ordinal))
        total = _HOUR_CUMULATIVE[-1]
        starts: list[tuple[int, bool]] = []
        for _ in range(self.conversations_per_day):
            if rng.random() < 0.01:  # the ~1% that run past midnight
                starts.append((base + 84_600_000 + int(rng.random() * 1_800_000), True))
            else:
                hour = bisect.bisect_right(_HOUR_CUMULATIVE, rng.random() * total)
                starts.append((base + hour * 3_600_000 + int(rng.random() * 3_600_000), False))
        starts.sort()
        convs = []
        for index, (start_ms, spans_midnight) in enumerate(starts):
            conv = Conversation(self, False, ordinal, index)
            self._fill(conv, rng, start_ms, base + DAY_MS if spans_midnight else None)
            convs.append(conv)
        if self.giant_recording_bytes:
            self._mark_giant(convs)
        return convs

    def _fill(
        self, conv: Conversation, rng: random.Random, start_ms: int, must_end_after: int | None
    ) -> None:
        roll = rng.random()
        if roll < 0.60:
            conv.media_type, conv.screen = "voice", False
        elif roll < 0.68:
            conv.media_type, conv.screen = "voice", True
        elif roll < 0.80:
            conv.media_type, conv.screen = "chat", False
        elif roll < 0.90:
            conv.media_type, conv.screen = "email", False
        else:
            conv.media_type, conv.screen = "message", False
        outbound_share = {"voice": 0.2, "email": 0.1}.get(conv.media_type, 0.0)
        conv.direction = "outbound" if rng.random() < outbound_share else "inbound"
        conv.agent = rng.randrange(AGENT_COUNT)
        conv.queue = rng.randrange(len(_QUEUES))
        conv.wrapup = rng.randrange(len(_WRAPUPS))
        if conv.media_type == "voice":
            talk = min(3_600_000, max(20_000, int(rng.lognormvariate(math.log(240_000), 0.7))))
        elif conv.media_type == "chat":
            talk = rng.randint(180_000, 1_800_000)
        elif conv.media_type == "email":
            talk = rng.randint(60_000, 900_000)
        else:
            talk = rng.randint(120_000, 2_700_000)
        queue = rng.randint(5_000, 120_000) if conv.direction == "inbound" else 0
        alert = rng.randint(3_000, 15_000)
        wrap = rng.randint(10_000, 90_000)
        if must_end_after is not None:
            overshoot = (
                must_end_after + rng.randint(60_000, 1_800_000) - (start_ms + queue + alert + talk + wrap)
            )
            talk += max(0, overshoot)
        conv.start_ms = start_ms
        conv.queue_end_ms = start_ms + queue
        conv.answered_ms = conv.queue_end_ms + alert
        conv.talk_end_ms = conv.answered_ms + talk
        conv.end_ms = conv.talk_end_ms + wrap
        consult = conv.media_type == "voice" and rng.random() < 0.15
        if consult:
            conv.consult_agent = (conv.agent + 1 + rng.randrange(AGENT_COUNT - 1)) % AGENT_COUNT
            conv.consult_start_ms = conv.answered_ms + talk * 3 // 10
            conv.consult_end_ms = conv.answered_ms + talk * 6 // 10
        if rng.random() < 0.05:
            conv.screen = False  # nothing was captured, so analytics must not claim a screen recording
            return  # ~5% of conversations were never recorded
        conv.recordings = tuple(self._recordings_for(conv, rng, consult))

    def _recordings_for(self, conv: Conversation, rng: random.Random, consult: bool) -> list[Recording]:
        plan: list[tuple[str, str | None, str, int, int]] = []  # media, subtype, role, start, end
        if conv.media_type == "voice":
            plan.append(("audio", "Trunk", "customer", conv.start_ms, conv.talk_end_ms))
            if consult:
                plan.append(("audio", "Consult", "consult", conv.consult_start_ms, conv.consult_end_ms))
            if conv.screen:
                plan.append(("screen", "Screen", "agent", conv.answered_ms, conv.talk_end_ms))
        else:
            plan.append((conv.media_type, None, "customer", conv.start_ms, conv.talk_end_ms))
        recordings = []
        for sub, (kind, subtype, role, start, end) in enumerate(plan):
            roll = rng.random()
            if roll < 0.03:
                state, sensitive = ARCHIVED, False
            elif roll < 0.05:
                state, sensitive = DELETED, False
            else:
                state, sensitive = AVAILABLE, roll < 0.07
            recordings.append(
                Recording(
                    conv,
                    sub,
                    kind,
                    subtype,
                    state,
                    sensitive,
                    media.native_container(kind, rng.random()),
                    start,
                    end,
                    role,
                )
            )
        return recordings

    def _mark_giant(self, convs: list[Conversation]) -> None:
        for conv in convs:
            for rec in conv.recordings:
                if rec.media == "audio" and rec.file_state == AVAILABLE and not rec.sensitive:
                    rec.giant_bytes = self.giant_recording_bytes
                    return

    def _make_live_calls(self, count: int) -> list[Conversation]:
        """Voice calls in progress at the anchor time: started within the last hour (today), ending later."""
        rng = random.Random(stable_int(self.seed, "live", self._anchor_ordinal))
        day_start = day_start_ms(dt.date.fromordinal(self._anchor_ordinal))
        calls = []
        for index in range(count):
            conv = Conversation(self, True, self._anchor_ordinal, index)
            conv.media_type, conv.screen, conv.direction = "voice", False, "inbound"
            conv.agent = rng.randrange(AGENT_COUNT)
            conv.queue = rng.randrange(len(_QUEUES))
            conv.wrapup = rng.randrange(len(_WRAPUPS))
            conv.start_ms = max(day_start, self.anchor_ms - rng.randint(60_000, 3_600_000))
            # The agent is connected by the anchor time, however short the call has been running.
            pre = min(self.anchor_ms - conv.start_ms, rng.randint(10_000, 60_000))
            conv.queue_end_ms = conv.start_ms + pre * 2 // 3
            conv.answered_ms = conv.start_ms + pre
            conv.talk_end_ms = self.anchor_ms + rng.randint(20 * 60_000, 90 * 60_000)
            conv.end_ms = conv.talk_end_ms + rng.randint(10_000, 60_000)
            conv.recordings = (
                Recording(
                    conv,
                    0,
                    "audio",
                    "Trunk",
                    AVAILABLE,
                    False,
                    media.native_container("audio", rng.random()),
                    conv.start_ms,
                    conv.talk_end_ms,
                    "customer",
                ),
            )
            calls.append(conv)
        return calls

    @property
    def live_calls(self) -> list[Conversation]:
        return list(self._live)


_EPOCH_DAY_OFFSET = dt.date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class _Day:
    regular: list[Conversation]  # generated conversations, index = position
    conversations: list[Conversation]  # regular + live calls, ordered by start
    starts: list[int]  # start times of ``conversations``, for bisecting
