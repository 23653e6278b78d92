"""Orphan recordings and recording annotations of the synthetic org, generated from the seed.

An orphan is a recording Genesys holds without a conversation it could attach it to (an Edge uploaded it,
the conversation never reached the cloud): ``OrphanRecording`` in the SDK. Annotations are the marks on a
recording's timeline (hold, pause, secure pause), ``Annotation`` in the SDK.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from recording_assets.sandbox.ids import stable_int, stable_uuid
from recording_assets.sandbox.org import Recording
from recording_assets.sandbox.timefmt import DAY_MS, day_start_ms, iso

REGION = "us-east-1"
ORPHAN_DAYS = 30  # how far back the org's orphans go
_STATUSES = ("NO_CONVERSATION", "UNKNOWN_CONVERSATION", "CONVERSATION_NOT_COMPLETE")
_REASONS = ("Hold", "SecurePause", "Pause", "FlowOrQueue")


def orphans_for_day(seed: int, day: dt.date, count: int) -> list[dict[str, Any]]:
    """The orphans created on ``day`` (UTC), oldest first, as ``OrphanRecording`` bodies."""
    rng = random.Random(stable_int(seed, "orphans", day.toordinal()))
    start = day_start_ms(day)
    created = sorted(start + rng.randrange(DAY_MS) for _ in range(count))
    out = []
    for index, created_ms in enumerate(created):
        orphan_id = stable_uuid(seed, "orphan", day.toordinal(), index)
        status = _STATUSES[rng.randrange(len(_STATUSES))]
        out.append(
            {
                "id": orphan_id,
                "name": f"orphan-{orphan_id[:8]}",
                "createdTime": iso(created_ms),
                "recoveredTime": iso(created_ms + 600_000),
                "providerType": "EDGE",
                "mediaSizeBytes": rng.randrange(20_000, 4_000_000),
                "mediaType": "CALL",
                "mediaSubtype": "Trunk",
                "fileState": "AVAILABLE",
                "orphanStatus": status,
                "region": REGION,
                "selfUri": f"/api/v2/orphanrecordings/{orphan_id}",
            }
        )
    return out


def has_conversation(orphan: dict[str, Any]) -> bool:
    return orphan["orphanStatus"] != "NO_CONVERSATION"


def annotations_for(seed: int, rec: Recording) -> list[dict[str, Any]]:
    """A recording's annotations: audio only; about a third carry a SecurePause."""
    if rec.media != "audio":
        return []
    conv = rec.conversation
    rng = random.Random(stable_int(seed, "annotations", conv.day_ordinal, conv.index, rec.sub))
    reasons = [r for r in _REASONS if rng.random() < (0.35 if r == "SecurePause" else 0.25)]
    duration = max(1, rec.duration_ms)
    out = []
    for index, reason in enumerate(reasons):
        location = rng.randrange(duration)
        length = min(duration - location, rng.randrange(2_000, 60_000))
        annotation_id = stable_uuid(seed, "annotation", rec.id, index)
        out.append(
            {
                "id": annotation_id,
                "name": reason,
                "type": "System",
                "location": location,
                "durationMs": length,
                "absoluteLocation": location,
                "absoluteDurationMs": length,
                "recordingLocation": location,
                "recordingDurationMs": length,
                "realtimeLocation": location,
                "reason": reason,
                "selfUri": f"/api/v2/conversations/{rec.conversation_id}/recordings/{rec.id}/annotations/"
                f"{annotation_id}",
            }
        )
    return out
