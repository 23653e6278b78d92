"""The hostile whole day through the README's command: ``dagster asset materialize -m
recording_assets.definitions --select recording_metadata,recording_audio,recording_manifest --partition DAY``
as its own process, against the sandbox playing every hostile item scenario (``sandbox/hostile.py``, one
conversation each) on a 400-conversation day, and moto. The hostile redirects point at a canary HTTP listener
on another loopback address (127.0.0.2) that counts every connection; ``RECORDING_ALLOWED_MEDIA_HOSTS`` names
only the sandbox.

From S3 and the sandbox's own truth, never from what the run says of itself:

- the run exits 0 and writes the day's manifest;
- every well-formed recording is under its final key with the sandbox's bytes (hashed here);
- each hostile item has its manifest row, in the state and with the reason its scenario calls for;
- no key outside the documented layout (docs/tables.md, README "What it does");
- the canary receives nothing; the run's processes stay under 300 MB RSS with the gzip bomb (polled here);
- the trickling body ends failed with a deadline reason while the rest of the day goes on;
- a second run archives what the first could not through no fault of the item (the transient 404), and no
  run ever records the transient-404 recording as ``deleted``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psutil
import pytest

from recording_assets import settings as cfg
from recording_assets.genesys.names import KINDS as NAME_KINDS
from recording_assets.sandbox.hostile import ITEM_SCENARIOS, Hostile
from recording_assets_tests.canary import Canary
from recording_assets_tests.reliability import reliability_support as rs

SELECT = "recording_metadata,recording_audio,recording_manifest"
MEDIA_ALLOWANCE_S = 6.0
# One process (the RSS polled is the run's own), a request budget the sandbox org is given too (the budget
# is not what this test is about: at 270/minute the day's 400 look-ups alone take 90 s), and a media
# allowance short enough that the trickling body misses its deadline in seconds, not a minute.
RUN_CONFIG = {
    "execution": {"config": {"in_process": {}}},
    "resources": {
        "genesys": {
            "config": {
                "client_id": {"env": cfg.CLIENT_ID},
                "client_secret": {"env": cfg.CLIENT_SECRET},
                "requests_per_minute": 3000,
                "media_allowance_s": MEDIA_ALLOWANCE_S,
            }
        }
    },
}
RSS_LIMIT = 300 * 1024 * 1024
CONVERSATIONS = 400

# What each item scenario must end as, and words its reason must carry (the field or the problem).
# Scenarios on data the archive does not need to place the bytes (a look-up's answer) leave the recording
# archived: its bytes are proven; the failed look-up is recorded on the conversation (not settled).
EXPECTED: dict[str, tuple[str, tuple[str, ...]]] = {
    "queue_traversal": ("failed", ("queueId",)),
    "slash_recording_id": ("failed", ("recordingId",)),
    "untyped_media": ("failed", ("contentType",)),
    "crlf_content_type": ("failed", ("contentType", "control character")),
    "idna_result_url": ("failed", ("resultUrl", "IDNA")),
    "nul_result_url": ("failed", ("resultUrl", "NUL")),
    "canary_redirect": ("failed", ("refused",)),
    "downgrade_redirect": ("failed", ("refused",)),
    "html_metadata": ("archived", ()),
    "numeric_file_state": ("archived", ()),
    "numeric_direction": ("failed", ("originatingDirection",)),
    "no_conversation_start": ("failed", ("conversationStart",)),
    "trickle_media": ("failed", ("deadline",)),
    "gzip_bomb": ("archived", ()),
    "transient_media_404": ("archived", ()),
    "unasked_retry_results": ("archived", ()),  # by the retry round; what it was not asked for: no row
}
LOOKUP_FAILED = ("html_metadata", "gzip_bomb")  # their conversation is not settled: asked again next run

_DAY = r"year=\d{4}/month=\d{2}/day=\d{2}"
_ID = r"[A-Za-z0-9-]+"
ARCHIVE_LAYOUT = re.compile(
    rf"(recordings/{_DAY}/queue={_ID}/{_ID}/{_ID}\.[a-z0-9]+"
    rf"|recordings/{_DAY}/queue={_ID}/{_ID}/{_ID}_metadata\.json"  # its sidecar
    rf"|quarantine/{_DAY}/queue={_ID}/{_ID}/{_ID}\.[a-z0-9]+\.[0-9a-f]{{64}})"
)


def manifest_layout(day: str) -> re.Pattern[str]:
    d = re.escape(f"date={day}")
    return re.compile(
        rf"(metadata/{d}/recording_metadata\.parquet|outcomes/{d}/(outcomes|conversations)\.parquet"
        rf"|manifests/{d}/manifest\.parquet|audit/{d}/run=[0-9a-f-]+/part-\d{{5}}\.parquet"
        # The names dimension tables (pipeline/names.py), one per kind, kept across days.
        rf"|names/({'|'.join(re.escape(kind) for kind in NAME_KINDS)})\.parquet)"
    )


class PeakRss:
    """The peak RSS of a process and its descendants, polled from outside every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak_single = self.peak_tree = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                tree = [self.process, *self.process.children(recursive=True)]
                sizes = []
                for proc in tree:
                    try:
                        sizes.append(proc.memory_info().rss)
                    except psutil.Error:
                        pass
                self.peak_single = max(self.peak_single, *sizes, 0)
                self.peak_tree = max(self.peak_tree, sum(sizes))
            except psutil.Error:
                return
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def run_command(env: dict[str, str], day: str, log: Path) -> tuple[int, float, PeakRss, str]:
    command = [
        sys.executable, "-m", "dagster", "asset", "materialize",
        "-m", "recording_assets.definitions", "--select", SELECT, "--partition", day,
        "--config-json", json.dumps(RUN_CONFIG),
    ]  # fmt: skip
    started = time.monotonic()
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2]
        )
        rss = PeakRss(process.pid)
        try:
            rc = process.wait(timeout=600)
        finally:
            rss.stop()
            if process.poll() is None:
                process.kill()
    return rc, time.monotonic() - started, rss, log.read_text(errors="replace")


