"""``recording_audio`` materialised alone, from the stored ``recording_metadata`` table (``defs/day.py``), fails
what the one-step run fails: the conversations the client flagged and those discovery rejected (the sandbox's
hostile analytics), in-process against the sandbox and moto."""

from __future__ import annotations

from datetime import date

import dagster as dg

from recording_assets.archive.keys import outcomes_key
from recording_assets.defs.names import AUDIO, METADATA
from recording_assets.sandbox.hostile import Hostile
from recording_assets_tests.definitions_env import load_definitions
from recording_assets_tests.defs.test_assets_e2e import read

DAY = "2026-11-20"
SCENARIOS = {
    "queue_traversal": "analytics conversation: queueId",
    "numeric_direction": "analytics conversation: originatingDirection",
    "no_conversation_start": "analytics conversation rejected: conversation without 'conversationStart'",
}


def test_audio_alone_from_the_stored_table_fails_the_flagged_and_rejected_conversations(local_stack):
    local = local_stack(conversations_per_day=30, hostile=Hostile(items=frozenset(SCENARIOS)))
    job = load_definitions().resolve_job_def("archive_day")
    with dg.DagsterInstance.ephemeral() as instance:
        for selected in (METADATA, AUDIO):  # two steps: the audio reads the table the metadata wrote
            result = job.execute_in_process(partition_key=DAY, instance=instance, asset_selection=[selected])
            assert result.success
    rows = {
        (r["conversation_id"], r["recording_id"]): r
        for r in read(local, "recording-manifests", outcomes_key(day=date.fromisoformat(DAY)))
    }
    targets = local.sandbox.hostile_targets(date.fromisoformat(DAY))
    assert set(targets) == set(SCENARIOS)
    for scenario, words in SCENARIOS.items():
        row = rows[(targets[scenario].conversation_id, targets[scenario].recording_id)]
        assert row["state"] == "failed" and row["reason"].startswith(words), (scenario, row)
    assert sum(1 for row in rows.values() if row["state"] == "archived") > 0.7 * len(rows)
