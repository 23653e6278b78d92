"""``recording-assets calls active`` and ``recording-assets recording ...`` in-process (and once as a
subprocess) against the sandbox and moto S3: exit codes, messages, the requests Genesys received and
the audit records written.

Exit codes: 0 changed/already, 1 refused/failed, 2 usage/configuration, 3 acted but not audited.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import pytest

from recording_assets import settings as cfg
from recording_assets.archive.store import ArchiveStore
from recording_assets.genesys.control import PAUSE_PERMISSION
from recording_assets.sandbox import Faults
from recording_assets.tools.cli import main
from recording_assets.tools.control_cli import parse_since
from recording_assets_tests.conftest import S3_CREDENTIALS
from recording_assets_tests.reliability.faultproxy import FaultProxy

TODAY = date(2026, 1, 1)
YESTERDAY = date(2025, 12, 31)
UNKNOWN = "8f1e0d4c-2b1a-4c3d-9e8f-0a1b2c3d4e5f"
AUDIT_FIELDS = {
    "event_id",
    "at",
    "launched_by",
    "source",
    "action",
    "conversation_id",
    "participant_id",
    "outcome",
    "message",
    "state",
    "http_status",
    "correlation_id",
    "error_type",
    "missing_permission",
    "run_id",
    "oauth_client_id",
    "reason",
}


@pytest.fixture
def clock(fake_clock):
    fake_clock.advance(9 * 3600 + 1800)  # 09:30 UTC: live calls, chats and messages
    return fake_clock


@pytest.fixture
def sandbox(sandbox_factory, clock):
    return sandbox_factory(clock=clock, conversations_per_day=300, live_calls=3, media_scale=0.002)


@pytest.fixture
def env(monkeypatch, s3_endpoint, bucket_names):
    """Point the environment contract at a sandbox and moto; returns the audit bucket name."""

    def apply(sandbox, *, audit_bucket: str | None = bucket_names[1], s3: str = s3_endpoint):
        monkeypatch.setenv(cfg.API_BASE_URL, sandbox.base_url)
        monkeypatch.setenv(cfg.CLIENT_ID, sandbox.config.client_id)
        monkeypatch.setenv(cfg.CLIENT_SECRET, sandbox.config.client_secret)
        for name in (cfg.REGION, cfg.LOGIN_BASE_URL, cfg.ARCHIVE_BUCKET, "AWS_PROFILE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv(cfg.AWS_ENDPOINT_URL, s3)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_CREDENTIALS["aws_access_key_id"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_CREDENTIALS["aws_secret_access_key"])
        monkeypatch.setenv(cfg.AWS_REGION, "us-east-1")
        monkeypatch.setenv("USER", "alice")
        if audit_bucket:
            monkeypatch.setenv(cfg.MANIFEST_BUCKET, audit_bucket)
        else:
            monkeypatch.delenv(cfg.MANIFEST_BUCKET, raising=False)
        return audit_bucket

    return apply


def run(capsys, *argv: str) -> tuple[int | str | None, str, str]:
    code: int | str | None
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def audit_records(s3_client, bucket: str) -> list[dict]:
    store = ArchiveStore(s3_client, bucket=bucket)
    records = {o.key: json.loads(_listed(store, o.key)) for o in store.list_day("control-audit/")}
    for key, record in records.items():  # one object per event, under its UTC day
        assert key == f"control-audit/date={record['at'][:10]}/{record['event_id']}.json"
    return sorted(records.values(), key=lambda r: r["at"])


def _listed(store: ArchiveStore, key: str) -> bytes:
    body = store.get_bytes(key)
    assert body is not None, f"{key} was listed, then could not be read"
    return body


def writes(sandbox) -> list[tuple[str, str, int]]:
    return [
        (e["method"], e["path"], e["status"])
        for e in sandbox.stats()["log"]
        if e["family"] == "recording.state"
    ]


def api_requests(sandbox) -> list[tuple[str, str]]:
    return [(e["method"], e["path"]) for e in sandbox.stats()["log"] if e["family"] != "token"]


def no_secrets(*texts: str) -> None:
    for text in texts:
        assert "sandbox-secret" not in text and "Bearer" not in text and "access_token" not in text


# ---- recording pause / resume --------------------------------------------------------------------


def test_pause_resume_are_audited_and_idempotent(sandbox, env, capsys, s3_client):
    bucket = env(sandbox)
    conv = sandbox.org.live_calls[0]
    put = f"/api/v2/conversations/calls/{conv.id}/recordingstate"

    code, out, err = run(capsys, "recording", "pause", conv.id, "--reason", "PCI card payment")
    assert code == 0, err
    assert (
        f"conversation {conv.id}: recording paused" in out
        and f"audited: s3://{bucket}/control-audit/date=" in out
    )
    assert writes(sandbox) == [("PUT", put, 200)]

    code, out, err = run(capsys, "recording", "pause", conv.id)
    assert code == 0 and "recording already paused; nothing changed" in out
    assert writes(sandbox) == [("PUT", put, 200)]  # no second write

    code, out, err = run(capsys, "recording", "resume", conv.id)
    assert code == 0 and "recording active" in out
    assert writes(sandbox) == [("PUT", put, 200), ("PUT", put, 200)]
    assert sandbox.state.control.state(conv).state == "active"

    records = audit_records(s3_client, bucket)
    assert [(r["action"], r["outcome"]) for r in records] == [
        ("pause", "changed"),
        ("pause", "already"),
        ("resume", "changed"),
    ]
    first = records[0]
    assert set(first) == AUDIT_FIELDS
    assert first["launched_by"] == "cli:alice" and first["source"] == "cli" and first["run_id"] is None
    assert first["conversation_id"] == conv.id and first["participant_id"] is None
    assert first["http_status"] == 200 and first["correlation_id"] and first["state"] == "paused"
    assert first["reason"] == "PCI card payment" and first["oauth_client_id"] == "sandbox-client"
    assert abs(
        datetime.fromisoformat(first["at"].replace("Z", "+00:00")) - datetime.now(timezone.utc)
    ) < timedelta(minutes=1)
    no_secrets(json.dumps(records), out, err)


def test_pause_of_a_chat_patches_the_conversation(sandbox, env, capsys, clock):
    env(sandbox)
    now_ms = int(clock.time() * 1000)
    chat = next(
        c for c in sandbox.org.conversations_for_day(TODAY) if c.is_live(now_ms) and c.media_type != "voice"
    )
    code, out, err = run(capsys, "recording", "pause", chat.id)
    assert code == 0, err
    assert writes(sandbox) == [("PATCH", f"/api/v2/conversations/{chat.id}/recordingstate", 200)]


def test_json_output_is_the_audit_record(sandbox, env, capsys):
    env(sandbox)
    conv = sandbox.org.live_calls[0]
    code, out, err = run(capsys, "recording", "pause", conv.id, "--json")
    assert code == 0
    record = json.loads(out)
    assert record["outcome"] == "changed" and record["audit_uri"].startswith("s3://")
    assert set(record) == AUDIT_FIELDS | {"audit_uri"}


# ---- recording start / stop ----------------------------------------------------------------------


def test_participant_stop_start_and_status(sandbox, env, capsys, s3_client):
    bucket = env(sandbox)
    conv = sandbox.org.live_calls[0]
    agent = conv.participant_id("agent")
    path = f"/api/v2/conversations/calls/{conv.id}/participants/{agent}"

    code, out, err = run(capsys, "recording", "status", conv.id)
    assert code == 0 and "recording active" in out and agent in out and "PARTICIPANT" in out
    code, out, _ = run(capsys, "recording", "status", conv.id, "--json")
    status = json.loads(out)
    assert {p["id"]: p["recording"] for p in status["participants"]}[agent] is True

    code, out, err = run(capsys, "recording", "stop", conv.id, "--participant", agent)
    assert code == 0 and out.startswith(
        f"participant {agent} of conversation {conv.id}: recording stopped"
    ), err
    code, out, err = run(capsys, "recording", "stop", conv.id, "--participant", agent)
    assert code == 0 and "already not recording; nothing changed" in out
    code, out, err = run(capsys, "recording", "start", conv.id, "--participant", agent)
    assert code == 0 and out.startswith(f"participant {agent} of conversation {conv.id}: recording started")
    assert writes(sandbox) == [("PATCH", path, 202), ("PATCH", path, 202)]
    records = audit_records(s3_client, bucket)
    assert [(r["action"], r["outcome"], r["participant_id"]) for r in records] == [
        ("stop", "changed", agent),
        ("stop", "already", agent),
        ("start", "changed", agent),
    ]
    assert records[0]["http_status"] == 202

    code, out, err = run(capsys, "recording", "start", conv.id, "--participant", conv.participant_id("acd"))
    assert code == 1 and "has left conversation" in err
    code, out, err = run(capsys, "recording", "start", conv.id)  # --participant is required
    assert code == 2 and "--participant" in err


# ---- refusals and failures -----------------------------------------------------------------------


def test_ended_and_unknown_conversations_exit_1_and_are_audited(sandbox, env, capsys, s3_client):
    bucket = env(sandbox)
    ended = next(c for c in sandbox.org.conversations_for_day(YESTERDAY)[:100] if c.media_type == "voice")
    code, out, err = run(capsys, "recording", "pause", ended.id)
    assert code == 1 and out == "" and f"refused: conversation {ended.id} has ended" in err
    code, out, err = run(capsys, "recording", "resume", UNKNOWN)
    assert code == 1 and f"conversation {UNKNOWN} was not found (HTTP 404" in err
    code, out, err = run(capsys, "recording", "status", UNKNOWN)
    assert code == 1 and "HTTP 404" in err
    assert writes(sandbox) == []
    records = audit_records(s3_client, bucket)
    assert [(r["outcome"], r["http_status"], r["error_type"]) for r in records] == [
        ("refused", None, "ConversationEndedError"),
        ("refused", 404, "NotFoundError"),
    ]


def test_403_names_the_permission_and_exits_1(sandbox, env, capsys, s3_client):
    bucket = env(sandbox)
    conv = sandbox.org.live_calls[0]
    sandbox.set_faults(Faults(deny_permissions=frozenset({PAUSE_PERMISSION})))
    code, out, err = run(capsys, "recording", "pause", conv.id)
    assert code == 1 and "lack the permission conversation:recording:pauseOthers" in err and "HTTP 403" in err
    sandbox.set_faults(
        Faults(
            deny_permissions=frozenset(
                {
                    "conversation:call:record",
                    "conversation:participant:wrapup",
                    "conversation:communication:disconnect",
                }
            )
        )
    )
    code, out, err = run(capsys, "recording", "stop", conv.id, "--participant", conv.participant_id("agent"))
    assert code == 1 and "lack the permission conversation:call:record" in err
    records = audit_records(s3_client, bucket)
    assert [(r["outcome"], r["http_status"], r["missing_permission"]) for r in records] == [
        ("refused", 403, "conversation:recording:pauseOthers"),
        ("refused", 403, "conversation:call:record"),
    ]
    assert all(r["correlation_id"] for r in records)


def test_409_is_retried_once_then_reported(sandbox, env, capsys, s3_client):
    bucket = env(sandbox)
    conv, other = sandbox.org.live_calls[0], sandbox.org.live_calls[1]
    put = f"/api/v2/conversations/calls/{conv.id}/recordingstate"
    sandbox.set_faults(Faults(conflict_409_every=2))
    assert run(capsys, "recording", "pause", other.id)[0] == 0  # control write 1 passes
    sandbox.reset_stats()
    code, out, err = run(capsys, "recording", "pause", conv.id)  # write 2 -> 409, re-read, write 3 passes
    assert code == 0, err
    assert writes(sandbox) == [("PUT", put, 409), ("PUT", put, 200)]

    sandbox.set_faults(Faults(conflict_409_every=1))
    sandbox.reset_stats()
    code, out, err = run(capsys, "recording", "resume", conv.id)
    assert code == 1
    assert (
        "failed:" in err
        and "HTTP 409" in err
        and "changed concurrently twice" in err
        and "nothing was changed" in err
    )
    assert writes(sandbox) == [("PUT", put, 409), ("PUT", put, 409)]
    assert sandbox.state.control.state(conv).state == "paused"
    assert [(r["outcome"], r["http_status"]) for r in audit_records(s3_client, bucket)][-1] == ("failed", 409)


# ---- configuration -------------------------------------------------------------------------------


def test_missing_genesys_variable_exits_2_before_any_request(sandbox, env, capsys, monkeypatch):
    env(sandbox)
    monkeypatch.delenv(cfg.CLIENT_SECRET)
    for argv in (("recording", "pause", UNKNOWN), ("calls", "active"), ("recording", "status", UNKNOWN)):
        code, out, err = run(capsys, *argv)
        assert code == 2 and "configuration error: GENESYSCLOUD_OAUTHCLIENT_SECRET is not set" in err
    assert sandbox.stats()["log"] == []


def test_no_audit_bucket_refuses_unless_no_audit_is_given(sandbox, env, capsys):
    env(sandbox, audit_bucket=None)
    conv = sandbox.org.live_calls[0]
    code, out, err = run(capsys, "recording", "pause", conv.id)
    assert code == 2 and "RECORDING_MANIFEST_BUCKET is not set" in err and "nothing was done" in err
    assert sandbox.stats()["log"] == []  # Genesys was never called
    code, out, err = run(capsys, "recording", "pause", conv.id, "--no-audit")
    assert code == 0 and "recording paused" in out and "nothing was audited" in err
    assert len(writes(sandbox)) == 1


def test_missing_audit_bucket_exits_2_before_acting(sandbox, env, capsys):
    env(sandbox, audit_bucket="no-such-bucket-here")
    code, out, err = run(capsys, "recording", "pause", sandbox.org.live_calls[0].id)
    assert code == 2 and "audit bucket is not usable" in err and "NoSuchBucket" in err
    assert sandbox.stats()["log"] == []


def test_audit_write_failure_after_the_action_exits_3(sandbox, env, capsys, s3_endpoint, monkeypatch):
    with FaultProxy.in_front_of(s3_endpoint) as proxy:
        env(sandbox, s3=proxy.endpoint)
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
        proxy.http_500(count=10, match="PutObject")
        conv = sandbox.org.live_calls[0]
        code, out, err = run(capsys, "recording", "pause", conv.id)
    assert code == 3
    assert "recording paused" in out and "the audit record could NOT be written" in err
    assert '"outcome": "changed"' in err  # the event is printed so it can be filed by hand
    assert sandbox.state.control.state(conv).state == "paused"


@pytest.mark.parametrize(
    "text, expected", [("90m", timedelta(minutes=90)), ("2h", timedelta(hours=2)), ("1d", timedelta(days=1))]
)
def test_since_accepts_minutes_hours_days(text, expected):
    assert parse_since(text) == expected


@pytest.mark.parametrize("text", ["2", "2w", "h", "-1h", "0m", "31d", "1.5h", ""])
def test_bad_since_exits_2_with_a_clear_message(text, capsys):
    code, out, err = run(capsys, "calls", "active", f"--since={text}")
    assert code == 2 and "argument --since:" in err and ("is not a duration" in err or "out of range" in err)


# ---- calls active --------------------------------------------------------------------------------


@pytest.fixture
def realtime_sandbox(sandbox_factory):
    """`calls active` measures --since from the CLI's own (real) clock: the sandbox must share it."""
    return sandbox_factory(conversations_per_day=200, live_calls=3, media_scale=0.002)


