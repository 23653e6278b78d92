"""The ``yesterday_archived`` check: freshness of one day, not of the latest materialisation of any day.

Real runs of the real ``archive_day`` job against the sandbox and moto record materialisations (and a real
failed run) in an ephemeral Dagster instance; the check is evaluated the way production evaluates it: a
tick of the ``check_freshness`` sensor, whose ``SensorResult`` the sensor daemon records on the instance
(``report_runless_asset_event``, _daemon/sensor.py), where the asset's Checks tab reads the latest one.
"""

from datetime import date, datetime, time, timedelta, timezone

import dagster as dg
import pytest

from recording_assets.defs.freshness import FRESHNESS_CHECK, HOURS_LATE, due_day, evaluate
from recording_assets.defs.names import FRESHNESS_CHECK as FRESHNESS_CHECK_KEY
from recording_assets.defs.names import FRESHNESS_SENSOR
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


def _tick(defs, instance, cursor: str | None = None) -> tuple[list[dg.AssetCheckEvaluation], str | None]:
    """One tick of the check_freshness sensor on ``instance``, recorded as the sensor daemon records it."""
    sensor = defs.resolve_sensor_def(FRESHNESS_SENSOR)
    with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs) as context:
        data = sensor.evaluate_tick(context)
    assert not data.run_requests  # bookkeeping only: the verdict needs no run
    evaluations = [e for e in data.asset_events if isinstance(e, dg.AssetCheckEvaluation)]
    assert len(evaluations) == len(data.asset_events)
    for event in evaluations:
        instance.report_runless_asset_event(event)
    return evaluations, data.cursor


def _evaluate_once(defs, instance) -> dg.AssetCheckEvaluation:
    (evaluation,), _ = _tick(defs, instance)
    assert evaluation.asset_check_key == FRESHNESS_CHECK_KEY and evaluation.check_name == FRESHNESS_CHECK
    # The verdict is the instance's too: the Checks tab shows the latest execution, without a run.
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key([FRESHNESS_CHECK_KEY])
    assert record[FRESHNESS_CHECK_KEY].evaluation.passed == evaluation.passed
    assert not record[FRESHNESS_CHECK_KEY].run_id
    assert not instance.get_runs() or all(r.job_name == "archive_day" for r in instance.get_runs())
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
        # How late, as a number (it plots): now is past yesterday's deadline by at least zero hours.
        assert isinstance(red.metadata[HOURS_LATE], dg.FloatMetadataValue)

        # The day archived (a re-run): the next evaluation is green again.
        assert _archive(defs, instance, yesterday).success
        green = _evaluate_once(defs, instance)
        assert green.passed and yesterday.isoformat() in green.description
        assert isinstance(green.metadata[HOURS_LATE], dg.FloatMetadataValue)


def test_the_sensor_records_a_verdict_only_when_it_changes(local_stack):
    """A tick whose day, outcome and whole hours late are unchanged records nothing new."""
    local_stack(conversations_per_day=4)
    yesterday = due_day(datetime.now(timezone.utc), "UTC", "06:00")
    defs = load_definitions()
    with dg.DagsterInstance.ephemeral() as instance:
        (missing,), cursor = _tick(defs, instance)
        assert not missing.passed and yesterday.isoformat() in missing.description
        again, same_cursor = _tick(defs, instance, cursor)
        assert again == [] and same_cursor == cursor
        assert _archive(defs, instance, yesterday).success
        (archived,), _ = _tick(defs, instance, cursor)
        assert archived.passed
        checks = instance.event_log_storage.get_asset_check_execution_history(FRESHNESS_CHECK_KEY, limit=10)
        assert [c.status.value for c in checks] == ["SUCCEEDED", "FAILED"]  # newest first


@pytest.mark.parametrize("deadline", ["00:00", "23:59"])
def test_hours_late_of_an_archived_day_is_how_far_past_the_deadline_it_arrived(deadline):
    """The manifest lands now (the instance stamps it): with a deadline of 00:00 it is as many hours late as
    the day is old; with 23:59 it is on time."""
    with dg.DagsterInstance.ephemeral() as instance:
        landed = datetime.now(timezone.utc)
        day = landed.date() - timedelta(days=1)
        instance.report_runless_asset_event(dg.AssetMaterialization("recording_manifest", partition=str(day)))
        stamp = (
            instance.fetch_materializations(dg.AssetKey("recording_manifest"), limit=1).records[0].timestamp
        )
        landed = datetime.fromtimestamp(stamp, timezone.utc)
        hour, minute = (int(x) for x in deadline.split(":"))
        due_at = datetime.combine(landed.date(), time(hour, minute), tzinfo=timezone.utc)
        verdict = evaluate(
            instance,
            now=max(landed, due_at),
            settings=AutomationSettings(freshness_deadline=deadline),
            timezone_name="UTC",
            first_day=date(2025, 1, 1),
        )
    assert verdict.passed and verdict.metadata["day"].value == str(day)
    expected = round(max(0.0, (landed - due_at).total_seconds() / 3600), 2)
    assert verdict.metadata[HOURS_LATE].value == expected
    if deadline == "23:59":
        assert expected == 0.0


def test_hours_late_of_a_missing_day_grows_from_its_deadline():
    with dg.DagsterInstance.ephemeral() as instance:
        verdicts = [
            evaluate(
                instance,
                now=datetime(2026, 11, 23, hour, 0, tzinfo=timezone.utc),
                settings=AutomationSettings(),
                timezone_name="Europe/Berlin",  # the deadline is 06:00 Berlin = 05:00 UTC
                first_day=date(2025, 1, 1),
            )
            for hour in (5, 8)
        ]
    assert [v.passed for v in verdicts] == [False, False]
    assert [v.metadata[HOURS_LATE].value for v in verdicts] == [0.0, 3.0]


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
