"""The day's manifest: one row per known recording, joining outcomes with conversation metadata.

Rows describe the archive, not the run, so a re-run yields the same rows: an object found from an
earlier run is ``archived`` with its original ``exported_at`` and ``run_id`` (read back from the
object's metadata); only ``run_outcome`` and ``manifest_run_id`` say what this run did.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from recording_assets.pipeline.states import State, manifest_state
from recording_assets.pipeline.tables import MANIFEST, to_table

_MEDIA_BY_TYPE = {"audio": "audio", "video": "screen"}
_MEDIA_BY_CONTAINER = {"json": "chat", "zip": "message", "eml": "email"}


def media_type_of(content_type: str | None, container: str | None) -> str | None:
    if container in _MEDIA_BY_CONTAINER:
        return _MEDIA_BY_CONTAINER[container]
    if content_type:
        return _MEDIA_BY_TYPE.get(content_type.split("/", 1)[0].strip().lower())
    return None


def manifest_table(
    metadata: pa.Table, outcomes: pa.Table, *, manifest_run_id: str, annotations: Mapping | None = None
) -> pa.Table:
    """``annotations``: (conversation, recording) -> annotations, when the ``annotations`` setting is on."""
    annotations = annotations or {}
    conversations = {row["conversation_id"]: row for row in metadata.to_pylist()}
    rows = []
    for o in sorted(outcomes.to_pylist(), key=lambda r: (r["conversation_id"], r["recording_id"])):
        conversation = conversations.get(o["conversation_id"], {})
        state = State(o["state"])
        rows.append(
            {
                "conversation_id": o["conversation_id"],
                "recording_id": o["recording_id"],
                "state": manifest_state(state),
                "reason": None if state.in_archive else o["reason"],
                "sha256": o["sha256"] if state.in_archive else None,
                "size_bytes": o["size_bytes"] if state.in_archive else None,
                "content_type": o["content_type"],
                "container": o["container"],
                "storage_uri": o["storage_uri"] if state.in_archive else None,
                "media_type": media_type_of(o["content_type"], o["container"]),
                "conversation_start": conversation.get("conversation_start"),
                "conversation_end": conversation.get("conversation_end"),
                "duration_ms": conversation.get("duration_ms"),
                "agent_ids": conversation.get("agent_ids"),
                "queue_ids": conversation.get("queue_ids"),
                "wrap_up_codes": conversation.get("wrap_up_codes"),
                "exported_at": o["archived_at"] if state.in_archive else None,
                "run_id": o["archived_run_id"] if state.in_archive else None,
                "run_outcome": state.value,
                "manifest_run_id": manifest_run_id,
                "annotations": annotations.get((o["conversation_id"], o["recording_id"])),
            }
        )
    return to_table(rows, MANIFEST)
