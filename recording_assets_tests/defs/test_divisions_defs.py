"""A client whose roles cover only some of the org's divisions: the day's run goes on, archives the
conversations it can see (those of the covered division), and says which divisions it could not see in
the audio and manifest metadata and in the manifest table's schema metadata. Real runs of the code
location against the sandbox and moto."""

from __future__ import annotations

import json
from datetime import date

import dagster as dg

from recording_assets.archive.keys import manifest_key, metadata_key
from recording_assets.pipeline.day import DIVISIONS_KEY
from recording_assets.pipeline.tables import from_parquet_bytes
from recording_assets.tools.local import DEMO_MANIFEST_BUCKET
from recording_assets_tests.definitions_env import load_definitions
from recording_assets_tests.run_results import materialisations_of

DAY = "2026-11-20"


def _run(local_stack, **sandbox):
    local = local_stack(conversations_per_day=30, divisions=3, **sandbox)
    with dg.DagsterInstance.ephemeral() as instance:
        result = (
            load_definitions()
            .resolve_job_def("archive_day")
            .execute_in_process(partition_key=DAY, instance=instance)
        )
    assert result.success

    def table(key):
        body = local.s3_client().get_object(Bucket=DEMO_MANIFEST_BUCKET, Key=key)["Body"].read()
        return from_parquet_bytes(body)

    meta = {n: materialisations_of(result, n)[0].metadata for n in ("recording_audio", "recording_manifest")}
    return local, meta, table


def test_partial_coverage_archives_what_it_sees_and_the_metadata_names_the_rest(local_stack):
    local, meta, table = _run(local_stack, covered_divisions=1)
    home, *left_out = local.sandbox.org.directory.divisions
    expected = [{"id": d.id, "name": d.name} for d in left_out]
    assert meta["recording_audio"]["divisions_not_covered"].value == expected
    assert meta["recording_audio"]["divisions_not_covered_count"].value == 2
    assert meta["recording_audio"]["division_coverage"].value == "partial"
    assert meta["recording_manifest"]["divisions_not_covered"].value == expected
    day = date.fromisoformat(DAY)
    assert json.loads(table(manifest_key(day=day)).schema.metadata[DIVISIONS_KEY]) == expected
    conversations = table(metadata_key(day=day)).to_pylist()
    assert conversations and {tuple(c["division_ids"]) for c in conversations} == {(home.id,)}
    assert meta["recording_audio"]["recordings"].value > 0


def test_full_coverage_says_no_division_is_missing(local_stack):
    _, meta, table = _run(local_stack)
    assert meta["recording_audio"]["division_coverage"].value == "complete"
    assert meta["recording_audio"]["divisions_not_covered"].value == []
    assert meta["recording_audio"]["divisions_not_covered_count"].value == 0
    day = date.fromisoformat(DAY)
    seen = {d for c in table(metadata_key(day=day)).to_pylist() for d in c["division_ids"]}
    assert len(seen) == 3


def test_unreadable_divisions_leave_the_coverage_unknown_and_the_run_goes_on(local_stack):
    _, meta, _ = _run(local_stack, covered_divisions=1, division_listing="malformed")
    assert meta["recording_audio"]["division_coverage"].value == "unknown"
    assert meta["recording_audio"]["recordings"].value > 0
