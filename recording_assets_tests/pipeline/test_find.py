"""``recording-assets find`` over a 30-day archive of the sandbox org in moto: exactly the sandbox's truth for
an agent, only the manifests of the days asked for read (each GET the command makes is counted), every
download verified against the manifest, and a corrupted object failing the command.

Each day is archived by the real ``DayArchiver``, its ids named by the real names pipeline from the sandbox's
users, queues, wrap-up codes and divisions, and its manifest and sidecars written by the same library
functions the ``recording_manifest`` asset calls; the org is tiny (a few conversations a day) so 30 days
stay cheap.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import uuid
from datetime import date, datetime, timedelta, timezone

import boto3
import pytest

from recording_assets.archive.keys import manifest_key
from recording_assets.archive.store import ArchiveStore
from recording_assets.pipeline.discovery import metadata_table
from recording_assets.pipeline.finder import FindError, FindQuery, find_recordings
from recording_assets.pipeline.manifest import manifest_table
from recording_assets.pipeline.names import DayNames, day_names, ids_of, with_names
from recording_assets.pipeline.outcome import outcomes_table
from recording_assets.pipeline.sidecars import write_sidecars
from recording_assets.pipeline.table_io import read_table, write_table
from recording_assets.tools.cli import build_parser
from recording_assets_tests.conftest import S3_CREDENTIALS
from recording_assets_tests.pipeline.support import DAY, archive_day, genesys_client, stores

DAYS = [DAY - timedelta(days=n) for n in range(30)][::-1]  # 30 days, all ended by the clock's start
UTC = timezone.utc


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@pytest.fixture(scope="module")
def archive(s3_endpoint):
    """30 sandbox days archived into moto, once for the module (each test changes only days no other reads);
    returns (sandbox, archive store, manifest store)."""
    from recording_assets.clock import FakeClock
    from recording_assets.sandbox import SandboxConfig, SandboxServer

    clock = FakeClock()
    sandbox = SandboxServer(SandboxConfig(conversations_per_day=5, media_scale=0.002), clock=clock)
    sandbox.start()
    client = s3(s3_endpoint)
    names = (f"archive-{uuid.uuid4().hex[:10]}", f"manifest-{uuid.uuid4().hex[:10]}")
    for name in names:
        client.create_bucket(Bucket=name)
    store, manifests = stores(client, names)
    try:
        for day in DAYS:
            report, _, conversations = archive_day(sandbox, clock, store, manifests, day=day)
            names = asyncio.run(resolved_names(sandbox, clock, manifests, conversations))
            outcomes = outcomes_table(report.outcomes, "run-1")
            metadata = with_names(metadata_table(conversations), names)
            table = manifest_table(metadata, outcomes, manifest_run_id="run-1")
            write_table(manifests, manifest_key(day=day), table)
            write_sidecars(store, table, existing=frozenset())
        yield sandbox, store, manifests
    finally:
        sandbox.stop()


async def resolved_names(sandbox, clock, manifests, conversations) -> DayNames:
    """The day's names as the day step resolves them: the dimension tables in the manifest bucket first,
    the sandbox's directory endpoints for the ids they lack."""
    async with genesys_client(sandbox, clock) as client:
        return await day_names(
            client.transport, manifests, ids_of(conversations), now=datetime.fromtimestamp(clock.time(), UTC)
        )


def s3(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **S3_CREDENTIALS)


def agent_truth(sandbox, agent_id: str, days: list[date]) -> set[tuple[str, str]]:
    """The sandbox's own record: every recording of a conversation the agent took part in (as the agent or
    the consulted one) that started on one of ``days`` and has ended."""
    org, now_ms = sandbox.org, int(sandbox.clock.time() * 1000)
    agents = org.directory.agents
    found = set()
    for day in days:
        start_ms = int(_midnight(day).timestamp() * 1000)
        for c in org.conversations_for_day(day):
            if c.end_ms > now_ms or not start_ms <= c.start_ms < start_ms + 86_400_000:
                continue
            taking_part = {agents[c.agent].id} | (
                {agents[c.consult_agent].id} if c.consult_agent >= 0 else set()
            )
            if agent_id in taking_part:
                found |= {(c.id, r.id) for r in c.recordings}
    return found


def counting(client) -> dict[str, list]:
    """Every GetObject key and every listing ``client`` sends (botocore's event hooks; nothing patched)."""
    calls: dict[str, list] = {"GetObject": [], "ListObjectsV2": []}

    def record(params, model, **_):
        calls[model.name].append(params.get("Key") or params.get("Prefix"))

    for name in calls:
        client.meta.events.register(f"provide-client-params.s3.{name}", record)
    return calls


def busiest_agent(sandbox, days: list[date]) -> str:
    counts: dict[str, int] = {}
    for agent in sandbox.org.directory.agents:
        counts[agent.id] = len(agent_truth(sandbox, agent.id, days))
    return max(counts, key=lambda a: (counts[a], a))


