"""The retention features in the Dagster wing: the expiry radar asset and its check, the schedule running the flagged days
first, the daily orphans table, and the retention options reaching a real partition run."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import dagster as dg

from recording_assets.archive.keys import manifest_key
from recording_assets.defs.retention import DAYS_AT_RISK, RADAR, RADAR_CHECK
from recording_assets.pipeline.orphans import orphans_key
from recording_assets.pipeline.protection import HOLDS_KEY
from recording_assets.pipeline.tables import from_parquet_bytes
from recording_assets.sandbox.orphans import annotations_for
from recording_assets.settings import ANNOTATIONS, EXPIRY_RADAR_DAYS, PROTECT_UNTIL_ARCHIVED, RESTORE_ARCHIVED
from recording_assets_tests.definitions_env import load_definitions
from recording_assets_tests.run_results import materialisations_of


def _run(job_name, instance, **kwargs):
    return load_definitions().resolve_job_def(job_name).execute_in_process(instance=instance, **kwargs)


def test_the_radar_fails_while_days_expire_unarchived_and_the_schedule_runs_them_first(
    local_stack, monkeypatch
):
    local = local_stack(conversations_per_day=20)
    monkeypatch.setenv(EXPIRY_RADAR_DAYS, "2")
    defs = load_definitions()
    with dg.instance_for_test() as instance:  # persistent: the schedule's context reads it back
        result = _run("expiry_radar", instance)
        check = next(e for e in result.get_asset_check_evaluations() if e.check_name == RADAR_CHECK)
        meta = materialisations_of(result, RADAR)[0].metadata
        at_risk = meta[DAYS_AT_RISK].value
        assert not check.passed and meta["at_risk"].value == sum(at_risk.values()) > 0
        # What the radar cost, whatever the org's reading of retentionThresholdDays.
        assert meta["outcome"].value == "complete" and meta["retention_pages"].value >= 1
        assert meta["retention_entries_read"].value >= meta["recordings_within_horizon"].value > 0
        assert len(at_risk) in (2, 3)  # the horizon's days (and one more where a day's edge falls)
        # The findings as a table, where the materialisation says, one row per recording at risk.
        uri = meta["dagster/uri"].value
        assert uri.startswith("s3://recording-manifests/radar/date=") and meta["table_link"].value
        body = local.s3_client().get_object(Bucket="recording-manifests", Key=uri.split("/", 3)[3])["Body"]
        rows = from_parquet_bytes(body.read()).to_pylist()
        assert meta["dagster/partition_row_count"].value == len(rows) == meta["at_risk"].value
        per_day: dict[str, int] = {}
        for row in rows:
            per_day[row["archive_day"].isoformat()] = per_day.get(row["archive_day"].isoformat(), 0) + 1
        assert per_day == at_risk and all(r["delete_date"] and r["horizon_days"] == 2 for r in rows)

        tick = datetime.now(timezone.utc).replace(hour=2, minute=0, second=0, microsecond=0)
        with dg.build_schedule_context(
            instance=instance, scheduled_execution_time=tick, repository_def=defs.get_repository_def()
        ) as context:
            requests = list(defs.resolve_schedule_def("archive_daily").evaluate_tick(context).run_requests)
        flagged = [r for r in requests if r.tags.get("dagster/priority") == "10"]
        assert [r.partition_key for r in flagged] == sorted(at_risk)
        assert requests[: len(flagged)] == flagged  # first on the tick
        assert all(r.run_key.startswith("expiry:") for r in flagged)
        keys = [r.partition_key for r in requests]
        assert len(keys) == len(set(keys))  # a flagged day is not swept twice on one tick


def test_the_radar_protects_what_is_at_risk_and_never_what_another_party_holds(local_stack, monkeypatch):
    local = local_stack(conversations_per_day=20, legal_hold_per_mille=150)
    monkeypatch.setenv(EXPIRY_RADAR_DAYS, "2")
    monkeypatch.setenv(PROTECT_UNTIL_ARCHIVED, "true")
    with dg.DagsterInstance.ephemeral() as instance:
        result = _run("expiry_radar", instance)
    meta = materialisations_of(result, RADAR)[0].metadata
    holds = local.s3_client().get_object(Bucket="recording-manifests", Key=HOLDS_KEY)["Body"].read()
    ours = {row["conversation_id"] for row in from_parquet_bytes(holds).to_pylist()}
    ledger = local.sandbox.org.retention
    assert ours and ours == ledger.protected() and ledger.foreign_revoked == set()
    assert not any(ledger.held_by_others(cid) for cid in ours)
    assert meta["deletion_protection"].value.startswith(f"placed {len(ours)},")
    assert "held by others left alone" in meta["deletion_protection"].value


def test_orphans_and_radar_without_their_permission_are_skipped_visibly(local_stack):
    from recording_assets.sandbox import Faults
    from recording_assets.sandbox.config import ORPHAN_VIEW, RECORDING_VIEW

    local_stack(
        conversations_per_day=5, faults=Faults(deny_permissions=frozenset({ORPHAN_VIEW, *RECORDING_VIEW}))
    )
    day = (datetime.now(timezone.utc) - timedelta(days=2)).date()
    with dg.DagsterInstance.ephemeral() as instance:
        orphans = _run("orphans_day", instance, partition_key=day.isoformat())
        radar = _run("expiry_radar", instance)
    assert orphans.success and radar.success
    outcome = materialisations_of(orphans, "recording_orphans")[0].metadata["outcome"].value
    assert outcome == f"skipped: permission missing ({ORPHAN_VIEW})"
    assert (
        materialisations_of(radar, RADAR)[0]
        .metadata["outcome"]
        .value.startswith("skipped: permission missing")
    )
    check = next(e for e in radar.get_asset_check_evaluations() if e.check_name == RADAR_CHECK)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN


def _a_day_holding_an_archived_recording(sandbox) -> date:
    """A recent day with an ARCHIVED (restorable) recording, by the sandbox's own record: at 30 conversations
    a day, not every day has one, and the day two days back changes with the date the suite runs."""
    now_ms = int(sandbox.clock.time() * 1000)
    today = datetime.now(timezone.utc).date()
    for back in range(2, 30):
        day = today - timedelta(days=back)
        for conversation in sandbox.org.conversations_for_day(day):
            if any(r.file_state_at(now_ms) == "ARCHIVED" for r in sandbox.org.recordings(conversation.id)):
                return day
    raise AssertionError("no recent day holds an ARCHIVED recording; change the seed")


def test_orphans_table_and_options_reach_a_run(local_stack, monkeypatch):
    local = local_stack(conversations_per_day=30)
    monkeypatch.setenv(RESTORE_ARCHIVED, "true")
    monkeypatch.setenv(PROTECT_UNTIL_ARCHIVED, "true")
    day = _a_day_holding_an_archived_recording(local.sandbox)
    with dg.DagsterInstance.ephemeral() as instance:
        _run("orphans_day", instance, partition_key=day.isoformat())
        result = _run("archive_day", instance, partition_key=day.isoformat())
    body = local.s3_client().get_object(Bucket="recording-manifests", Key=orphans_key(day=day))["Body"].read()
    rows = from_parquet_bytes(body).to_pylist()
    assert len(rows) == local.sandbox.config.orphans_per_day and all(
        r["created_time"].date() == day for r in rows
    )
    audio = materialisations_of(result, "recording_audio")[0].metadata
    assert audio["restorations_requested"].value > 0
    assert audio["deletion_protection"].value.startswith("by the expiry radar")
    manifest = materialisations_of(result, "recording_manifest")[0].metadata
    assert manifest["deletion_protection"].value == audio["deletion_protection"].value


def test_annotations_reach_the_manifest_and_a_rerun_asks_only_for_new_recordings(local_stack, monkeypatch):
    local = local_stack(conversations_per_day=30)
    monkeypatch.setenv(ANNOTATIONS, "true")
    day = (datetime.now(timezone.utc) - timedelta(days=2)).date()
    with dg.DagsterInstance.ephemeral() as instance:
        first = _run("archive_day", instance, partition_key=day.isoformat())
        again = _run("archive_day", instance, partition_key=day.isoformat())
    audio = materialisations_of(first, "recording_audio")[0].metadata
    body = (
        local.s3_client().get_object(Bucket="recording-manifests", Key=manifest_key(day=day))["Body"].read()
    )
    rows = from_parquet_bytes(body).to_pylist()
    archived = [r for r in rows if r["state"] == "archived"]
    assert audio["annotation_requests"].value == len(archived) > 0
    assert all(r["annotations"] is not None for r in archived)
    reasons = {a["reason"] for r in archived for a in r["annotations"]}
    assert "SecurePause" in reasons
    org = local.sandbox.org
    for row in archived:
        expected = [a["reason"] for a in annotations_for(org.seed, org.recording(row["recording_id"]))]
        assert [a["reason"] for a in row["annotations"]] == expected
    assert materialisations_of(again, "recording_audio")[0].metadata["annotation_requests"].value == 0


def test_the_restored_sensor_reruns_the_days_left_restoring_until_they_are_not():
    from recording_assets.defs.retention import RESTORED_SENSOR

    defs = load_definitions({})
    sensor = defs.resolve_sensor_def(RESTORED_SENSOR)
    with dg.instance_for_test() as instance:

        def materialise(day: str, restoring: int) -> None:
            event = dg.AssetMaterialization(
                "recording_audio", partition=day, metadata={"state_restoring": restoring}
            )
            instance.report_runless_asset_event(event)

        def tick(cursor):
            repository = defs.get_repository_def()
            with dg.build_sensor_context(
                instance=instance, cursor=cursor, repository_def=repository
            ) as context:
                result = sensor.evaluate_tick(context)
                return [r.partition_key for r in result.run_requests], result.cursor

        materialise("2026-11-20", 3)
        materialise("2026-11-21", 0)
        days, cursor = tick(None)
        assert days == ["2026-11-20"]
        assert tick(cursor)[0] == ["2026-11-20"]  # still restoring: asked again on the next tick
        materialise("2026-11-20", 0)  # a run archived them
        assert tick(cursor)[0] == []
