"""Presigned-style media URLs: S3-shaped query parameters, an HMAC signature, expiry on the sandbox clock."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import urlencode

from recording_assets.sandbox.timefmt import amz_date, parse_amz_date


@dataclass(frozen=True)
class MediaGrant:
    recording_id: str
    container: str
    download: bool


class UrlSigner:
    """Signs with a key derived from the seed, so URLs survive a sandbox restart with the same config."""

    def __init__(self, seed: int) -> None:
        self._key = hashlib.sha256(f"sandbox-media-url:{seed}".encode()).digest()

    def sign(self, base_url: str, grant: MediaGrant, issued_ms: int, ttl_s: int) -> str:
        opaque = (
            base64.urlsafe_b64encode(f"{grant.recording_id}|{grant.container}|{int(grant.download)}".encode())
            .decode()
            .rstrip("=")
        )
        date = amz_date(issued_ms)
        signature = self._signature(opaque, date, ttl_s)
        query = urlencode(
            {
                "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                "X-Amz-Date": date,
                "X-Amz-Expires": str(ttl_s),
                "X-Amz-SignedHeaders": "host",
                "X-Amz-Signature": signature,
            }
        )
        return f"{base_url}/media/{opaque}?{query}"

    def verify(
        self, opaque: str, params: dict[str, str], now_ms: int
    ) -> tuple[MediaGrant | None, str | None]:
        """(grant, None) when valid, else (None, S3 error code) -- "AccessDenied" for expiry."""
        date = params.get("X-Amz-Date", "")
        expires = params.get("X-Amz-Expires", "")
        signature = params.get("X-Amz-Signature", "")
        if not (date and expires.isdigit() and signature):
            return None, "AccessDenied:missing"
        if not hmac.compare_digest(signature, self._signature(opaque, date, int(expires))):
            return None, "SignatureDoesNotMatch"
        try:
            issued_ms = parse_amz_date(date)
            recording_id, container, download = (
                base64.urlsafe_b64decode(opaque + "=" * (-len(opaque) % 4)).decode().split("|")
            )
        except ValueError:
            return None, "SignatureDoesNotMatch"
        if now_ms > issued_ms + int(expires) * 1000:
            return None, "AccessDenied:expired"
        return MediaGrant(recording_id, container, download == "1"), None

    def _signature(self, opaque: str, date: str, ttl_s: int) -> str:
        return hmac.new(self._key, f"{opaque}\n{date}\n{ttl_s}".encode(), hashlib.sha256).hexdigest()
