"""Deletion protection, a legal-hold feature (help centre, "Protect recordings from deletion for a legal
hold directive"): at most 1,000 conversations per org, for policy-based recordings, every protect and
revoke in the Recording Audit trail. ``PUT /api/v2/recordings/deletionprotection?protect=`` applies or
revokes (``ManageDeleteProtectionResult``: ``failedUpdates`` for what was not applied); ``POST`` with the
same body lists which of the ids are protected now, by anyone (docs/genesys-api.md §12).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from recording_assets.genesys.errors import GenesysApiError, PermissionDeniedError
from recording_assets.genesys.fields import lenient_text
from recording_assets.genesys.recordings import VIEW
from recording_assets.genesys.transport import Transport

PROTECT, UNPROTECT = "recording:deletionProtection:apply", "recording:deletionProtection:revoke"
PROTECTION_LIMIT = 100  # conversation ids per protection request
ORG_CAP = 1000  # conversations protected per organization (help centre)


@dataclass
class ProtectionAnswer:
    requests: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # conversation id -> why it was not applied


@dataclass
class ProtectionQuery:
    requests: int = 0
    protected: set[str] = field(default_factory=set)


class DeletionProtection:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def protect(self, conversation_ids: Sequence[str], *, protect: bool) -> ProtectionAnswer:
        """Apply (or revoke) deletion protection, 100 ids a request. What the org could not apply comes back
        in ``failed`` with its reason: a ``failedUpdates`` item, or a 400 refusing a whole request (both
        readings of the org's cap: docs/genesys-behaviours.md); nothing else of the run is stopped by it."""
        ids = sorted(set(conversation_ids))
        answer = ProtectionAnswer()
        for start in range(0, len(ids), PROTECTION_LIMIT):
            chunk = ids[start : start + PROTECTION_LIMIT]
            answer.requests += 1
            try:
                response = await self._t.api(
                    "PUT",
                    "/api/v2/recordings/deletionprotection",
                    family="recording.protection",
                    params={"protect": "true" if protect else "false"},
                    json={"conversationIds": chunk},
                    permission=PROTECT if protect else UNPROTECT,
                    idempotent=True,
                )
            except PermissionDeniedError:
                raise
            except GenesysApiError as exc:
                if exc.status != 400:
                    raise
                answer.failed.update(dict.fromkeys(chunk, f"refused ({exc.status}): {exc}"))
                continue
            body = response.json() if response.content else {}
            failures = body.get("failedUpdates") if isinstance(body, dict) else None
            for item in failures if isinstance(failures, list) else []:
                conversation = item.get("conversation") if isinstance(item, dict) else None
                cid = conversation.get("id") if isinstance(conversation, dict) else None
                if cid in chunk:  # only ids we sent: anything else is noise
                    code = lenient_text(item.get("errorCode")) or "unknown"
                    answer.failed[cid] = f"{code}: {lenient_text(item.get('errorMessage')) or ''}".strip()
        return answer

    async def protected(self, conversation_ids: Sequence[str]) -> ProtectionQuery:
        """Which of ``conversation_ids`` are protected now, by anyone (``POST
        /api/v2/recordings/deletionprotection``, 100 ids a request)."""
        ids = sorted(set(conversation_ids))
        out = ProtectionQuery()
        for start in range(0, len(ids), PROTECTION_LIMIT):
            chunk = set(ids[start : start + PROTECTION_LIMIT])
            response = await self._t.api(
                "POST",
                "/api/v2/recordings/deletionprotection",
                family="recording.protection",
                json={"conversationIds": sorted(chunk)},
                permission=VIEW,
                idempotent=True,  # a query sent as POST
            )
            out.requests += 1
            body = response.json()
            for ref in body if isinstance(body, list) else []:
                cid = ref.get("id") if isinstance(ref, dict) else None
                if cid in chunk:
                    out.protected.add(cid)
        return out
