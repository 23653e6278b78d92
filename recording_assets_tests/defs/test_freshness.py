"""The ``yesterday_archived`` check: freshness of one day, not of the latest materialisation of any day.

Real runs of the real ``archive_day`` job against the sandbox and moto record materialisations (and a real
failed run) in an ephemeral Dagster instance; the check is evaluated the way production evaluates it:
one tick of the ``check_freshness`` schedule, and the run it requests executed on the same instance.
"""

from datetime import date, datetime, time, timedelta, timezone

import dagster as dg
import pytest

from recording_assets.defs.freshness import FRESHNESS_CHECK, FRESHNESS_JOB, due_day, evaluate
from recording_assets.settings import MANIFEST_BUCKET, AutomationSettings
from recording_assets.tools.local import DEMO_MANIFEST_BUCKET
from recording_assets_tests.definitions_env import load_definitions


@pytest.mark.parametrize(
    "now,zone,expected",
    [
        # Before the deadline the day before yesterday is due; at it, yesterday.
        (datetime(2026, 11, 23, 5, 59, tzinfo=timezone.utc), "UTC", date(2026, 11, 21)),
        (datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc), "UTC", date(2026, 11, 22)),
        # 05:30 UTC is 06:30 in Berlin (winter): yesterday is due there, not yet in UTC.
        (datetime(2026, 11, 23, 5, 30, tzinfo=timezone.utc), "Europe/Berlin", date(2026, 11, 22)),
        # 23:30 UTC on the 22nd is already the 23rd, 10:30, in Sydney.
        (datetime(2026, 11, 22, 23, 30, tzinfo=timezone.utc), "Australia/Sydney", date(2026, 11, 22)),
    ],
)
def test_the_day_due_is_yesterday_once_the_local_deadline_has_passed(now, zone, expected):
    assert due_day(now, zone, "06:00") == expected


def _archive(defs, instance, day: date, *, raise_on_error=True):
    job = defs.resolve_job_def("archive_day")
    return job.execute_in_process(
        partition_key=day.isoformat(), instance=instance, raise_on_error=raise_on_error
    )


def _evaluate_once(defs, instance) -> dg.AssetCheckEvaluation:
    """One tick of the check_freshness schedule, and the run it requests, on ``instance``."""
    schedule = defs.resolve_schedule_def(FRESHNESS_JOB)
    now = datetime.now(timezone.utc)
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=now) as context:
        requests = schedule.evaluate_tick(context).run_requests
    assert len(requests) == 1
    result = defs.resolve_job_def(requests[0].job_name or FRESHNESS_JOB).execute_in_process(instance=instance)
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == FRESHNESS_CHECK
    # The verdict is the instance's too: the asset page shows the latest execution.
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key([evaluation.asset_check_key])
    assert record[evaluation.asset_check_key].evaluation.passed == evaluation.passed
    return evaluation


def test_yesterday_failed_while_an_older_day_was_reswept_turns_the_check_red_naming_the_day(
    local_stack, monkeypatch
):
    local_stack(conversations_per_day=6)
    yesterday = due_day(datetime.now(timezone.utc), "UTC", "06:00")
    older = yesterday - timedelta(days=3)
    defs = load_definitions()
    with dg.DagsterInstance.ephemeral() as instance:
        assert _archive(defs, instance, older).success  # the re-sweep of an older day succeeds
        # Planted failure of yesterday's partition: its manifest bucket does not exist.
        monkeypatch.setenv(MANIFEST_BUCKET, "no-such-bucket-for-freshness")
        assert not _archive(defs, instance, yesterday, raise_on_error=False).success
        monkeypatch.setenv(MANIFEST_BUCKET, DEMO_MANIFEST_BUCKET)
        graph = defs.resolve_asset_graph()
        # Dagster's own policy judges the latest materialisation of any partition: the re-sweep satisfies it.
        assert graph.get(dg.AssetKey("recording_manifest")).freshness_policy is not None

        red = _evaluate_once(defs, instance)
        assert not red.passed and red.severity == dg.AssetCheckSeverity.ERROR
        assert yesterday.isoformat() in red.description and "failed" in red.description
        assert red.metadata["day"].value == yesterday.isoformat()
        assert red.metadata["last_failed_run"].value

        # The day archived (a re-run): the next evaluation is green again.
        assert _archive(defs, instance, yesterday).success
        green = _evaluate_once(defs, instance)
        assert green.passed and yesterday.isoformat() in green.description


def test_a_materialisation_written_before_the_day_ended_does_not_count():
    """A run of a day while it was still going archived part of it: the check stays red for that day."""
    today = datetime.now(timezone.utc).date()
    tomorrow_morning = datetime.combine(today + timedelta(days=1), time(7, 0), tzinfo=timezone.utc)
    with dg.DagsterInstance.ephemeral() as instance:
        today_so_far = dg.AssetMaterialization("recording_manifest", partition=today.isoformat())
        instance.report_runless_asset_event(today_so_far)
        verdict = evaluate(
            instance,
            now=tomorrow_morning,
            settings=AutomationSettings(),
            timezone_name="UTC",
            first_day=date(2025, 1, 1),
        )
        assert not verdict.passed and today.isoformat() in verdict.description
        # The same materialisation does count for the day before it was written, once due.
        instance.report_runless_asset_event(
            dg.AssetMaterialization("recording_manifest", partition=(today - timedelta(days=1)).isoformat())
        )
        assert evaluate(
            instance,
            now=tomorrow_morning - timedelta(days=1),
            settings=AutomationSettings(),
            timezone_name="UTC",
            first_day=date(2025, 1, 1),
        ).passed


def test_nothing_is_due_before_the_first_partition():
    with dg.DagsterInstance.ephemeral() as instance:
        verdict = evaluate(
            instance,
            now=datetime(2025, 1, 1, 12, tzinfo=timezone.utc),
            settings=AutomationSettings(),
            timezone_name="UTC",
            first_day=date(2025, 1, 1),
        )
    assert verdict.passed and "nothing due" in verdict.description
