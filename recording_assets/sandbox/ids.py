"""Deterministic identifiers and hash-derived decisions.

Conversation and recording ids are real-looking UUIDv4s that *encode* where they come from
(kind, UTC day, index) through a keyed Feistel permutation. A lookup by id therefore needs no
global index: decode, generate that day lazily, pick the item. Anything else just hashes.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

_BITS = 120
_MASK = (1 << _BITS) - 1
_SHIFTS = (61, 60, 62)
# Plaintext layout (120 bits): kind 4 | day ordinal 20 | index 24 | sub 8 | zero check 64.
_CHECK_BITS = 64


def _digest(seed: int, *parts: object) -> bytes:
    text = "\x1f".join(str(p) for p in (seed, *parts)).encode()
    return hashlib.blake2b(text, digest_size=16).digest()


def fraction(seed: int, *parts: object) -> float:
    """A stable number in [0, 1) for (seed, parts): the basis of every probabilistic decision."""
    return int.from_bytes(_digest(seed, *parts)[:8], "big") / 2**64


def stable_int(seed: int, *parts: object) -> int:
    return int.from_bytes(_digest(seed, *parts)[:8], "big")


def stable_uuid(seed: int, *parts: object) -> str:
    """A UUIDv4-shaped id for things never looked up by id alone (sessions, participants, users)."""
    return str(uuid.UUID(bytes=_digest(seed, *parts), version=4))


@dataclass(frozen=True)
class DecodedId:
    kind: int
    day_ordinal: int
    index: int
    sub: int


class IdCodec:
    """Reversible (kind, day, index, sub) <-> UUID mapping, keyed by the org seed.

    A seed-keyed chain of xor, odd multiplications and xor-shifts on 120 bits: a bijection that is
    cheap (ids for 100k recordings in well under a second) and makes neighbouring indexes look unrelated.
    """

    def __init__(self, seed: int) -> None:
        words = [stable_int(seed, "ids", i) << 64 | stable_int(seed, "ids2", i) for i in range(6)]
        self._xors = [w & _MASK for w in words[:3]]
        self._muls = [(w & _MASK) | 1 for w in words[3:]]
        self._inverse_muls = [pow(m, -1, 1 << _BITS) for m in self._muls]

    def encode(self, kind: int, day_ordinal: int, index: int, sub: int = 0) -> str:
        if not (0 <= kind < 16 and 0 <= day_ordinal < 1 << 20 and 0 <= index < 1 << 24 and 0 <= sub < 256):
            raise ValueError("id component out of range")
        x = (((kind << 20 | day_ordinal) << 24 | index) << 8 | sub) << _CHECK_BITS
        for xor, mul, shift in zip(self._xors, self._muls, _SHIFTS, strict=True):
            x = ((x ^ xor) * mul) & _MASK
            x ^= x >> shift
        return _to_uuid(x)

    def decode(self, text: str) -> DecodedId | None:
        """The components, or None when ``text`` was not made by this codec (wrong seed, foreign id)."""
        x = _from_uuid(text)
        if x is None:
            return None
        for xor, inverse, shift in reversed(list(zip(self._xors, self._inverse_muls, _SHIFTS, strict=True))):
            x ^= x >> shift  # a single step undoes it because 2 * shift >= 120
            x = ((x * inverse) & _MASK) ^ xor
        if x & ((1 << _CHECK_BITS) - 1):
            return None
        x >>= _CHECK_BITS
        return DecodedId(
            kind=x >> 52, day_ordinal=(x >> 32) & 0xFFFFF, index=(x >> 8) & 0xFFFFFF, sub=x & 0xFF
        )


def _to_uuid(value: int) -> str:
    # 120 payload bits fill the 30 hex digits that are not the version ("4") or variant ("a") digit.
    digits = f"{value:030x}"
    h = digits[:12] + "4" + digits[12:15] + "a" + digits[15:]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _from_uuid(text: str) -> int | None:
    h = text.replace("-", "").lower()
    if len(h) != 32 or h[12] != "4" or h[16] != "a":
        return None
    try:
        return int(h[:12] + h[13:16] + h[17:], 16)
    except ValueError:
        return None
