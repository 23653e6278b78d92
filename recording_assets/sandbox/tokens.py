"""Opaque bearer tokens for the client-credentials grant, with expiry on the sandbox clock."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Token:
    token_id: str  # short, loggable name ("t1", "t2", ...); the secret value never reaches the log
    client_id: str
    issued_at: float
    expires_at: float


class TokenStore:
    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}
        self._revoked: set[str] = set()
        self._issued = 0
        self._lock = threading.Lock()

    def issue(self, client_id: str, now: float, ttl_s: float) -> tuple[str, Token]:
        value = secrets.token_urlsafe(36)
        with self._lock:
            self._issued += 1
            token = Token(f"t{self._issued}", client_id, now, now + ttl_s)
            self._tokens[value] = token
        return value, token

    def lookup(self, value: str, now: float) -> Token | None:
        """The live token for this bearer value, or None if unknown, revoked or expired."""
        with self._lock:
            token = self._tokens.get(value)
            if token is None or value in self._revoked or now >= token.expires_at:
                return None
            return token

    def revoke(self, value: str) -> None:
        with self._lock:
            self._revoked.add(value)

    @property
    def issued(self) -> int:
        return self._issued
