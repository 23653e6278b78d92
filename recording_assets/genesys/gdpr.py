"""GDPR requests the org carried out (GeneralDataProtectionRegulationApi): ``GET /api/v2/gdpr/requests``
(paged ``GDPRRequestEntityListing``) and ``GET /api/v2/gdpr/requests/{requestId}`` (``GDPRRequest``), both
needing ``gdpr:request:view`` (SDK docs, GeneralDataProtectionRegulationApi.md). A request names its
``requestType`` (``GDPR_EXPORT|GDPR_UPDATE|GDPR_DELETE``), its ``status`` and its ``subject``'s identifiers
(``GDPRSubject``: ``phoneNumbers``, ``emailAddresses``, ``addresses`` ...). Genesys deletes its own copies;
an external archive has to follow (``pipeline/erasure.py``).

Everything read here is untrusted: ids are held to the key-safe alphabet, each identifier to a bounded
string without control characters; what is refused is named by its field, never repeated (the
identifiers are personal data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recording_assets.genesys.fields import (
    ResponseFormatError,
    caller_id,
    describe,
    lenient_text,
    required_dict,
    required_id,
)
from recording_assets.genesys.participant_addresses import address_problem
from recording_assets.genesys.transport import Transport

GDPR_VIEW = "gdpr:request:view"
PATH = "/api/v2/gdpr/requests"
DELETE = "GDPR_DELETE"
REQUEST_TYPES = ("GDPR_EXPORT", "GDPR_UPDATE", DELETE)
STATUSES = ("INITIATED", "SEARCHING", "UPDATING", "DELETING", "COMPLETED", "ERROR", "FINALIZING")
MAX_IDENTIFIERS = 100  # per list of one subject: more is a hostile answer, not a person
MAX_PAGES = 100  # of the listing, 100 a page: bounded whatever nextUri says


@dataclass(frozen=True)
class GdprRequest:
    """One GDPR request, reduced to what an erasure needs (no subject name: it is not matched on)."""

    request_id: str
    request_type: str
    status: str | None
    phone_numbers: tuple[str, ...]
    email_addresses: tuple[str, ...]
    addresses: tuple[str, ...]  # GDPRSubject.addresses: postal addresses, not matched (docs)

    @property
    def is_delete(self) -> bool:
        return self.request_type == DELETE

    @classmethod
    def from_api(cls, raw: Any) -> GdprRequest:
        body = required_dict(raw, field="GDPR request")
        request_id = required_id(body.get("id"), field="id")
        kind = body.get("requestType")
        if kind not in REQUEST_TYPES:
            raise ResponseFormatError(
                f"GDPR request requestType: expected one of {REQUEST_TYPES}, got {describe(kind)}"
            )
        status = lenient_text(body.get("status"))
        subject = body.get("subject")
        subject = required_dict(subject, field="subject") if subject is not None else {}
        return cls(
            request_id=request_id,
            request_type=kind,
            status=status if status in STATUSES else None,
            phone_numbers=_identifiers(subject, "phoneNumbers"),
            email_addresses=_identifiers(subject, "emailAddresses"),
            addresses=_identifiers(subject, "addresses"),
        )


def _identifiers(subject: Any, name: str) -> tuple[str, ...]:
    values = subject.get(name)
    if values is None:
        return ()
    if not isinstance(values, list):
        raise ResponseFormatError(f"subject.{name}: expected a list, got {describe(values)}")
    if len(values) > MAX_IDENTIFIERS:
        raise ResponseFormatError(f"subject.{name}: {len(values)} entries, more than {MAX_IDENTIFIERS}")
    out: list[str] = []
    for index, value in enumerate(values):
        problem = address_problem(value)
        if problem is not None:
            raise ResponseFormatError(f"subject.{name}[{index}]: {problem}")
        if value.strip() not in out:
            out.append(value.strip())
    return tuple(out)


class GdprRequests:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def get(self, request_id: str) -> GdprRequest:
        """One request by id (``InvalidIdError`` before any request for an id that is not one)."""
        rid = caller_id(request_id, what="GDPR request id")
        response = await self._t.api("GET", f"{PATH}/{rid}", family="gdpr.request", permission=GDPR_VIEW)
        found = GdprRequest.from_api(response.json())
        if found.request_id != rid:
            raise ResponseFormatError("GDPR request: the answer is another request than the one asked for")
        return found

    async def list(self, *, page_size: int = 100) -> list[GdprRequest]:
        """Every GDPR request of the org, paged by number until a short page or ``MAX_PAGES``."""
        found: dict[str, GdprRequest] = {}
        for number in range(1, MAX_PAGES + 1):
            response = await self._t.api(
                "GET",
                PATH,
                family="gdpr.requests",
                params={"pageSize": page_size, "pageNumber": number},
                permission=GDPR_VIEW,
                idempotent=True,
            )
            page = required_dict(response.json(), field="GDPR request listing")
            entities = page.get("entities") or []
            if not isinstance(entities, list):
                raise ResponseFormatError(f"entities: expected a list, got {describe(entities)}")
            for item in entities:
                request = GdprRequest.from_api(item)
                found.setdefault(request.request_id, request)
            if len(entities) < page_size or not page.get("nextUri"):
                break
        return list(found.values())