@pytest.mark.slow
@pytest.mark.xdist_group("serial")  # RSS and wall time measured: one at a time with the other long runs
def test_a_hostile_day_through_dagster_asset_materialize_archives_every_well_formed_recording():
    day = (datetime.now(timezone.utc).date() - timedelta(days=3)).isoformat()
    canary = Canary(host="127.0.0.2").start()
    s3 = rs.S3Server()
    hostile = Hostile(items=frozenset(ITEM_SCENARIOS), canary_url=canary.url())
    server = rs.sandbox(conversations_per_day=CONVERSATIONS, hostile=hostile, rate_limit_per_minute=3000)
    try:
        buckets = s3.fresh_buckets("hostile")
        client = s3.client()
        sandbox_host = server.base_url.split("://", 1)[1].rstrip("/")
        with tempfile.TemporaryDirectory(prefix="hostile-day-") as tmp:
            home = Path(tmp) / "dagster_home"
            home.mkdir()
            (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
            env = {
                **{k: v for k, v in os.environ.items() if k not in rs.CONTRACT_VARS},
                **rs.run_env(s3, server, buckets),
                cfg.ALLOWED_MEDIA_HOSTS: sandbox_host,
                # Every conversation looked up, so the hostile look-up answers are met too.
                "RECORDING_SENSITIVE_CHECK": "lookup",
                "DAGSTER_HOME": str(home),
            }
            first = run_command(env, day, Path(tmp) / "first.log")
            assert first[0] == 0 and "RUN_SUCCESS" in first[3], first[3][-6000:]
            rows_first = _by_recording(rs.manifest_rows(client, buckets[1], day))
            gets_first = rs.media_gets(server.state.stats.snapshot()["log"])
            second = run_command(env, day, Path(tmp) / "second.log")
            gets = rs.media_gets(server.state.stats.snapshot()["log"])
            served = dict(server.state.hostile.served)
            import shutil

            shutil.copytree(
                tmp, "/tmp/hostile-debug", dirs_exist_ok=True, ignore=shutil.ignore_patterns("dagster_home")
            )  # DEBUG
        truth = rs.truth(server, day)
        targets = server.hostile_targets(datetime.fromisoformat(day).date())
        rows = _by_recording(rs.manifest_rows(client, buckets[1], day))
        conversations = {
            r["conversation_id"]: r
            for r in rs.read_table(client, buckets[1], f"outcomes/date={day}/conversations.parquet")
        }
        archive = rs.Archive.read(client, buckets[0])
        manifests = rs.Archive.read(client, buckets[1])
    finally:
        server.stop()
        s3.stop()
        canary.stop()

    for rc, wall, rss, output in (first, second):
        print(f"\nrun: rc={rc} wall={wall:.1f}s peak RSS {rss.peak_single / 2**20:.0f} MiB "
              f"(tree {rss.peak_tree / 2**20:.0f} MiB), canary connections {canary.connections}")  # fmt: skip
        assert rc == 0 and "RUN_SUCCESS" in output, output[-4000:]
        assert rss.peak_single <= RSS_LIMIT, rss.peak_single
    assert canary.connections == 0 and canary.requests == []

    # Every scenario was really played (the positive control of the assertions below).
    assert set(served) == set(ITEM_SCENARIOS), served
    hostile_keys = {(t.conversation_id, t.recording_id): s for s, t in targets.items()}
    assert set(hostile_keys.values()) == set(ITEM_SCENARIOS)
    # Every well-formed recording: archived, its bytes the sandbox's (hashed here from S3).
    stored = {obj.metadata.get("recording-id"): obj for obj in archive.under("recordings").values()}
    for key, rec in truth.items():
        if key in hostile_keys or rec.file_state != "AVAILABLE":
            continue
        assert rows[key]["state"] == "archived", (key, rows[key])
        assert stored[key[1]].sha256 == rec.sha256 == rows[key]["sha256"], key
    assert rs.integrity_violations(archive, truth) == []

    # Each hostile item: its row, its state, a reason naming the field or the problem.
    for key, scenario in hostile_keys.items():
        state, words = EXPECTED[scenario]
        row = rows.get(key)
        assert row is not None, scenario
        assert row["state"] == state, (scenario, row)
        if state == "archived":
            assert stored[key[1]].sha256 == truth[key].sha256, scenario
        for word in words:
            assert word in (row["reason"] or ""), (scenario, row["reason"])
        assert "\r" not in (row["reason"] or "") and "\x00" not in (row["reason"] or "")
    # Only recordings of the day have rows: the retry round's unasked results (another conversation's,
    # another day's) are never archived on its word.
    assert set(rows) <= set(truth), set(rows) - set(truth)
    for scenario in LOOKUP_FAILED:
        assert conversations[targets[scenario].conversation_id]["settled"] is False, scenario
    # The trickle is given up at its deadline, once a run: it never holds the day for its retries.
    trickle = targets["trickle_media"].recording_id
    assert gets_first[trickle] == 1 and gets[trickle] == 2
    assert rows_first[(targets["trickle_media"].conversation_id, trickle)]["state"] == "failed"
    transient = targets["transient_media_404"]
    for run_rows in (rows_first, rows):
        assert run_rows[(transient.conversation_id, transient.recording_id)]["state"] != "deleted"

    # Nothing outside the documented layout, in either bucket; no multipart upload left open.
    layout = manifest_layout(day)
    assert [k for k in archive.objects if not ARCHIVE_LAYOUT.fullmatch(k)] == []
    assert [k for k in manifests.objects if not layout.fullmatch(k)] == []
    assert archive.open_uploads == manifests.open_uploads == []
    rs.report(
        "hostile_day",
        [
            {
                "run": n,
                "wall_s": round(wall, 1),
                "peak_rss_mib": round(rss.peak_single / 2**20),
                "tree_rss_mib": round(rss.peak_tree / 2**20),
                "canary_connections": canary.connections,
            }
            for n, (_, wall, rss, _) in enumerate((first, second), start=1)
        ],
    )


def _by_recording(rows: list[dict]) -> dict[tuple[str, str], dict]:
    return {(r["conversation_id"], r["recording_id"]): r for r in rows}
