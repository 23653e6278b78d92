"""deploy/dagster.yaml, verbatim, against a real PostgreSQL: a private cluster on loopback (initdb into a
temp dir, pg_ctl start on a free port with its own socket dir), a DAGSTER_HOME holding the documented
file, and one partition materialised with ``dagster asset materialize`` against the sandbox and moto.
The run, its materialisations, its check results and the genesys_api pool are then read back from
PostgreSQL itself."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date, timedelta

import dagster as dg
import pytest

from recording_assets.defs.names import GENESYS_POOL
from recording_assets.tools.local import DEMO_MANIFEST_BUCKET, LocalStack
from recording_assets_tests.conftest import FAST_SANDBOX
from recording_assets_tests.ops.ops_support import REPO, PostgresCluster, artifacts

# One at a time with the other tests of the "serial" xdist group (a PostgreSQL cluster).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serial")]

DB = "dagster"
CHECKS = ("container_matches_content_type", "manifest_complete", "sha256_verified")


@pytest.fixture(scope="module")
def postgres():
    cluster = PostgresCluster().start()
    try:
        cluster.create_database(DB)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_home(tmp_path, postgres, monkeypatch):
    home = tmp_path / "dagster-home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    env = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": str(postgres.port),
        "DAGSTER_PG_USER": postgres.user,
        "DAGSTER_PG_PASSWORD": "unused-with-trust-auth",
        "DAGSTER_PG_DB": DB,
        # Run logs to S3 (deploy/dagster.yaml, compute_logs): the local S3's manifest bucket.
        "DAGSTER_COMPUTE_LOG_BUCKET": DEMO_MANIFEST_BUCKET,
        "AWS_REGION": "us-east-1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return home, env


def test_documented_postgres_storage_records_a_materialised_partition(postgres, postgres_home):
    home, pg_env = postgres_home
    day = (date.today() - timedelta(days=4)).isoformat()
    out = artifacts("postgres")
    with LocalStack(sandbox_config={**FAST_SANDBOX, "conversations_per_day": 40}) as local:
        env = {**os.environ, **local.environment(), **pg_env}
        command = [
            sys.executable,
            "-m",
            "dagster",
            "asset",
            "materialize",
            "-m",
            "recording_assets.definitions",
            "--select",
            ",".join(("recording_metadata", "recording_audio", "recording_manifest")),
            "--partition",
            day,
        ]
        result = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
        (out / "dagster-asset-materialize.log").write_text(result.stdout + result.stderr)
        assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
        # No RUN_SUCCESS line on the console: deploy/dagster.yaml's python_log_level (INFO, for the project's
        # loggers) is also the run's log level, so Dagster's DEBUG event lines stay out of the console and the
        # run logs. The events themselves are stored; RUN_SUCCESS is read from Postgres below.
        logs = local.s3_client().list_objects_v2(Bucket=DEMO_MANIFEST_BUCKET, Prefix="dagster-compute-logs/")
        log_keys = [o["Key"] for o in logs.get("Contents", [])]
        assert any(k.endswith((".err", ".out")) for k in log_keys), log_keys

    # The instance the file describes really is PostgreSQL, and it holds the run.
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        records = instance.get_run_records()
        assert len(records) == 1 and records[0].dagster_run.status == dg.DagsterRunStatus.SUCCESS
        run_id = records[0].dagster_run.run_id
        ended = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_SUCCESS).records
        assert len(ended) == 1, ended
        assert instance.get_materialized_partitions(dg.AssetKey("recording_manifest")) == {day}
        # The pool limit of deploy/dagster.yaml, stored in Postgres (RECORDING_GENESYS_POOL_LIMIT states it
        # to the runs: deploy/values.yaml).
        assert instance.event_log_storage.get_concurrency_info(GENESYS_POOL).limit == 2

    # ... and straight from PostgreSQL, without Dagster in between.
    connection = postgres.connect(DB)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT run_id, status FROM runs")
            assert cursor.fetchall() == [(run_id, "SUCCESS")]
            cursor.execute(
                "SELECT asset_key, partition FROM event_logs WHERE run_id = %s AND dagster_event_type = "
                "'ASSET_MATERIALIZATION' ORDER BY asset_key",
                (run_id,),
            )
            assert cursor.fetchall() == [
                (f'["{a}"]', day)
                for a in sorted(("recording_metadata", "recording_audio", "recording_manifest"))
            ]
            cursor.execute(
                "SELECT check_name, execution_status FROM asset_check_executions WHERE run_id = %s ORDER BY id",
                (run_id,),
            )
            rows = cursor.fetchall()
            latest = dict(rows)  # a check's latest row wins
            assert {n: latest.get(n) for n in CHECKS} == dict.fromkeys(CHECKS, "SUCCEEDED"), rows
            cursor.execute('SELECT concurrency_key, "limit" FROM concurrency_limits')
            assert (GENESYS_POOL, 2) in cursor.fetchall()
    finally:
        connection.close()


def test_cluster_binaries_come_from_system_deps():
    """The PostgreSQL server binaries the test above uses are where scripts/system-deps puts them."""
    from recording_assets_tests.ops.ops_support import postgres_bindir

    bindir = postgres_bindir()
    version = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True
    )
    assert "PostgreSQL" in version.stdout
