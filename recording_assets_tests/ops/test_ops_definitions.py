"""The definitions graph, as operations see it: loads without deprecation warnings from our code, and a
snapshot of its shape (assets, checks, jobs, schedule, sensor, pools, partitions) so that an accidental
change shows up here. An intended change updates SNAPSHOT in the same commit."""

from __future__ import annotations

import json
import warnings
from typing import Any

import dagster as dg
import pytest
import yaml

# What FreshnessPolicy.time_window returns (dagster does not export the class itself).
from dagster._core.definitions.freshness import TimeWindowFreshnessPolicy

from recording_assets_tests.definitions_env import load_definitions
from recording_assets_tests.ops.ops_support import REPO

SNAPSHOT = {
    "assets": {
        "genesys_conversations": {
            "deps": [],
            "pools": [],
            "group": "recordings",
            "checks": {},
            "freshness": None,
        },
        "recording_metadata": {
            "deps": ["genesys_conversations"],
            "pools": ["genesys_api"],
            "group": "recordings",
            "checks": {},
            "freshness": None,
        },
        "recording_audio": {
            "deps": ["recording_metadata"],
            "pools": ["genesys_api"],
            "group": "recordings",
            "checks": {"container_matches_content_type": True, "sha256_verified": True},
            "freshness": None,
        },
        "recording_manifest": {
            "deps": ["recording_audio"],
            "pools": [],
            "group": "recordings",
            # Only the checks written by the manifest's own step: what every archive launch runs.
            "checks": {"failure_rate_below_threshold": False, "manifest_complete": True},
            # The freshness policy says "the schedule is alive" (26 h); a given day's freshness is yesterday_archived's.
            "freshness": {"fail_window_s": 93600},
        },
        # External, never materialised, in its own group: the target of the checks that are not part of
        # archiving a day, so no launch of the archive's assets runs them (defs/audit.py).
        "recording_archive_audit": {
            "deps": ["recording_manifest"],
            "pools": [],
            "group": "recording_audit",
            "checks": {"reverified_from_s3": False, "yesterday_archived": False},
            "freshness": None,
        },
        # the expiry radar looks at what Genesys deletes soon, whatever the day: not partitioned
        "recording_expiry_radar": {
            "deps": [],
            "pools": ["genesys_api"],
            "group": "recording_retention",
            "checks": {"no_unarchived_recording_expiring": False},
            "freshness": None,
        },
        "recording_orphans": {
            "deps": [],
            "pools": ["genesys_api"],
            "group": "recording_retention",
            "checks": {},
            "freshness": None,
        },
    },
    "partitions": {
        "type": "DailyPartitionsDefinition",
        "start": "2025-01-01",
        "timezone": "UTC",
        "end_offset": 0,
    },
    "backfill_policy": "BackfillPolicy.multi_run(max_partitions_per_run=1)",
    "jobs": {
        "archive_day": {
            "assets": ["recording_audio", "recording_manifest", "recording_metadata"],
            # One step discovers and archives the day (defs/day.py): discovery's pages feed the downloads.
            "op_pools": {"recording_day": "genesys_api", "recording_manifest": None},
        },
        "recording_control": {"assets": [], "op_pools": {"control_recording": None}},
        # S3 only, no Genesys request: in no pool (defs/legal_hold.py).
        "legal_hold": {"assets": [], "op_pools": {"apply_legal_hold": None}},
        # A handful of requests (a preflight and one GDPR request): no pool, like control (defs/erasure.py).
        "erase_subject": {"assets": [], "op_pools": {"erase_subject_op": None}},
        "reverify_archive": {"assets": [], "op_pools": {"recording_archive_audit_reverified_from_s3": None}},
        "webhook_delivery": {"assets": [], "op_pools": {"deliver_webhook": None}},
        "expiry_radar": {
            "assets": ["recording_expiry_radar"],
            "op_pools": {"recording_expiry_radar": "genesys_api"},
        },
        "orphans_day": {"assets": ["recording_orphans"], "op_pools": {"recording_orphans": "genesys_api"}},
    },
    "schedules": {
        "archive_daily": {"job": "archive_day", "cron": "0 2 * * *", "timezone": "UTC", "status": "RUNNING"},
        "expiry_radar_daily": {
            "job": "expiry_radar",
            "cron": "0 2 * * *",
            "timezone": "UTC",
            "status": "RUNNING",
        },
        "orphans_daily": {"job": "orphans_day", "cron": "0 2 * * *", "timezone": "UTC", "status": "RUNNING"},
        "reverify_weekly": {
            "job": "reverify_archive",
            "cron": "0 12 * * 0",
            "timezone": "UTC",
            "status": "RUNNING",
        },
    },
    "sensors": {
        "manifest_webhooks": {"status": "RUNNING", "interval_s": 30},
        "archive_failure_webhooks": {"status": "RUNNING", "interval_s": 30},
        "check_alert_webhooks": {"status": "RUNNING", "interval_s": 30},
        "restored_recordings": {"status": "RUNNING", "interval_s": 10800},
        # Records yesterday_archived's evaluations without a run (defs/freshness.py).
        "check_freshness": {"status": "RUNNING", "interval_s": 300},
    },
    "resources": ["archive", "genesys", "s3", "webhooks"],
}


