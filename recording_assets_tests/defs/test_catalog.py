"""What the catalog shows: column schemas from pipeline/tables.py, owners, tags, code references, row counts
and S3 locations, the Genesys source observed per day, and re-verification of an archived day on its own.

Runs are real runs of the code location against the sandbox and moto, on an ephemeral Dagster instance.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import dagster as dg
import pytest

from recording_assets.archive.keys import manifest_key, metadata_key, outcomes_key
from recording_assets.clock import FakeClock
from recording_assets.defs.catalog import TABLE_OF_ASSET
from recording_assets.defs.resources import build_resources
from recording_assets.defs.reverify import REVERIFY_CHECK, REVERIFY_JOB, partition_tags, range_tags
from recording_assets.defs.source import DATA_VERSION_TAG, SOURCE_KEY
from recording_assets.pipeline.tables import from_parquet_bytes
from recording_assets.settings import ConfigError, OperationsSettings, Settings
from recording_assets.tools.local import DEMO_ARCHIVE_BUCKET, DEMO_MANIFEST_BUCKET, LOCAL_AWS
from recording_assets_tests.conftest import FAST_SANDBOX
from recording_assets_tests.definitions_env import load_definitions
from recording_assets_tests.run_results import materialisations_of

DAY = "2026-11-20"
TABLES = ("recording_metadata", "recording_audio", "recording_manifest")


def test_every_table_asset_carries_its_schema_owners_tags_and_code_references(monkeypatch):
    monkeypatch.setenv("RECORDING_CODE_URL", "https://github.com/example/recording-assets")
    graph = load_definitions().resolve_asset_graph()
    for name in TABLES:
        node = graph.get(dg.AssetKey(name))
        schema = node.metadata["dagster/column_schema"]
        expected = TABLE_OF_ASSET[name].schema  # the pyarrow schema the runs write
        assert [(c.name, c.type) for c in schema.columns] == [(f.name, str(f.type)) for f in expected]
        assert all(c.description for c in schema.columns)
        # personal data tagged column by column, as the Parquet fields are
        tagged = {c.name for c in schema.columns if "pii" in (c.tags or {})}
        assert tagged == {f.name for f in expected if (f.metadata or {}).get(b"pii") == b"true"}
        if name != "recording_audio":
            assert {"participant_addresses", "agent_emails"} <= tagged
        assert node.owners == ["team:contact-center-platform"]
        assert {"pii", "compliance"} <= set(node.tags)
        (reference,) = node.metadata["dagster/code_references"].code_references
        repository = "https://github.com/example/recording-assets/tree/main/"
        assert reference.url.startswith(repository + "recording_assets/defs/")
        # metadata and audio come from the day's one step (defs/day.py)
        assert reference.url.split("/")[-1].split("#")[0] == (
            "manifest.py" if name == "recording_manifest" else "day.py"
        )
    source = graph.get(SOURCE_KEY)
    assert not source.is_executable and source.partitions_def is not None
    assert SOURCE_KEY in graph.get(dg.AssetKey("recording_metadata")).parent_keys


def test_without_a_repository_url_code_references_point_at_the_local_files():
    graph = load_definitions({}).resolve_asset_graph()
    metadata = graph.get(dg.AssetKey("recording_manifest")).metadata
    (reference,) = metadata["dagster/code_references"].code_references
    assert reference.file_path.endswith("recording_assets/defs/manifest.py") and reference.line_number > 0


def _table(local, bucket: str, key: str):
    return from_parquet_bytes(local.s3_client().get_object(Bucket=bucket, Key=key)["Body"].read())


def test_a_run_records_row_counts_uris_and_a_source_observation_then_the_day_reverifies(local_stack):
    local = local_stack(conversations_per_day=40)
    defs = load_definitions()
    day = date.fromisoformat(DAY)
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("archive_day").execute_in_process(partition_key=DAY, instance=instance)
        meta = {n: materialisations_of(result, n)[0].metadata for n in TABLES}
        evaluations = result.get_asset_check_evaluations()
        assert len(evaluations) == 4 and {e.partition for e in evaluations} == {DAY}  # each day its own
        written = {
            "recording_metadata": (DEMO_MANIFEST_BUCKET, metadata_key(day=day)),
            "recording_audio": (DEMO_MANIFEST_BUCKET, outcomes_key(day=day)),
            "recording_manifest": (DEMO_MANIFEST_BUCKET, manifest_key(day=day)),
        }
        for name, (bucket, key) in written.items():
            rows = _table(local, bucket, key).num_rows
            assert rows > 0
            assert "dagster/row_count" not in meta[name]  # one day is not the asset's size
            assert meta[name]["dagster/partition_row_count"].value == rows
        manifest_uri = f"s3://{DEMO_MANIFEST_BUCKET}/{manifest_key(day=day)}"
        assert meta["recording_manifest"]["dagster/uri"].value == manifest_uri
        assert meta["recording_metadata"]["dagster/uri"].value.endswith(metadata_key(day=day))
        assert meta["recording_audio"]["dagster/uri"].value == (
            f"s3://{DEMO_ARCHIVE_BUCKET}/recordings/year=2026/month=11/day=20/"
        )

        # The source, observed for this day by the run's discovery.
        of_the_day = dg.AssetRecordsFilter(asset_key=SOURCE_KEY, asset_partitions=[DAY])
        (observed,) = instance.fetch_observations(of_the_day, limit=10).records
        observation = observed.asset_observation
        for count in ("conversations", "recorded_sessions"):
            assert observation.metadata[count].value == meta["recording_metadata"][count].value
        assert observation.tags[DATA_VERSION_TAG] and observation.metadata["discovery_complete"].value is True

        # Re-verification of the archived day, on its own, for that partition: a sample, then everything.
        job = defs.resolve_job_def(REVERIFY_JOB)
        sampled = job.execute_in_process(tags=partition_tags(DAY), instance=instance)
        sampled = sampled.get_asset_check_evaluations()
        assert [(e.check_name, e.passed, e.partition) for e in sampled] == [(REVERIFY_CHECK, True, DAY)]
        assert sampled[0].metadata["read_back"].value == 5  # 2 % of a small day is under the minimum of 5
        manifest = _table(local, DEMO_MANIFEST_BUCKET, manifest_key(day=day)).to_pylist()
        archived = [r for r in manifest if r["state"] == "archived"]
        victim = archived[len(archived) // 2]
        bucket, key = victim["storage_uri"][len("s3://") :].split("/", 1)
        original = local.s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
        local.s3_client().put_object(Bucket=bucket, Key=key, Body=b"RIFF....WAVEfmt flipped bits")
        everything = {"ops": {f"recording_archive_audit_{REVERIFY_CHECK}": {"config": {"fraction": 1.0}}}}
        (full,) = job.execute_in_process(
            tags=partition_tags(DAY), instance=instance, run_config=everything, raise_on_error=False
        ).get_asset_check_evaluations()
        assert not full.passed and full.metadata["read_back"].value == len(archived)
        assert [p["recording_id"] for p in full.metadata["problems"].value] == [victim["recording_id"]]
        assert DAY in full.description

        # A range run, as the weekly schedule launches: one run, one evaluation recorded per day. The days
        # around DAY have no manifest and fail on their own partitions; the flipped object fails DAY.
        before, after = "2026-11-19", "2026-11-21"
        ranged = job.execute_in_process(
            tags=range_tags(before, after), instance=instance, run_config=everything, raise_on_error=False
        )
        check_key = dg.AssetCheckKey(dg.AssetKey("recording_archive_audit"), REVERIFY_CHECK)
        by_day = {e.partition: e for e in ranged.get_asset_check_evaluations()}
        assert sorted(by_day) == [before, DAY, after]
        assert "no manifest" in by_day[before].description and by_day[DAY].metadata["read_back"].value
        recorded = instance.event_log_storage.get_asset_check_partition_info([check_key])
        status = {info.partition_key: info.latest_execution_status.value for info in recorded}
        failed = "FAILED"
        assert status == {before: failed, DAY: failed, after: failed}
        # the victim restored, DAY alone passes in the next range run; the days around it stay failed
        local.s3_client().put_object(Bucket=bucket, Key=key, Body=original)
        job.execute_in_process(tags=range_tags(before, after), instance=instance, raise_on_error=False)
        recorded = instance.event_log_storage.get_asset_check_partition_info([check_key])
        status = {info.partition_key: info.latest_execution_status.value for info in recorded}
        assert status == {before: failed, DAY: "SUCCEEDED", after: failed}


def test_a_late_recording_shows_as_the_source_changing_after_the_day_was_read(
    sandbox_factory, s3_endpoint, bucket_names, monkeypatch
):
    """The sandbox's clock stands at noon; conversations that end later arrive after the day's first read
    (the metadata step: the step that observes the source)."""
    clock = FakeClock(start=datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc).timestamp())
    sandbox = sandbox_factory(clock=clock, conversations_per_day=300, **FAST_SANDBOX)
    for name, value in {
        "GENESYSCLOUD_API_BASE_URL": sandbox.base_url,
        "GENESYSCLOUD_OAUTHCLIENT_ID": sandbox.config.client_id,
        "GENESYSCLOUD_OAUTHCLIENT_SECRET": sandbox.config.client_secret,
        "AWS_ENDPOINT_URL": s3_endpoint,
        "RECORDING_ARCHIVE_BUCKET": bucket_names[0],
        "RECORDING_MANIFEST_BUCKET": bucket_names[1],
        **LOCAL_AWS,
    }.items():
        monkeypatch.setenv(name, value)
    defs = load_definitions()
    job = defs.resolve_job_def("archive_day")
    metadata_only = [dg.AssetKey("recording_metadata")]
    with dg.DagsterInstance.ephemeral() as instance:
        job.execute_in_process(partition_key=DAY, instance=instance, asset_selection=metadata_only)
        clock.advance(4 * 3600)  # the afternoon's conversations end: the source has more for the same day
        job.execute_in_process(partition_key=DAY, instance=instance, asset_selection=metadata_only)
        of_the_day = dg.AssetRecordsFilter(asset_key=SOURCE_KEY, asset_partitions=[DAY])
        first, second = instance.fetch_observations(of_the_day, limit=10, ascending=True).records
    before, after = first.asset_observation, second.asset_observation
    assert after.metadata["conversations"].value > before.metadata["conversations"].value > 0
    assert after.tags[DATA_VERSION_TAG] != before.tags[DATA_VERSION_TAG]
    assert second.timestamp > first.timestamp


def test_the_weekly_schedule_reverifies_the_last_30_days_in_one_run_per_tick():
    defs = load_definitions({"RECORDING_PARTITIONS_START": "2026-11-01"})
    schedule = defs.resolve_schedule_def("reverify_weekly")
    assert schedule.cron_schedule == "0 12 * * 0" and schedule.job_name == REVERIFY_JOB

    def tick(when):
        with dg.build_schedule_context(scheduled_execution_time=when) as context:
            return schedule.evaluate_tick(context).run_requests

    (late,) = tick(datetime(2026, 12, 27, 12, tzinfo=timezone.utc))
    assert range_tags("2026-11-27", "2026-12-26").items() <= late.tags.items()  # 30 days, one run
    (again,) = tick(datetime(2026, 12, 27, 12, tzinfo=timezone.utc))
    assert again.run_key == late.run_key
    (early,) = tick(datetime(2026, 11, 8, 12, tzinfo=timezone.utc))  # the partitions start on the 1st
    assert range_tags("2026-11-01", "2026-11-07").items() <= early.tags.items()
    assert tick(datetime(2026, 11, 1, 12, tzinfo=timezone.utc)) == []  # no day archived yet


@pytest.mark.parametrize(
    "name,value",
    [
        ("RECORDING_GENESYS_POOL_LIMIT", "0"),
        ("RECORDING_GENESYS_POOL_LIMIT", "two"),
        ("RECORDING_CODE_URL", "github.com/acme/recording-assets"),
    ],
)
def test_a_malformed_operations_setting_fails_naming_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        OperationsSettings.from_env({name: value})


def test_the_pool_limit_setting_divides_each_runs_budget():
    limit = OperationsSettings.from_env({"RECORDING_GENESYS_POOL_LIMIT": "3"}).pool_limit
    resource = build_resources(Settings())["genesys"]
    assert limit == 3 and resource.run_budget(limit) == pytest.approx(0.9 * 300 / 3)


def test_every_check_of_a_daily_asset_is_evaluated_per_day_and_the_blocking_ones_still_block():
    defs = load_definitions()
    blocking = {}
    for asset in ("recording_audio", "recording_manifest"):
        assets_def = defs.resolve_assets_def(asset)
        daily = assets_def.partitions_def
        own = [s for s in assets_def.check_specs if s.asset_key == dg.AssetKey(asset)]
        assert own and all(s.partitions_def == daily for s in own), own
        blocking.update({s.name: s.blocking for s in own})
    assert blocking == {
        "sha256_verified": True,
        "container_matches_content_type": True,
        "manifest_complete": True,
        "failure_rate_below_threshold": False,
    }


def test_every_asset_that_writes_a_table_declares_its_column_schema():
    """Every materialisable asset writes a Parquet table (the retention ones too): a new one without its
    table in TABLE_OF_ASSET, or a schema that is not the table's, fails here."""
    graph = load_definitions().resolve_asset_graph()
    written = {key.to_user_string() for key in graph.materializable_asset_keys}
    assert written == set(TABLE_OF_ASSET)
    for name in written:
        schema = graph.get(dg.AssetKey(name)).metadata["dagster/column_schema"]
        assert [c.name for c in schema.columns] == [c.name for c in TABLE_OF_ASSET[name].columns], name
