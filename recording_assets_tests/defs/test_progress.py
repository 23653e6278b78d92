"""A long day is not silent: the day's step tells its progress at a steady interval (pipeline/progress.py),
read back from the run's event log in Dagster's instance, against the sandbox org and moto."""

from __future__ import annotations

import re

import dagster as dg
import pytest

from recording_assets.settings import PROGRESS_INTERVAL_S
from recording_assets_tests.definitions_env import load_definitions
from recording_assets_tests.run_results import materialisations_of

DAY = "2026-11-20"
LINE = re.compile(
    r"progress: (?P<done>\d+) of (?P<known>\d+) recordings done, (?P<conversations>\d+) conversations, "
    r"(?P<bytes>\d+) bytes uploaded, (?P<rpm>\d+) requests/min, (?P<r429>\d+) answered 429, "
    r"elapsed (?P<elapsed>\d+) s, ETA (?P<eta>unknown|\d+ s)"
)
MAX_GAP_S = 30.0  # what an operator may wait at most between two lines (the acceptance's bound)


@pytest.mark.slow
def test_a_2000_recording_day_reports_progress_at_least_every_30_s(local_stack, monkeypatch):
    # Slow batch jobs keep the day running long enough for several lines at a 5 s interval.
    local_stack(conversations_per_day=1900, job_latency_s=1.0)
    monkeypatch.setenv(PROGRESS_INTERVAL_S, "5")
    job = load_definitions().resolve_job_def("archive_day")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(partition_key=DAY, instance=instance)
        logs = instance.all_logs(result.run_id)
    assert result.success
    lines = [(e.timestamp, LINE.fullmatch(e.user_message)) for e in logs if "progress:" in e.user_message]
    assert lines and all(match is not None for _, match in lines), [e.user_message for e in logs][:5]
    figures = [(at, m.groupdict()) for at, m in lines if m is not None]
    step = [e for e in logs if e.dagster_event is not None and e.step_key == "recording_day"]
    started = next(e.timestamp for e in step if e.dagster_event.event_type_value == "STEP_START")
    ended = next(e.timestamp for e in step if e.dagster_event.event_type_value == "STEP_SUCCESS")
    moments = [started, *(at for at, _ in figures), ended]
    gaps = [later - earlier for earlier, later in zip(moments, moments[1:], strict=False)]
    assert max(gaps) <= MAX_GAP_S, gaps
    assert len(figures) >= 4  # the first, at least two from the timer, the last
    done = [int(f["done"]) for _, f in figures]
    assert done == sorted(done) and done[0] == 0
    assert all(int(f["done"]) <= int(f["known"]) for _, f in figures)
    last = figures[-1][1]
    manifest = (
        materialisations_of(result, "recording_manifest")[0].metadata["dagster/partition_row_count"].value
    )
    assert int(last["done"]) == int(last["known"]) == manifest >= 2000
    assert int(last["bytes"]) > 0 and int(last["conversations"]) >= 1900
    assert any(f["eta"] != "unknown" for _, f in figures[1:-1])  # an ETA once recordings are done
    assert any(int(f["rpm"]) > 0 for _, f in figures[1:])
