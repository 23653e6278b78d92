"""A conversation's participants, sessions and segments, derived on demand from its compact timeline.

Shared by the analytics views, the predicate matcher and the live Conversation endpoints, so a
participant id or session id is the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from recording_assets.sandbox.ids import stable_int
from recording_assets.sandbox.org import Conversation


@dataclass(frozen=True, slots=True)
class Segment:
    start_ms: int
    end_ms: int
    segment_type: str
    queue_id: str | None = None
    wrap_up_code: str | None = None
    disconnect_type: str | None = None


@dataclass(frozen=True, slots=True)
class Session:
    session_id: str
    media_type: str
    direction: str
    ani: str | None
    dnis: str | None
    recording: bool
    segments: tuple[Segment, ...]
    address_from: str | None = None  # e-mail and message sessions (AnalyticsSession.addressFrom / addressTo)
    address_to: str | None = None
    message_type: str | None = None  # message sessions (AnalyticsSession.messageType, free text in the SDK)


# Messaging channels as the SDK's messageType example names them ("sms, facebook, twitter, line") and the
# open-messaging ones it lists among engagement sources: the sandbox spreads message conversations over them.
MESSAGE_TYPES = ("sms", "facebook", "twitter", "line", "whatsapp", "open")


@dataclass(frozen=True, slots=True)
class Participant:
    role: str  # customer | acd | agent | consult
    participant_id: str
    purpose: str
    name: str
    user_id: str | None
    queue_id: str | None
    screen_recording: bool
    sessions: tuple[Session, ...]


def customer_number(conv: Conversation) -> str:
    """The customer's phone number of ``conv`` as voice sessions give it (``tel:+1555...``)."""
    return f"tel:+1555{stable_int(conv.org.seed, conv.id, 'ani') % 10_000_000:07d}"


def customer_email(conv: Conversation) -> str:
    return f"customer-{stable_int(conv.org.seed, conv.id, 'ani') % 10_000_000:07d}@mail.example"


def participants(conv: Conversation) -> list[Participant]:
    directory = conv.org.directory
    queue = directory.queues[conv.queue]
    recorded_roles = flagged_roles(conv)
    media_type = conv.media_type
    inbound = conv.direction == "inbound"
    voice = media_type == "voice"
    customer = customer_number(conv)
    service_number = f"tel:+1800555{conv.queue:04d}"
    ani: str | None
    dnis: str | None
    ani, dnis = (customer, service_number) if inbound else (service_number, customer)
    if not voice:
        ani = dnis = None
    # E-mail carries addresses, messages the customer's number as a bare E.164 string (another form of the
    # same phone number than voice's tel: URI: docs/genesys-behaviours.md, participant addresses).
    customer_address = {"email": customer_email(conv), "message": customer.removeprefix("tel:")}.get(
        media_type
    )
    service_address = {"email": f"queue-{conv.queue}@sandbox.example", "message": service_number[4:]}.get(
        media_type
    )
    address_from, address_to = (
        (customer_address, service_address) if inbound else (service_address, customer_address)
    )

    message_type = (
        MESSAGE_TYPES[stable_int(conv.org.seed, conv.id, "messageType") % len(MESSAGE_TYPES)]
        if media_type == "message"
        else None
    )

    def session(role: str, direction: str, segments: list[Segment]) -> Session:
        return Session(
            conv.session_id(role),
            media_type,
            direction,
            ani,
            dnis,
            role in recorded_roles,
            tuple(segments),
            address_from,
            address_to,
            message_type,
        )

    result = []
    customer_start = conv.start_ms if inbound else conv.answered_ms
    result.append(
        Participant(
            "customer",
            conv.participant_id("customer"),
            "customer",
            customer.removeprefix("tel:"),
            None,
            None,
            False,
            (
                session(
                    "customer",
                    conv.direction,
                    [Segment(customer_start, conv.talk_end_ms, "interact", None, None, "endpoint")],
                ),
            ),
        )
    )
    if inbound:
        result.append(
            Participant(
                "acd",
                conv.participant_id("acd"),
                "acd",
                queue.name,
                None,
                queue.id,
                False,
                (
                    session(
                        "acd",
                        "inbound",
                        [Segment(conv.start_ms, conv.queue_end_ms, "interact", queue.id, None, "transfer")],
                    ),
                ),
            )
        )
    agent = directory.agents[conv.agent]
    first = (
        Segment(conv.queue_end_ms, conv.answered_ms, "alert", queue.id)
        if inbound
        else Segment(conv.start_ms, conv.answered_ms, "dialing", queue.id)
    )
    result.append(
        Participant(
            "agent",
            conv.participant_id("agent"),
            "agent",
            agent.name,
            agent.id,
            queue.id,
            conv.screen,
            (
                session(
                    "agent",
                    conv.direction,
                    [
                        first,
                        Segment(conv.answered_ms, conv.talk_end_ms, "interact", queue.id, None, "peer"),
                        Segment(
                            conv.talk_end_ms,
                            conv.end_ms,
                            "wrapup",
                            queue.id,
                            directory.wrapups[conv.wrapup].id,
                        ),
                    ],
                ),
            ),
        )
    )
    if conv.consult_agent >= 0:
        consultant = directory.agents[conv.consult_agent]
        answered = min(conv.consult_start_ms + 3_000, conv.consult_end_ms)
        result.append(
            Participant(
                "consult",
                conv.participant_id("consult"),
                "agent",
                consultant.name,
                consultant.id,
                None,
                False,
                (
                    session(
                        "consult",
                        "inbound",
                        [
                            Segment(conv.consult_start_ms, answered, "alert"),
                            Segment(answered, conv.consult_end_ms, "interact", None, None, "endpoint"),
                        ],
                    ),
                ),
            )
        )
    if conv.org.dialect.screen_flags == "with_recording":
        # screenRecording set on every participant whose session is flagged, screen or not.
        result = [replace(p, screen_recording=True) if p.role in recorded_roles else p for p in result]
    return result


def flagged_roles(conv: Conversation) -> set[str]:
    """The roles whose analytics session carries ``recording: true``, in the org's dialect."""
    own = {rec.role for rec in conv.recordings}  # the session each recording belongs to
    reading = conv.org.dialect.recording_flags
    if reading == "agent_only":
        # Agents' sessions only, one flag whatever the count: the consultant's for its own recording, the
        # agent's for anything else the call recorded.
        return ({"agent"} if own - {"consult"} else set()) | (own & {"consult"})
    if reading == "customer_and_agent":
        # One stereo recording of the call flags both of its sides.
        return own | ({"customer", "agent"} if "customer" in own else set())
    return own


def find_participant(conv: Conversation, participant_id: str) -> Participant | None:
    return next((p for p in participants(conv) if p.participant_id == participant_id), None)
