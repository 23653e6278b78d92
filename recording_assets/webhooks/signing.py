"""Standard Webhooks signatures, made by the ``standardwebhooks`` library itself, so what we send is
exactly what ``Webhook(secret).verify`` accepts.

Secrets are ``whsec_<base64 key>`` as the specification writes them. The library decodes leniently (it
drops characters that are not base64 and accepts an empty key), so a secret is checked strictly here
first: a typo must fail at load, not sign with a different key than the receiver holds.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timezone

from standardwebhooks import Webhook

PREFIX = "whsec_"
MIN_KEY_BYTES = 24  # the specification's lower bound (24 to 64 bytes)
MAX_KEY_BYTES = 64
HOW_TO_MAKE_ONE = (
    'generate one with: python -c "import base64, secrets; '
    "print('whsec_' + base64.b64encode(secrets.token_bytes(32)).decode())\""
)


class SecretFormatError(ValueError):
    """The secret is not ``whsec_`` + base64 of 24 to 64 bytes; the message never repeats the secret."""


def secret_key(secret: str) -> bytes:
    """The key bytes of a ``whsec_`` secret, or ``SecretFormatError`` saying what is wrong and the fix."""
    secret = secret.strip()  # a Secret made from a file often ends in a newline
    if not secret.startswith(PREFIX):
        raise SecretFormatError(f"it does not start with {PREFIX}; " + HOW_TO_MAKE_ONE)
    encoded = secret[len(PREFIX) :]
    try:
        # Unpadded base64 is common (Svix writes it); strict otherwise.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise SecretFormatError(f"the part after {PREFIX} is not base64; {HOW_TO_MAKE_ONE}") from None
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise SecretFormatError(
            f"its key is {len(key)} bytes, the specification asks for {MIN_KEY_BYTES} to {MAX_KEY_BYTES}; "
            f"{HOW_TO_MAKE_ONE}"
        )
    return key


def headers(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers (plus the content type) for ``body`` sent at ``timestamp``."""
    signer = Webhook(secret_key(secret))
    when = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signer.sign(msg_id, when, body.decode()),
        "content-type": "application/json",
    }
