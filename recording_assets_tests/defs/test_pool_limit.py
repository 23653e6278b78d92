"""A run's share of the OAuth client's budget comes from its own instance's ``genesys_api`` pool limit: the
explicit limit, else the instance's ``default_limit``, else RECORDING_GENESYS_POOL_LIMIT; read from real
instances (sqlite storage in a temporary DAGSTER_HOME), and seen in a real run's log."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import dagster as dg

from recording_assets.defs.names import GENESYS_POOL
from recording_assets.defs.pool_limit import pool_limit
from recording_assets_tests.definitions_env import load_definitions


def test_the_instance_default_limit_wins_over_the_environment():
    with dg.instance_for_test(overrides={"concurrency": {"pools": {"default_limit": 3}}}) as instance:
        assert pool_limit(instance, fallback=1) == pool_limit(instance, fallback=7)
        assert pool_limit(instance, fallback=1).limit == 3
        assert pool_limit(instance, fallback=1).source == "instance default_limit"


def test_an_explicit_pool_limit_wins_over_the_default():
    with dg.instance_for_test(overrides={"concurrency": {"pools": {"default_limit": 3}}}) as instance:
        instance.event_log_storage.set_concurrency_slots(GENESYS_POOL, 5)
        found = pool_limit(instance, fallback=1)
        assert (found.limit, found.source) == (5, "instance pool limit")


def test_without_a_limit_on_the_instance_the_environment_decides():
    with dg.instance_for_test() as instance:
        found = pool_limit(instance, fallback=4)
        assert (found.limit, found.source) == (4, "RECORDING_GENESYS_POOL_LIMIT")


def test_a_run_says_which_limit_it_paces_by(local_stack):
    local_stack(conversations_per_day=3)
    day = (datetime.now(timezone.utc) - timedelta(days=2)).date().isoformat()
    with dg.instance_for_test(overrides={"concurrency": {"pools": {"default_limit": 3}}}) as instance:
        result = (
            load_definitions()
            .resolve_job_def("archive_day")
            .execute_in_process(instance=instance, partition_key=day, raise_on_error=False)
        )
        messages = [
            e.message for e in instance.all_logs(result.run_id) if e.message and "pool limit" in e.message
        ]
    assert any(f"{GENESYS_POOL} pool limit 3 (instance default_limit)" in m for m in messages), messages
