"""Standard Webhooks signatures: ``webhook-signature: v1,<base64 HMAC-SHA256(id.timestamp.body)>``.

Secrets are ``whsec_<base64 key>`` as the specification writes them; a secret without that prefix
is used as raw UTF-8 bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

PREFIX = "whsec_"


def secret_key(secret: str) -> bytes:
    if secret.startswith(PREFIX):
        try:
            return base64.b64decode(secret[len(PREFIX) :], validate=True)
        except ValueError:
            raise ValueError("the webhook secret starts with whsec_ but the rest is not base64") from None
    if not secret:
        raise ValueError("the webhook secret is empty: set RECORDING_WEBHOOK_SECRET")
    return secret.encode()


def sign(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> str:
    payload = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), payload, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id=msg_id, timestamp=timestamp, body=body),
        "content-type": "application/json",
    }
