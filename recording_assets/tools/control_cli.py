"""``recording-assets calls ...`` and ``recording-assets recording ...``: live recording control.

Exit codes (all commands of both groups):

| code | meaning |
|---|---|
| 0 | done: the state was changed, or it already was what you asked for (the message says which) |
| 1 | refused or failed: Genesys (or the pre-check) refused, or it could not be completed; see stderr |
| 2 | usage or configuration error: bad arguments, a missing GENESYSCLOUD_* variable, no audit bucket |
| 3 | the action took effect (or was already in place) but its audit record could not be written |

Configuration is the project's environment contract (``recording_assets.settings``): GENESYSCLOUD_*
for Genesys Cloud, RECORDING_MANIFEST_BUCKET and the standard AWS variables for the audit trail.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import re
import sys
from datetime import timedelta

from recording_assets.control.actions import ControlRequest, ControlUsageError, perform
from recording_assets.genesys.analytics import MEDIA_TYPES
from recording_assets.genesys.live_conversations import MAX_ACTIVE_WINDOW, summarise
from recording_assets.genesys.errors import GenesysError
from recording_assets.settings import ConfigError, GenesysSettings, login_name

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_NOT_AUDITED = 3

_SINCE = re.compile(r"(\d+)([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str) -> timedelta:
    """``90m``, ``2h``, ``1d`` -> a timedelta within 1 minute .. 30 days (argparse type)."""
    match = _SINCE.fullmatch(text.strip().lower())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration: use minutes, hours or days, e.g. 90m, 2h, 1d")
    value = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if value <= timedelta(0) or value > MAX_ACTIVE_WINDOW:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range: use 1m up to {MAX_ACTIVE_WINDOW.days}d")
    return value


def add_commands(commands) -> None:
    """Add the ``calls`` and ``recording`` groups to the top-level subparsers."""
    calls = commands.add_parser("calls", help="live conversations, org-wide (client credentials)")
    calls_commands = calls.add_subparsers(dest="calls_command", required=True)
    active = calls_commands.add_parser(
        "active",
        help="conversations in progress that started within --since",
        description="Live conversations org-wide: an analytics details query with conversationEnd notExists.",
    )
    active.add_argument("--queue", metavar="ID", help="only conversations that passed through this queue")
    active.add_argument("--user", metavar="ID", help="only conversations this user (agent) took part in")
    active.add_argument(
        "--media", action="append", choices=MEDIA_TYPES, help="only this media type (repeatable; default: all)"
    )
    active.add_argument(
        "--since", type=parse_since, default=timedelta(hours=2), metavar="DURATION",
        help="look back this far for conversation starts: 90m, 2h, 1d (default 2h, at most 30d)",
    )
    active.add_argument("--json", action="store_true", help="print JSON for machines instead of a table")
    active.set_defaults(func=_calls_active)

    recording = commands.add_parser("recording", help="pause/resume/start/stop recording of a live conversation")
    recording_commands = recording.add_subparsers(dest="recording_command", required=True)
    status = recording_commands.add_parser("status", help="recording state and participants of a conversation")
    status.add_argument("conversation_id", metavar="CONVERSATION_ID")
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.set_defaults(func=_recording_status)
    helps = {
        "pause": "secure-pause all recording of a conversation (any media)",
        "resume": "resume a secure-paused conversation",
        "start": "start recording one participant of a call",
        "stop": "stop recording one participant of a call",
    }
    for action, text in helps.items():
        command = recording_commands.add_parser(action, help=text, description=text)
        command.add_argument("conversation_id", metavar="CONVERSATION_ID")
        if action in ("start", "stop"):
            command.add_argument(
                "--participant", required=True, metavar="PARTICIPANT_ID",
                help="the participant id (see `recording status CONVERSATION_ID`)",
            )
        command.add_argument("--reason", help="free text kept in the audit record (ticket, why)")
        command.add_argument(
            "--no-audit", action="store_true",
            help="act even though RECORDING_MANIFEST_BUCKET is not configured (nothing is audited)",
        )
        command.add_argument("--json", action="store_true", help="print the audit record as JSON")
        command.set_defaults(func=_recording_action, action=action)


# ---- calls active ------------------------------------------------------------------------------


def _calls_active(args) -> int:
    settings = _settings()
    if settings is None:
        return EXIT_USAGE

    async def run():
        async with _client(settings) as client:
            return await client.control.active_conversations(
                since=args.since, queue_id=args.queue, user_id=args.user, media_types=args.media
            )

    try:
        found = asyncio.run(run())
    except GenesysError as exc:
        _err(f"error: could not list live conversations: {exc}")
        return EXIT_REFUSED
    if args.json:
        print(json.dumps([summarise(c) for c in found], indent=2))
        return EXIT_OK
    window = _describe(args.since)
    if not found:
        print(f"no live conversations started in the last {window}")
        return EXIT_OK
    rows = [
        (
            c.conversation_id,
            c.conversation_start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            ",".join(c.media_types) or "-",
            ",".join(c.queue_ids) or "-",
            ",".join(c.agent_ids) or "-",
        )
        for c in found
    ]
    _table(("CONVERSATION", "STARTED (UTC)", "MEDIA", "QUEUE", "AGENTS"), rows)
    print(f"{len(found)} live conversation{'s' if len(found) != 1 else ''} started in the last {window}")
    return EXIT_OK


# ---- recording status --------------------------------------------------------------------------


def _recording_status(args) -> int:
    settings = _settings()
    if settings is None:
        return EXIT_USAGE

    async def run():
        async with _client(settings) as client:
            return await client.control.inspect(args.conversation_id)

    try:
        live = asyncio.run(run())
    except GenesysError as exc:
        _err(f"error: {exc}")
        return EXIT_REFUSED
    if args.json:
        print(
            json.dumps(
                {
                    "conversationId": live.conversation_id,
                    "media": list(live.media),
                    "ended": live.ended,
                    "recordingState": live.recording_state,
                    "securePause": live.secure_pause,
                    "participants": [
                        {
                            "id": p.participant_id,
                            "purpose": p.purpose,
                            "name": p.name,
                            "userId": p.user_id,
                            "connected": p.connected,
                            "recording": p.recording,
                        }
                        for p in live.participants
                    ],
                },
                indent=2,
            )
        )
        return EXIT_OK
    kind = "call" if live.is_call else (",".join(live.media) or "conversation")
    print(
        f"conversation {live.conversation_id}: {kind}, {'ended' if live.ended else 'in progress'}, "
        f"recording {live.recording_state}{' (secure pause)' if live.secure_pause else ''}"
    )
    rows = [
        (
            p.participant_id,
            p.purpose or "-",
            "connected" if p.connected else "left",
            "-" if p.recording is None else ("yes" if p.recording else "no"),
            p.name or "-",
        )
        for p in live.participants
    ]
    if rows:
        _table(("PARTICIPANT", "PURPOSE", "STATE", "RECORDING", "NAME"), rows)
    return EXIT_OK


# ---- recording pause|resume|start|stop ---------------------------------------------------------


def _recording_action(args) -> int:
    from recording_assets.archive.errors import ArchiveError
    from recording_assets.control.audit import ControlAuditEvent, ControlAuditStore

    try:
        request = ControlRequest(args.action, args.conversation_id, getattr(args, "participant", None))
    except ControlUsageError as exc:
        _err(f"usage error: {exc}")
        return EXIT_USAGE
    settings = _settings()
    if settings is None:
        return EXIT_USAGE
    audit = None
    if args.no_audit:
        _err("warning: --no-audit: this action will NOT be recorded in the control audit trail")
    else:
        try:
            audit = ControlAuditStore.from_env()
        except ConfigError as exc:
            _err(
                f"configuration error: {exc}. Every control action is audited; nothing was done. "
                "Set it (see docs/recording-control.md), or pass --no-audit to act without an audit record"
            )
            return EXIT_USAGE
        try:
            audit.check_writable()
        except ArchiveError as exc:
            _err(f"configuration error: the control audit bucket is not usable, so nothing was done: {exc}")
            return EXIT_USAGE

    async def run():
        async with _client(settings) as client:
            return await perform(client, request)

    outcome = asyncio.run(run())
    event = ControlAuditEvent.from_outcome(
        outcome, launched_by=cli_actor(), source="cli", oauth_client_id=settings.client_id, reason=args.reason
    )
    audit_uri = audit_error = None
    if audit is not None:
        try:
            audit_uri = audit.append(event)
        except ArchiveError as exc:
            audit_error = str(exc)
    if args.json:
        print(json.dumps({**event.to_dict(), "audit_uri": audit_uri}, indent=2))
    elif outcome.ok:
        print(outcome.message)
    else:
        _err(outcome.message)
    if audit_error:
        _err(f"error: the audit record could NOT be written ({audit_error}); event: {event.to_json().decode()}")
        return EXIT_NOT_AUDITED if outcome.ok else EXIT_REFUSED
    if audit_uri and not args.json:
        print(f"audited: {audit_uri}", file=sys.stdout if outcome.ok else sys.stderr)
    elif audit is None:
        _err("warning: nothing was audited (--no-audit)")
    return EXIT_OK if outcome.ok else EXIT_REFUSED


# ---- helpers -----------------------------------------------------------------------------------


def cli_actor() -> str:
    """``cli:<login name>`` for the audit record."""
    user = login_name()
    if not user:
        try:
            user = getpass.getuser()
        except Exception:  # no passwd entry (some containers)
            user = "unknown"
    return f"cli:{user}"


def _settings() -> GenesysSettings | None:
    try:
        return GenesysSettings.from_env()
    except ConfigError as exc:
        _err(f"configuration error: {exc}")
        return None


def _client(settings: GenesysSettings):
    from recording_assets.genesys import GenesysClient

    return GenesysClient.from_settings(settings)


def _describe(since: timedelta) -> str:
    minutes = int(since.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


def _err(text: str) -> None:
    print(text, file=sys.stderr)