def snapshot(defs: dg.Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    assets: dict[str, dict[str, Any]] = {}
    partitions: set[str] = set()
    policies: set[str] = set()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        name = key.to_user_string()
        freshness = node.freshness_policy
        assets[name] = {
            "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "pools": sorted(node.pools or []),
            "group": node.group_name,
            "checks": {},
            "freshness": None if freshness is None else _freshness(freshness),
        }
        part = node.partitions_def
        if part is None:
            continue  # an unpartitioned asset (the expiry radar) runs in its own job
        assert isinstance(part, dg.TimeWindowPartitionsDefinition), part
        partitions.add(
            json.dumps(
                {
                    "type": type(part).__name__,
                    "start": part.start.strftime("%Y-%m-%d"),
                    "timezone": part.timezone,
                    "end_offset": part.end_offset,
                }
            )
        )
        if node.is_executable:  # the external source has no backfill policy
            policies.add(str(node.backfill_policy))
    for check_key in graph.asset_check_keys:
        assets[check_key.asset_key.to_user_string()]["checks"][check_key.name] = graph.get(check_key).blocking
    assert len(partitions) == 1, (
        f"every partitioned asset should share one partitions definition: {partitions}"
    )
    assert len(policies) == 1, f"every asset of a job should share one backfill policy: {policies}"
    jobs = {}
    for job in defs.resolve_all_job_defs():
        if job.name.startswith("__"):  # Dagster's implicit asset job
            continue
        selected = job.asset_layer.executable_asset_keys if job.asset_layer else set()
        jobs[job.name] = {
            "assets": sorted(k.to_user_string() for k in selected),
            "op_pools": {
                op.name: op.pool for op in sorted(job.graph.iterate_op_defs(), key=lambda o: o.name)
            },
        }
    return {
        "assets": dict(sorted(assets.items())),
        "partitions": json.loads(partitions.pop()),
        "backfill_policy": policies.pop(),
        "jobs": jobs,
        "schedules": {
            s.name: {
                "job": s.job_name,
                "cron": s.cron_schedule,
                "timezone": s.execution_timezone,
                "status": s.default_status.value,
            }
            for s in _schedules(defs)
        },
        "sensors": {
            s.name: {"status": s.default_status.value, "interval_s": s.minimum_interval_seconds}
            for s in defs.sensors or ()
        },
        "resources": sorted(defs.resources or {}),
    }


def _freshness(policy: dg.FreshnessPolicy) -> dict[str, int]:
    assert isinstance(policy, TimeWindowFreshnessPolicy), policy
    return {"fail_window_s": int(policy.fail_window.to_timedelta().total_seconds())}


def _schedules(defs: dg.Definitions) -> list[dg.ScheduleDefinition]:
    """The schedules as declared; each is resolved already (none waits for its job to be built)."""
    schedules = list(defs.schedules or ())
    assert all(isinstance(s, dg.ScheduleDefinition) for s in schedules), schedules
    return [s for s in schedules if isinstance(s, dg.ScheduleDefinition)]


def test_definitions_load_without_deprecation_warnings_from_our_code():
    """Our code may not raise DeprecationWarning (or its Dagster subclasses) while building definitions.
    Turned into errors, any such warning from recording_assets fails this test."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("error", DeprecationWarning)
        warnings.simplefilter("always", UserWarning)  # record the rest, to show where they come from
        defs = load_definitions({})
        graph = defs.resolve_asset_graph()  # resolution is where deprecated arguments usually surface
        defs.resolve_all_job_defs()
    assert graph.get_all_asset_keys()
    ours = [
        w
        for w in caught
        if "recording_assets" in (w.filename or "") and issubclass(w.category, DeprecationWarning)
    ]
    assert not ours, [f"{w.filename}:{w.lineno}: {w.message}" for w in ours]


def test_definitions_graph_snapshot():
    actual = snapshot(load_definitions({}))
    assert actual == SNAPSHOT, "definitions changed; if intended, update SNAPSHOT to:\n" + json.dumps(
        actual, indent=2
    )


def test_partitions_follow_the_configured_timezone():
    """RECORDING_TIMEZONE moves the partitions, the schedule and the freshness deadline together."""
    actual = snapshot(load_definitions({"RECORDING_TIMEZONE": "Europe/Berlin"}))
    assert actual["partitions"]["timezone"] == "Europe/Berlin"
    assert actual["schedules"]["archive_daily"]["timezone"] == "Europe/Berlin"
    assert actual["schedules"]["reverify_weekly"]["timezone"] == "Europe/Berlin"


def test_deploy_dagster_yaml_is_a_valid_instance_config(tmp_path, monkeypatch):
    """deploy/dagster.yaml passes Dagster's own validation and carries what the guide promises."""
    from dagster._core.instance.config import dagster_instance_config

    (tmp_path / "dagster.yaml").write_text((REPO / "deploy" / "dagster.yaml").read_text())
    config, _ = dagster_instance_config(str(tmp_path))
    postgres = config["storage"]["postgres"]["postgres_db"]
    assert postgres["scheme"] == "postgresql+psycopg2"
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["concurrency"]["pools"]["default_limit"] >= 2
    assert (
        config["concurrency"]["runs"]["max_concurrent_runs"]
        >= config["concurrency"]["pools"]["default_limit"]
    )
    assert config["telemetry"]["enabled"] is False
    # Run logs go to S3, so they outlive the run's pod.
    assert config["compute_logs"]["class"] == "S3ComputeLogManager"
    assert config["compute_logs"]["config"]["bucket"] == {"env": "DAGSTER_COMPUTE_LOG_BUCKET"}


def test_helm_values_example_parses_and_matches_the_instance_config():
    values = yaml.safe_load((REPO / "deploy" / "values.yaml").read_text())
    instance = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())
    deployment = values["dagster-user-deployments"]["deployments"][0]
    assert deployment["dagsterApiGrpcArgs"][:2] == ["-m", "recording_assets.definitions"]
    secrets = {s["name"] for s in deployment.get("envSecrets", [])}
    assert secrets, "the Genesys OAuth client and the webhook secret come from Kubernetes Secrets"
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    queued = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert "maxConcurrentRuns" not in queued, "the chart refuses it together with concurrency.runs"
    concurrency = values["concurrency"]
    assert concurrency["enabled"] is True
    assert concurrency["runs"]["maxConcurrentRuns"] == instance["concurrency"]["runs"]["max_concurrent_runs"]
    assert concurrency["pools"]["defaultLimit"] == instance["concurrency"]["pools"]["default_limit"]
    assert concurrency["pools"]["granularity"] == instance["concurrency"]["pools"]["granularity"]
    assert values["telemetry"]["enabled"] is False
    assert values["postgresql"]["postgresqlScheme"] == "postgresql+psycopg2"
    assert values["computeLogManager"]["type"] == "S3ComputeLogManager"
    s3_logs = values["computeLogManager"]["config"]["s3ComputeLogManager"]
    assert s3_logs["prefix"] == instance["compute_logs"]["config"]["prefix"]
    env = {e["name"]: e.get("value") for e in deployment["env"]}
    assert env["RECORDING_GENESYS_POOL_LIMIT"] == str(concurrency["pools"]["defaultLimit"])


@pytest.mark.parametrize("name", ["kubernetes.md", "Dockerfile", "values.yaml", "dagster.yaml"])
def test_deploy_files_exist(name):
    assert (REPO / "deploy" / name).is_file()
