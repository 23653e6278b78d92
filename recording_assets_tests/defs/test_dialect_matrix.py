"""The daily assets under every reading of what the Genesys documentation leaves open (docs/genesys-behaviours.md).

Each dialect of the sandbox archives a 400-conversation day twice. Under every one: every recording the run lists
ends in one explicit state and every downloadable one is archived, byte for byte; at most 40 API requests per
1,000 archived recordings beside the route's fixed requests (ROUTE_OVERHEAD), plus at most one look-up per
conversation holding an ARCHIVED or DELETED recording;
the re-run spends no batch request and no look-up. The `independent` dialect (every non-default reading at once)
runs through the README's `dagster asset materialize` command.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest

from recording_assets.archive.keys import manifest_key
from recording_assets.sandbox import DIALECTS, Faults
from recording_assets.sandbox.config import VIEW_SENSITIVE
from recording_assets_tests.defs.test_assets_e2e import EXPLICIT, materialise, object_sha256, read

pytestmark = pytest.mark.slow

DAY = (datetime.now(timezone.utc).date() - timedelta(days=3)).isoformat()  # in the synchronous query's reach
CONVERSATIONS = 400
UNAVAILABLE = ("ARCHIVED", "DELETED")
# Readings of the details query alone: played with the day not yet in the data lake, so the query reads it
# (every other dialect's day is in the lake and read by the jobs route).
QUERY_ROUTE = {"approximate-hits": {"data_lag_s": 10 * 86_400.0}}
# Job results refused at the size asked: the jobs route falls back to the query.
FALLS_BACK = {"refusing-job-pages"}
# The route's requests that are not pages of conversations: the availability read and, where a job ran, its
# submission, its status poll and (refused) its first results page. On a 400-conversation day they are
# fixed costs the 40-per-1,000 goal of a 10,000-recording day does not carry (api_efficiency.py measures it).
ROUTE_OVERHEAD = 4
# The first day's names: users and queues by id, wrap-up codes listed, and one divisions listing (counted
# with the preflight's under "authorization"); api_efficiency.py --names measures them per 1,000.
NAME_FAMILIES = ("users", "routing")
DIVISION_LISTINGS = 1


def truth(local) -> dict:
    org, day = local.sandbox.org, date.fromisoformat(DAY)
    return {(c.id, r.id): r for c in org.conversations_for_day(day) for r in c.recordings}


def counted(local) -> tuple[int, dict]:
    families = local.sandbox.stats()["requests"]
    return sum(n for family, n in families.items() if family not in ("token", "media")), families


def check_day(local, rows, *, lists_every_recording: bool) -> Counter:
    """Every listed recording explicit; every downloadable one archived and byte-identical; nothing invented."""
    expected = truth(local)
    listed = {(r["conversation_id"], r["recording_id"]): r for r in rows}
    s3 = local.s3_client()
    assert set(listed) <= set(expected)
    assert all(r["state"] in EXPLICIT for r in rows)
    for key, rec in expected.items():
        if rec.file_state == "AVAILABLE" and not rec.sensitive:
            assert listed[key]["state"] == "archived", (key, listed.get(key))
            assert object_sha256(s3, listed[key]["storage_uri"]) == local.sandbox.org.media_sha256(rec.id)
        elif key in listed:
            assert listed[key]["state"] in ("archived_in_genesys", "deleted", "excluded", "archived"), listed[
                key
            ]
        else:
            # Only a batch that leaves unavailable items out, read in trust mode, can hide a recording.
            assert not lists_every_recording and rec.file_state in UNAVAILABLE, (key, rec.file_state)
    return Counter(r["state"] for r in rows)


def check_budget(local, rows, api: int, families: dict) -> None:
    archived = sum(1 for r in rows if r["state"] == "archived")
    lookups = families.get("recording.metadata", 0)
    holding_unavailable = {cid for (cid, _), rec in truth(local).items() if rec.file_state in UNAVAILABLE}
    assert lookups <= len(holding_unavailable), families
    route_overhead = min(families.get("analytics.jobs", 0), ROUTE_OVERHEAD)
    names = sum(families.get(family, 0) for family in NAME_FAMILIES) + DIVISION_LISTINGS
    assert api - lookups - route_overhead - names <= 40 * archived / 1000, families


def manifest_rows(local) -> list[dict]:
    return read(local, "recording-manifests", manifest_key(day=date.fromisoformat(DAY)))


@pytest.mark.parametrize("name", [n for n in DIALECTS if n != "independent"])
def test_every_dialect_archives_the_day_within_budget_and_a_rerun_asks_no_batch(local_stack, name):
    local = local_stack(
        conversations_per_day=CONVERSATIONS, live_calls=0, dialect=DIALECTS[name], **QUERY_ROUTE.get(name, {})
    )
    result, checks, meta = materialise(DAY)
    assert result.success and all(checks.values()), checks
    by_query = name in QUERY_ROUTE or name in FALLS_BACK
    assert meta["recording_metadata"]["discovery_method"].text == ("query" if by_query else "jobs")
    rows = manifest_rows(local)
    omitting = DIALECTS[name].batch_unavailable == "omitted"
    states = check_day(local, rows, lists_every_recording=not omitting)
    api, families = counted(local)
    check_budget(local, rows, api, families)
    assert (
        meta["recording_manifest"]["sensitive_check"].value == "trust"
    )  # preflight confirmed the permission

    local.sandbox.reset_stats()
    result, checks, meta = materialise(DAY)
    assert result.success and all(checks.values())
    _, families = counted(local)
    assert not {"recording.batch.submit", "recording.batch.poll", "recording.metadata"} & set(families), (
        families
    )
    assert Counter(r["state"] for r in manifest_rows(local)) == states
    assert meta["recording_audio"]["conversations_settled"].value == len(
        {c.id for c in local.sandbox.org.conversations_for_day(date.fromisoformat(DAY))}
    )


def test_without_the_sensitive_permission_lookup_mode_lists_what_batches_leave_out(local_stack, monkeypatch):
    denied = Faults(deny_permissions=frozenset({VIEW_SENSITIVE}))
    # A look-up per conversation: a smaller day keeps the test short at the product's own pace.
    local = local_stack(
        conversations_per_day=120, live_calls=0, dialect=DIALECTS["omitting-batches"], faults=denied
    )
    # The synthetic org's days differ: take the latest day in the synchronous query's reach that holds a
    # sensitive recording (a day without one would prove nothing).
    latest = date.fromisoformat(DAY)
    for back in range(0, 20):
        day = latest - timedelta(days=back)
        if any(r.sensitive and r.file_state == "AVAILABLE" for c in local.sandbox.org.conversations_for_day(day)
               for r in c.recordings):  # fmt: skip
            monkeypatch.setattr(sys.modules[__name__], "DAY", day.isoformat())
            break
    result, checks, meta = materialise(DAY)
    assert result.success and all(checks.values())
    rows = manifest_rows(local)
    states = check_day(local, rows, lists_every_recording=True)
    sensitive = sum(1 for rec in truth(local).values() if rec.sensitive and rec.file_state == "AVAILABLE")
    assert states["excluded"] == sensitive > 0
    assert meta["recording_manifest"]["sensitive_check"].value == "lookup"
    _, families = counted(local)
    assert families["recording.metadata"] == meta["recording_metadata"]["conversations"].value  # one each


def test_the_independent_dialect_through_the_readme_command(local_stack, tmp_path):
    local = local_stack(conversations_per_day=CONVERSATIONS, live_calls=0, dialect=DIALECTS["independent"])
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, **local.environment(), "DAGSTER_HOME": str(home)}
    # fmt: skip below keeps each option beside its value.
    command = [
        os.path.join(os.path.dirname(sys.executable), "dagster"), "asset", "materialize",
        "-m", "recording_assets.definitions",
        "--select", "recording_metadata,recording_audio,recording_manifest",
        "--partition", DAY,
    ]  # fmt: skip
    for attempt in ("first", "re-run"):
        local.sandbox.reset_stats()
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        rows = manifest_rows(local)
        check_day(local, rows, lists_every_recording=False)
        api, families = counted(local)
        if attempt == "first":
            check_budget(local, rows, api, families)
        else:
            assert not {"recording.batch.submit", "recording.batch.poll", "recording.metadata"} & set(
                families
            )