def test_calls_active_table_and_json(realtime_sandbox, env, capsys):
    sandbox = realtime_sandbox
    env(sandbox)
    live_ids = {c.id for c in sandbox.org.live_calls}
    code, out, err = run(capsys, "calls", "active")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["CONVERSATION", "STARTED", "(UTC)", "MEDIA", "QUEUE", "AGENTS"]
    assert live_ids <= {line.split()[0] for line in lines[1:-1]}
    assert lines[-1].endswith("started in the last 2h")

    code, out, err = run(capsys, "calls", "active", "--json", "--since", "90m", "--media", "voice")
    assert code == 0
    found = json.loads(out)
    assert live_ids <= {c["conversationId"] for c in found}
    now_ms = int(sandbox.clock.time() * 1000)
    for item in found:
        conv = sandbox.org.conversation(item["conversationId"])
        assert conv.is_live(now_ms) and item["mediaTypes"] == ["voice"]
    assert api_requests(sandbox) == [("POST", "/api/v2/analytics/conversations/details/query")] * 2

    target = next(c for c in found if c["queueIds"])
    code, out, err = run(capsys, "calls", "active", "--json", "--queue", target["queueIds"][0])
    by_queue = json.loads(out)
    assert target["conversationId"] in {c["conversationId"] for c in by_queue}
    assert all(target["queueIds"][0] in c["queueIds"] for c in by_queue)
    code, out, err = run(capsys, "calls", "active", "--json", "--user", target["agentIds"][0])
    assert all(target["agentIds"][0] in c["agentIds"] for c in json.loads(out))


def test_calls_active_reports_403_with_the_permission(realtime_sandbox, env, capsys):
    env(realtime_sandbox)
    realtime_sandbox.set_faults(
        Faults(
            deny_permissions=frozenset(
                {"analytics:conversationDetail:view", "analytics:agentConversationDetail:view"}
            )
        )
    )
    code, out, err = run(capsys, "calls", "active")
    assert code == 1 and "analytics:conversationDetail:view" in err


# ---- the installed command, once -----------------------------------------------------------------


def test_subprocess_smoke(sandbox, env, s3_client):
    bucket = env(sandbox)
    conv = sandbox.org.live_calls[2]
    done = subprocess.run(
        [sys.executable, "-m", "recording_assets.tools.cli", "recording", "pause", conv.id],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert done.returncode == 0, done.stderr
    assert "recording paused" in done.stdout
    assert [r["outcome"] for r in audit_records(s3_client, bucket)] == ["changed"]
    no_secrets(done.stdout, done.stderr)
