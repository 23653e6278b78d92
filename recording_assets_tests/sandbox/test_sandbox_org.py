"""The synthetic org's shape and speed, configuration checks, and the command line."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from recording_assets.sandbox import Faults, SandboxConfig
from recording_assets.sandbox.cli import add_arguments, config_from_args, run
from recording_assets.sandbox.timefmt import DAY_MS, day_start_ms
from recording_assets.sandbox.timeline import participants
from recording_assets_tests.sandbox.test_sandbox_support import YESTERDAY, synthetic_org

REPO = Path(__file__).resolve().parents[2]


def test_day_mix_matches_the_brief():
    org = synthetic_org(5000)
    convs = org.conversations_for_day(YESTERDAY)
    assert len(convs) == 5000
    kinds = Counter("screen" if c.screen else c.media_type for c in convs)
    assert 0.55 < kinds["voice"] / 5000 < 0.65 and 0.06 < kinds["screen"] / 5000 < 0.10
    for kind in ("chat", "email", "message"):
        assert 0.07 < kinds[kind] / 5000 < 0.15
    assert 0.03 < sum(1 for c in convs if not c.recordings) / 5000 < 0.07
    recordings = [r for c in convs for r in c.recordings]
    states = Counter(r.file_state for r in recordings)
    assert 0.02 < states["ARCHIVED"] / len(recordings) < 0.04
    assert 0.01 < states["DELETED"] / len(recordings) < 0.03
    assert 0.01 < sum(r.sensitive for r in recordings) / len(recordings) < 0.03
    per_conversation = Counter(len(c.recordings) for c in convs if c.recordings)
    assert set(per_conversation) <= {1, 2, 3} and per_conversation[2] and per_conversation[3]
    voice_codecs = Counter(r.codec for r in recordings if r.media == "audio")
    total_voice = sum(voice_codecs.values())
    assert 0.55 < voice_codecs["ogg_opus"] / total_voice < 0.65
    assert 0.15 < voice_codecs["wav_pcm"] / total_voice < 0.25
    midnight = day_start_ms(YESTERDAY) + DAY_MS
    spanning = [c for c in convs if c.end_ms > midnight]
    assert 0.005 < len(spanning) / 5000 < 0.03
    busiest = Counter((c.start_ms - day_start_ms(YESTERDAY)) // 3_600_000 for c in convs)
    assert busiest[10] > 5 * busiest[3]  # business hours are busier
    assert {c.agent for c in convs} == set(range(40)) and len({c.queue for c in convs}) == 8


def test_recordings_belong_to_sessions_of_their_conversation():
    org = synthetic_org(400)
    for conv in org.conversations_for_day(YESTERDAY):
        timeline = participants(conv)
        sessions = {s.session_id: (p, s) for p in timeline for s in p.sessions}
        for rec in conv.recordings:
            participant, session = sessions[rec.session_id]
            assert session.recording is True
            if rec.media == "screen":
                assert participant.purpose == "agent" and participant.screen_recording
            if rec.subtype == "Consult":
                assert participant.role == "consult"
        if not conv.recordings:
            assert not any(s.recording for _, s in sessions.values())


def test_lookups_by_id_round_trip_and_foreign_ids_are_unknown():
    org = synthetic_org(300, live_calls=2)
    conv = next(c for c in org.conversations_for_day(YESTERDAY)[100:] if len(c.recordings) >= 2)
    assert org.conversation(conv.id) is conv
    for rec in conv.recordings:
        assert org.recording(rec.id) is rec
    assert org.recordings(conv.id) == list(conv.recordings)
    live = org.live_calls[1]
    assert org.conversation(live.id) is live and org.recording(live.recordings[0].id) is live.recordings[0]
    assert org.conversation("not-a-uuid") is None
    assert org.conversation("8f1e0d4c-2b1a-4c3d-9e8f-0a1b2c3d4e5f") is None
    assert org.recording(conv.id) is None  # a conversation id is not a recording id
    # A restarted sandbox finds the same ids without generating first.
    fresh = synthetic_org(300, live_calls=2)
    assert fresh.recording(conv.recordings[0].id).media == conv.recordings[0].media


# A wall-clock bound on CPU work: one at a time with the rest of the "serial" xdist group.
@pytest.mark.xdist_group("serial")
def test_days_generate_lazily_one_at_a_time_even_for_a_large_org():
    # How fast a day generates is a benchmark's figure (benchmarks/metadata_scale.py), not a test's.
    org = synthetic_org(2000)
    assert org.generated_days == 0
    convs = org.conversations_for_day(YESTERDAY)
    assert sum(len(c.recordings) for c in convs) > 2000
    assert org.generated_days == 1
    assert org.conversations_for_day(YESTERDAY) == convs  # the cached day, not a second one
    assert org.generated_days == 1
    big = synthetic_org(90_000)
    ids = [r.id for c in big.conversations_for_day(YESTERDAY) for r in c.recordings]
    assert len(ids) >= 100_000 and len(set(ids)) == len(ids)
    assert big.generated_days == 1


def test_config_validation():
    with pytest.raises(ValueError):
        SandboxConfig(media_scale=0)
    with pytest.raises(ValueError):
        SandboxConfig(rate_limit_per_minute=-1)
    with pytest.raises(ValueError):
        Faults(truncate_body_rate=1.5)
    config = SandboxConfig(permissions={"recording:recording:view"})  # any iterable becomes a frozenset
    assert config.permissions == frozenset({"recording:recording:view"})
    assert config.granted_permissions == config.permissions
    assert "recording:recording:viewSensitiveData" in SandboxConfig().granted_permissions


def test_cli_arguments_build_the_config():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--port",
            "0",
            "--seed",
            "3",
            "--conversations-per-day",
            "50",
            "--media-scale",
            "0.5",
            "--rate-limit",
            "60",
            "--url-ttl",
            "120",
            "--burst-429-every",
            "10",
            "--error-5xx-every",
            "7",
            "--reset-mid-body-rate",
            "0.1",
            "--deny-permission",
            "a:b:c",
            "--deny-permission",
            "d:e:f",
            "--pagination-drift",
        ]
    )
    config = config_from_args(args)
    assert (config.seed, config.conversations_per_day, config.media_scale) == (3, 50, 0.5)
    assert (config.rate_limit_per_minute, config.url_ttl_s, config.port) == (60, 120, 0)
    assert config.faults.burst_429_every == 10 and config.faults.error_5xx_every == 7
    assert config.faults.reset_mid_body_rate == 0.1 and config.faults.pagination_drift
    assert config.faults.deny_permissions == frozenset({"a:b:c", "d:e:f"})
    assert config.faults.burst_429_length == Faults().burst_429_length
    assert run(parser.parse_args(["--host", "0.0.0.0"])) == 2


def test_python_dash_m_serves_until_sigterm():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "recording_assets.sandbox", "--port", "0", "--seed", "9"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        first_line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in first_line
        base_url = first_line.strip().rsplit(" ", 1)[-1]
        response = httpx.post(
            f"{base_url}/oauth/token",
            auth=("sandbox-client", "sandbox-secret"),
            data={"grant_type": "client_credentials"},
        )
        assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        process.stdout.close()
        process.stderr.close()


def test_every_day_is_its_own_deterministic_world():
    org = synthetic_org(100)
    first = org.conversations_for_day(YESTERDAY)
    other = org.conversations_for_day(YESTERDAY - dt.timedelta(days=1))
    assert {c.id for c in first}.isdisjoint({c.id for c in other})
    assert [c.id for c in org.conversations_for_day(YESTERDAY)] == [c.id for c in first]
