"""Participant addresses are read from analytics sessions at the boundary: strings, bounded, no control
characters; a refused one is named by its field, never repeated."""

from __future__ import annotations

from recording_assets.genesys.conversations import ConversationSummary
from recording_assets.genesys.participant_addresses import MAX_ADDRESS_CHARS, MAX_ADDRESSES


def conversation(*sessions: dict) -> dict:
    return {
        "conversationId": "c-1",
        "conversationStart": "2026-11-20T09:00:00.000Z",
        "conversationEnd": "2026-11-20T09:05:00.000Z",
        "participants": [{"purpose": "customer", "sessions": [{"segments": [], **s} for s in sessions]}],
    }


def test_voice_email_and_message_addresses_are_kept_once_each_in_order():
    raw = conversation(
        {"mediaType": "voice", "ani": "tel:+15551234567", "dnis": "tel:+18005550001"},
        {"mediaType": "voice", "ani": " tel:+15551234567 ", "dnis": "tel:+18005550001"},
        {"mediaType": "email", "addressFrom": "ann@mail.example", "addressTo": "queue-1@sandbox.example"},
    )
    found, _ = ConversationSummary.parse(raw)
    assert found.addresses == (
        "tel:+15551234567",
        "tel:+18005550001",
        "ann@mail.example",
        "queue-1@sandbox.example",
    )
    assert found.invalid_reason is None


def test_hostile_addresses_are_refused_by_field_and_kind_without_their_value():
    secret = "tel:+1555\x1b[31mEVIL"
    raw = conversation(
        {"mediaType": "voice", "ani": secret, "dnis": 15551234567},
        {"mediaType": "email", "addressFrom": "x" * (MAX_ADDRESS_CHARS + 1), "addressTo": "ok@mail.example"},
    )
    found, _ = ConversationSummary.parse(raw)
    assert found.addresses == ("ok@mail.example",)
    reason = found.invalid_reason or ""
    assert "ani: control characters" in reason
    assert "dnis: expected a string, got int" in reason
    assert f"addressFrom: longer than {MAX_ADDRESS_CHARS} characters" in reason
    assert "EVIL" not in reason and "\x1b" not in reason and "xxxx" not in reason


def test_a_flood_of_addresses_is_bounded():
    sessions = [{"mediaType": "voice", "ani": f"tel:+1555{n:07d}"} for n in range(MAX_ADDRESSES + 5)]
    found, _ = ConversationSummary.parse(conversation(*sessions))
    assert len(found.addresses) == MAX_ADDRESSES
    assert f"more than {MAX_ADDRESSES} participant addresses" in (found.invalid_reason or "")