def test_find_by_agent_returns_the_sandbox_truth_reading_only_those_days(archive, s3_endpoint):
    sandbox, store, manifests = archive
    client = s3(s3_endpoint)
    calls = counting(client)
    span = DAYS[10:17]  # a week in the middle of the 30 days
    agent = busiest_agent(sandbox, span)
    truth = agent_truth(sandbox, agent, span)
    assert truth  # the week holds recordings of that agent, or the test proves nothing
    query = FindQuery(start=_midnight(span[0]), end=_midnight(span[-1] + timedelta(days=1)), agent=agent)
    result = find_recordings(ArchiveStore(client, bucket=manifests.bucket), query, zone=UTC)
    assert {(r["conversation_id"], r["recording_id"]) for r in result.rows} == truth
    assert all(agent in r["agent_ids"] for r in result.rows)
    # Seven manifests, their keys derived from the layout: no listing, no other object read.
    assert calls["GetObject"] == [manifest_key(day=d) for d in span] == result.manifests_read
    assert calls["ListObjectsV2"] == []
    assert not result.missing_days and not result.unreadable


def test_find_matches_names_and_e_mails_the_names_pipeline_resolved(archive):
    """Names and e-mails as the pipeline wrote them from the sandbox's users endpoint; the agent searched by
    the sandbox directory's own name and address, in another case than the archive holds them."""
    sandbox, _, manifests = archive
    directory = sandbox.org.directory
    day = DAYS[3]
    table = read_table(manifests, manifest_key(day=day))
    assert table is not None
    rows = table.to_pylist()
    agent = next(a for a in directory.agents if any(a.id in (r["agent_ids"] or []) for r in rows))
    named = next(r for r in rows if agent.id in (r["agent_ids"] or []))
    at = named["agent_ids"].index(agent.id)
    # What the names pipeline wrote is the directory's truth, aligned with agent_ids.
    assert named["agent_names"][at] == agent.name
    assert named["agent_emails"][at] == directory.email_of(agent)
    window = {"start": _midnight(DAYS[2]), "end": _midnight(DAYS[5])}
    expected = {
        (r["conversation_id"], r["recording_id"])
        for d in DAYS[2:5]
        for r in read_table(manifests, manifest_key(day=d)).to_pylist()
        if agent.id in (r["agent_ids"] or [])
    }
    for given in (agent.id, agent.name.upper(), directory.email_of(agent).upper()):
        found = find_recordings(manifests, FindQuery(**window, agent=given), zone=UTC)
        got = {(r["conversation_id"], r["recording_id"]) for r in found.rows}
        assert got == expected, given


def test_address_conversation_and_state_filters(archive):
    _, _, manifests = archive
    rows = read_table(manifests, manifest_key(day=DAYS[0])).to_pylist()
    row = next(r for r in rows if any(a.startswith("tel:") for a in r["participant_addresses"] or []))
    phone = next(a for a in row["participant_addresses"] if a.startswith("tel:"))[4:]
    window = {"start": _midnight(DAYS[0]), "end": _midnight(DAYS[1])}
    found = find_recordings(manifests, FindQuery(**window, address=phone.replace("+1", "+1 ")), zone=UTC)
    assert row["recording_id"] in {r["recording_id"] for r in found.rows}
    assert all(
        any(phone in a for a in r_all["participant_addresses"])
        for r_all in rows
        if r_all["recording_id"] in {r["recording_id"] for r in found.rows}
    )
    by_conversation = find_recordings(
        manifests, FindQuery(**window, conversation_id=row["conversation_id"]), zone=UTC
    )
    assert {r["recording_id"] for r in by_conversation.rows} == {
        r["recording_id"] for r in rows if r["conversation_id"] == row["conversation_id"]
    }
    archived = find_recordings(manifests, FindQuery(**window, state="archived"), zone=UTC)
    assert {r["recording_id"] for r in archived.rows} == {
        r["recording_id"] for r in rows if r["state"] == "archived"
    }


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"state": "lost"}, "--state 'lost' is not a state"),
        ({"agent": "  "}, "--agent is empty"),
        ({"address": "12"}, "--address is neither a phone number"),
        ({"end": _midnight(DAYS[0])}, "must be after --from"),
        ({"end": _midnight(DAYS[0]) + timedelta(days=400)}, "query at most 366"),
    ],
)
def test_a_bad_query_is_refused_naming_the_problem(kwargs, named):
    with pytest.raises(FindError, match=named):
        FindQuery(**{"start": _midnight(DAYS[0]), "end": _midnight(DAYS[1]), **kwargs}).days(UTC)


