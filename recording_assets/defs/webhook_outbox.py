"""The manifest webhooks' outbox in S3: one small JSON object per event owed to an endpoint.

Dagster stores a sensor's cursor with every tick, so owed deliveries kept there would grow the instance
database with every tick of a receiver outage; here they live in the manifest bucket under ``outbox/``
and the cursor keeps only a position. A key is ``outbox/<endpoint id>/<sequence>-<msg_id>.json``: the same
event for the same endpoint always has the same key, so it is written create-only (a manifest read again
after a lost cursor finds its items already owed) and deleted after a 2xx. Keys sort oldest first.
Objects are written through ``ArchiveStore`` like every other document, so they are encrypted and
checksummed; what is read back is untrusted: an item that does not parse is reported and skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from recording_assets.archive.errors import ObjectExistsError
from recording_assets.archive.store import ArchiveStore
from recording_assets.webhooks.events import Event

PREFIX = "outbox/"
_KEY = re.compile(r"outbox/(ep_[0-9a-f]{16})/([0-9]{12,}-[0-9]{5})-(msg_[0-9a-f]{32})\.json")


class BadItemError(ValueError):
    """An outbox object that is not an item this code wrote; the message names the key, never content."""


@dataclass(frozen=True)
class OwedKey:
    key: str
    endpoint: str


def item_key(endpoint: str, *, position: int, index: int, msg_id: str) -> str:
    """``position``: the materialisation's storage id (0 for items moved from an old cursor), ``index``
    the event's place among its events; together they keep the order events were owed in."""
    return f"{PREFIX}{endpoint}/{position:012d}-{index:05d}-{msg_id}.json"


class S3Outbox:
    def __init__(self, store: ArchiveStore) -> None:
        self._store = store

    def add(self, key: str, item: dict) -> bool:
        """Owe ``item`` under ``key`` unless it is already owed there; True when this call wrote it."""
        data = json.dumps(item, separators=(",", ":")).encode()
        try:
            self._store.put_bytes(key, data, content_type="application/json", overwrite=False)
        except ObjectExistsError:
            return False
        return True

    def keys(self) -> Iterator[OwedKey | str]:
        """Every owed key in order; a key this code would not have written comes as a plain string."""
        for listed in self._store.list_day(PREFIX):
            match = _KEY.fullmatch(listed.key)
            yield OwedKey(listed.key, match.group(1)) if match else listed.key

    def read(self, owed: OwedKey) -> dict:
        """The item under ``owed.key``; ``BadItemError`` when it is absent, unreadable or malformed."""
        try:
            data = self._store.get_bytes(owed.key)
        except Exception as error:  # noqa: BLE001 - a checksum mismatch is as bad as garbage
            raise BadItemError(f"{owed.key}: not readable ({type(error).__name__})") from None
        if data is None:
            raise BadItemError(f"{owed.key}: gone")
        try:
            item = json.loads(data)
            Event.from_json(item["event"])
            valid = (
                isinstance(item, dict)
                and item.get("endpoint") == owed.endpoint
                and isinstance(item["event"].get("msg_id"), str)
                and owed.key.endswith(f"-{item['event']['msg_id']}.json")
                and all(isinstance(item.get(n, 0), (int, float)) for n in ("queued", "due", "tries"))
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            valid = False
        if not valid:
            raise BadItemError(f"{owed.key}: not an outbox item")
        item["key"] = owed.key
        return item

    def update(self, item: dict) -> None:
        """Store a failed item's new retry state (its key, in the item, is not stored twice)."""
        stored = {k: v for k, v in item.items() if k != "key"}
        data = json.dumps(stored, separators=(",", ":")).encode()
        self._store.put_bytes(item["key"], data, content_type="application/json", overwrite=True)

    def remove(self, key: str) -> None:
        self._store.delete(key)
