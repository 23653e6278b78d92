"""A data subject's identifiers, normalised for matching against participant addresses.

What is matched (docs/genesys-behaviours.md, "Participant addresses"):
- phone numbers, E.164-ish: a ``tel:`` prefix, URI parameters (``;ext=..``), spaces, dashes, dots and
  brackets are dropped, so ``tel:+1 (555) 000-1111`` and ``+15550001111`` are one number. A leading ``+``
  is kept and significant: ``+15550001111`` does not match ``15550001111`` or ``0015550001111`` (which
  country a number without one belongs to is not known here, and a guess could erase someone else);
- e-mail addresses, case-insensitively, with a ``mailto:`` prefix dropped;
- conversation ids, exactly (an operator who knows them).
Not matched: names, postal ``addresses`` of a GDPR subject, partial numbers, anything that normalises to
fewer than 5 digits (a short code or an extension would match strangers).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from recording_assets.genesys.fields import id_problem
from recording_assets.genesys.participant_addresses import address_problem

_PHONE_NOISE = re.compile(r"[\s\-.()/]")
_PHONE = re.compile(r"\+?[0-9]{5,20}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,253}")
MAX_IDENTIFIERS = 100


class SubjectError(ValueError):
    """An identifier an operator or a GDPR request gave that cannot be matched; the message names it by
    position and problem, never by value (it is personal data)."""


def phone_key(text: str) -> str | None:
    """The number as it is matched, or None when ``text`` is not a phone number."""
    if not isinstance(text, str):
        return None
    value = text.strip()
    if value[:4].lower() == "tel:":
        value = value[4:]
    value = _PHONE_NOISE.sub("", value.split(";", 1)[0])
    return value if _PHONE.fullmatch(value) else None


def email_key(text: str) -> str | None:
    if not isinstance(text, str):
        return None
    value = text.strip()
    if value[:7].lower() == "mailto:":
        value = value[7:]
    value = value.lower()
    return value if _EMAIL.fullmatch(value) else None


@dataclass(frozen=True)
class Subject:
    phones: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    conversation_ids: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        *,
        phone_numbers: Iterable[str] = (),
        email_addresses: Iterable[str] = (),
        conversation_ids: Iterable[str] = (),
    ) -> Subject:
        """``SubjectError`` naming the first identifier that cannot be matched, or an empty subject."""
        phones = _keys(phone_numbers, "phone number", phone_key)
        emails = _keys(email_addresses, "e-mail address", email_key)
        ids = list(conversation_ids)
        for index, cid in enumerate(ids):
            if (problem := id_problem(cid)) is not None:
                raise SubjectError(f"conversation id {index + 1}: {problem}")
        subject = cls(frozenset(phones), frozenset(emails), frozenset(ids))
        if not (subject.phones or subject.emails or subject.conversation_ids):
            raise SubjectError(
                "no phone number, e-mail address or conversation id to match: nothing to erase"
            )
        return subject

    def matches(self, conversation_id: str, addresses: Iterable[str] | None) -> bool:
        if conversation_id in self.conversation_ids:
            return True
        for address in addresses or ():
            if phone_key(address) in self.phones or email_key(address) in self.emails:
                return True
        return False

    def describe(self) -> str:
        """Counts only: the identifiers are personal data."""
        return (
            f"{len(self.phones)} phone number(s), {len(self.emails)} e-mail address(es), "
            f"{len(self.conversation_ids)} conversation id(s)"
        )


def _keys(values: Iterable[str], what: str, key) -> set[str]:
    values = list(values)
    if len(values) > MAX_IDENTIFIERS:
        raise SubjectError(f"{len(values)} {what}es given, at most {MAX_IDENTIFIERS}")
    out = set()
    for index, value in enumerate(values):
        problem = address_problem(value)
        normal = key(value) if problem is None else None
        if normal is None:
            raise SubjectError(f"{what} {index + 1}: {problem or 'not one that can be matched'}")
        out.add(normal)
    return out