def _cli(monkeypatch, s3_endpoint, archive, argv, capsys):
    _, store, manifests = archive
    for name, value in {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "RECORDING_ARCHIVE_BUCKET": store.bucket,
        "RECORDING_MANIFEST_BUCKET": manifests.bucket,
        "RECORDING_TIMEZONE": "UTC",
    }.items():
        monkeypatch.setenv(name, value)
    args = build_parser().parse_args(["find", *argv])
    code = args.func(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_command_prints_json_and_downloads_verifying_each_object(
    archive, s3_endpoint, tmp_path, monkeypatch, capsys
):
    sandbox, _, manifests = archive
    span = DAYS[:3]
    agent = busiest_agent(sandbox, span)
    argv = ["--agent", agent, "--from", span[0].isoformat(), "--to", span[-1].isoformat(), "--json"]
    code, out, err = _cli(monkeypatch, s3_endpoint, archive, argv, capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert {(r["conversation_id"], r["recording_id"]) for r in rows} == agent_truth(sandbox, agent, span)
    assert "3 manifest(s)" in err
    assert all(datetime.fromisoformat(r["conversation_start"]).tzinfo for r in rows)

    code, out, err = _cli(monkeypatch, s3_endpoint, archive, [*argv, "--download", str(tmp_path)], capsys)
    archived = [r for r in rows if r["state"] == "archived"]
    assert code == 0, err and archived
    for row in archived:
        files = list((tmp_path / row["conversation_id"]).glob(f"{row['recording_id']}.*"))
        assert len(files) == 1 and sandbox.org.media_sha256(row["recording_id"]) == row["sha256"]
        assert hashlib.sha256(files[0].read_bytes()).hexdigest() == row["sha256"]
    assert f"{len(archived)} verified" in err

    # One object's bytes changed in the bucket: that download fails verification, the command exits 1,
    # and no file of it is left under its name.
    victim = archived[0]
    bucket, key = victim["storage_uri"].removeprefix("s3://").split("/", 1)
    s3(s3_endpoint).put_object(Bucket=bucket, Key=key, Body=b"not the recording")
    fresh = tmp_path / "again"
    code, _, err = _cli(monkeypatch, s3_endpoint, archive, [*argv, "--download", str(fresh)], capsys)
    assert code == 1
    assert f"MISMATCH {victim['storage_uri']}" in err and "1 mismatch(es)" in err
    assert not list((fresh / victim["conversation_id"]).glob(f"{victim['recording_id']}*"))


def test_a_stray_manifest_is_reported_and_a_bad_argument_named(archive, s3_endpoint, monkeypatch, capsys):
    _, _, manifests = archive
    span = DAYS[20:23]
    s3(s3_endpoint).put_object(Bucket=manifests.bucket, Key=manifest_key(day=span[1]), Body=b"not parquet")
    argv = ["--from", span[0].isoformat(), "--to", span[-1].isoformat(), "--state", "archived"]
    code, out, err = _cli(monkeypatch, s3_endpoint, archive, argv, capsys)
    assert code == 0 and "unreadable manifest, skipped: " + manifest_key(day=span[1]) in err
    assert "2 manifest(s)" in err and out
    bad = ["--from", "yesterday", "--to", "2026-01-01"]
    code, _, err = _cli(monkeypatch, s3_endpoint, archive, bad, capsys)
    assert code == 2 and "--from 'yesterday' is neither a date" in err


def test_find_by_queue_id_returns_the_sandbox_truth(archive):
    sandbox, _, manifests = archive
    span, org = DAYS[5:12], sandbox.org
    queue = org.directory.queues[1].id
    now_ms = int(sandbox.clock.time() * 1000)
    truth = {
        (c.id, r.id)
        for day in span
        for c in org.conversations_for_day(day)
        if c.end_ms <= now_ms
        and _midnight(span[0]).timestamp() * 1000
        <= c.start_ms
        < _midnight(span[-1] + timedelta(days=1)).timestamp() * 1000
        and org.directory.queues[c.queue].id == queue
        for r in c.recordings
    }
    assert truth
    query = FindQuery(
        start=_midnight(span[0]), end=_midnight(span[-1] + timedelta(days=1)), queue=queue.upper()
    )
    found = find_recordings(manifests, query, zone=UTC)
    assert {(r["conversation_id"], r["recording_id"]) for r in found.rows} == truth


def test_without_duckdb_the_command_names_the_extra_to_install(tmp_path):
    """A process where ``import duckdb`` fails (``sys.modules`` entry None), as without the extra."""
    script = (
        "import sys; sys.modules['duckdb'] = None\n"
        "from recording_assets.tools.cli import main\n"
        "sys.exit(main(['find', '--from', '2026-01-01', '--to', '2026-01-02']))\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RECORDING_"))},
        "RECORDING_ARCHIVE_BUCKET": "archive",
        "RECORDING_MANIFEST_BUCKET": "manifests",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # never reached: the query stops first
        "AWS_REGION": "us-east-1",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert "pip install 'recording-assets[find]'" in done.stderr
