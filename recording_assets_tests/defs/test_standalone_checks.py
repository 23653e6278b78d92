"""The checks that are not part of archiving a day never ride along with an archive launch.

Whatever selects the archive's assets (one asset, the three from the graph, the group's Materialize all,
a backfill: all of them Dagster's implicit asset job with an asset selection; or the ``archive_day`` job)
plans exactly the checks the archive's steps write. ``yesterday_archived`` and ``reverified_from_s3``
target the external ``recording_archive_audit`` (defs/audit.py), which nothing can materialise. Read
from the execution plans of the real definitions.
"""

from __future__ import annotations

import dagster as dg
import pytest
from dagster._core.execution.api import create_execution_plan

from recording_assets.defs.names import (
    ARCHIVE_ASSETS,
    ARCHIVE_GROUP,
    ARCHIVE_JOB,
    AUDIO,
    AUDIT,
    AUDIT_GROUP,
    FRESHNESS_CHECK,
    MANIFEST,
    METADATA,
    REVERIFY_CHECK,
)
from recording_assets_tests.definitions_env import load_definitions, project_environment

# A plan resolves the resources' config (EnvVar) but connects to nothing: any values will do.
PLAN_ENVIRONMENT = {
    "GENESYSCLOUD_OAUTHCLIENT_ID": "plan-only",
    "GENESYSCLOUD_OAUTHCLIENT_SECRET": "plan-only",
    "RECORDING_ARCHIVE_BUCKET": "plan-only",
    "RECORDING_MANIFEST_BUCKET": "plan-only",
}
IN_STEP_CHECKS = {
    AUDIO: {"sha256_verified", "container_matches_content_type"},
    MANIFEST: {"manifest_complete", "failure_rate_below_threshold"},
}


def planned_checks(job: dg.JobDefinition) -> set[dg.AssetCheckKey]:
    """The check keys the job's execution plan will evaluate."""
    with project_environment(PLAN_ENVIRONMENT):
        plan = create_execution_plan(job)
    return {
        output.properties.asset_check_key
        for step in plan.steps
        for output in step.step_outputs
        if output.properties and output.properties.asset_check_key
    }


def in_step(*assets: dg.AssetKey) -> set[dg.AssetCheckKey]:
    return {dg.AssetCheckKey(a, name) for a in assets for name in IN_STEP_CHECKS.get(a, ())}


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return load_definitions({})


@pytest.mark.parametrize(
    "selected",
    [(METADATA,), (AUDIO,), (MANIFEST,), ARCHIVE_ASSETS],
    ids=["metadata", "audio", "manifest", "the-three"],
)
def test_a_launch_of_archive_assets_plans_only_their_in_step_checks(defs, selected):
    implicit = defs.resolve_implicit_global_asset_job_def()
    job = implicit.get_subset(asset_selection=set(selected))
    assert planned_checks(job) == in_step(*selected)


def test_the_groups_materialize_all_is_the_archive_alone(defs):
    """The archive group's Materialize all: its materialisable assets are the day's three (the source is
    external, the retention watch and the audit have groups of their own)."""
    graph = defs.resolve_asset_graph()
    selection = dg.AssetSelection.groups(ARCHIVE_GROUP).resolve(graph)
    materialisable = {key for key in selection if graph.get(key).is_materializable}
    assert materialisable == set(ARCHIVE_ASSETS)
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=materialisable)
    assert planned_checks(job) == in_step(*ARCHIVE_ASSETS)


def test_the_archive_job_plans_only_the_in_step_checks(defs):
    assert planned_checks(defs.resolve_job_def(ARCHIVE_JOB)) == in_step(*ARCHIVE_ASSETS)


def test_the_standalone_checks_target_an_asset_nothing_materialises(defs):
    graph = defs.resolve_asset_graph()
    audit = graph.get(AUDIT)
    assert not audit.is_materializable and audit.group_name == AUDIT_GROUP
    assert {FRESHNESS_CHECK, REVERIFY_CHECK} <= graph.asset_check_keys
    assert FRESHNESS_CHECK.asset_key == AUDIT and REVERIFY_CHECK.asset_key == AUDIT
    # Even the implicit job over every asset plans them only if they are asked for by name.
    everything = graph.materializable_asset_keys
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=set(everything))
    assert not planned_checks(job) & {FRESHNESS_CHECK, REVERIFY_CHECK}
