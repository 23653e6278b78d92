"""The bodies of ``recording-assets calls ...`` and ``recording ...`` (wired in ``control_cli``, which
also describes the exit codes): each takes the parsed arguments and returns the exit code."""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from recording_assets.control.actions import ControlRequest, ControlUsageError, perform
from recording_assets.genesys.errors import GenesysError
from recording_assets.genesys.live_conversations import summarise
from recording_assets.settings import ConfigError, GenesysSettings, login_name

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_NOT_AUDITED = 3


# ---- calls active ------------------------------------------------------------------------------


def calls_active(args) -> int:
    found, code = _read(
        lambda client: client.control.active_conversations(
            since=args.since, queue_id=args.queue, user_id=args.user, media_types=args.media
        ),
        failed="error: could not list live conversations: ",
    )
    if code != EXIT_OK:
        return code
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


def recording_status(args) -> int:
    live, code = _read(lambda client: client.control.inspect(args.conversation_id), failed="error: ")
    if code != EXIT_OK:
        return code
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


def recording_action(args) -> int:
    from recording_assets.archive.errors import ArchiveError
    from recording_assets.control.attempt import attempt
    from recording_assets.control.audit import ControlAuditStore

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

    done = attempt(
        request,
        lambda: _with_client(settings, lambda client: perform(client, request)),
        audit=audit,
        launched_by=cli_actor(),
        source="cli",
        oauth_client_id=settings.client_id,
        reason=args.reason,
    )
    outcome, event, audit_uri, audit_error = done.outcome, done.event, done.audit_uri, done.audit_error
    if args.json:
        print(json.dumps({**event.to_dict(), "audit_uri": audit_uri}, indent=2))
    elif outcome.ok:
        print(outcome.message)
    else:
        _err(outcome.message)
    if audit_error:
        _err(
            f"error: the audit record could NOT be written ({audit_error}); event: {event.to_json().decode()}"
        )
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


def _read(question: Callable[[Any], Awaitable[Any]], *, failed: str) -> tuple[Any, int]:
    """Ask Genesys one read-only ``question`` of the client: (answer, EXIT_OK), or (None, the exit code)
    once the configuration error or ``failed`` + the Genesys error has been said on stderr."""
    settings = _settings()
    if settings is None:
        return None, EXIT_USAGE
    try:
        return _with_client(settings, question), EXIT_OK
    except GenesysError as exc:
        _err(f"{failed}{exc}")
        return None, EXIT_REFUSED


def _with_client(settings: GenesysSettings, question: Callable[[Any], Awaitable[Any]]) -> Any:
    """``question(client)`` on a Genesys client that is opened and closed around it."""

    async def run():
        from recording_assets.genesys import GenesysClient

        async with GenesysClient.from_settings(settings) as client:
            return await question(client)

    return asyncio.run(run())


def _settings() -> GenesysSettings | None:
    try:
        return GenesysSettings.from_env()
    except ConfigError as exc:
        _err(f"configuration error: {exc}")
        return None


def _describe(since: timedelta) -> str:
    minutes = int(since.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def _table(header: tuple[str, ...], rows: Sequence[tuple[object, ...]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _err(text: str) -> None:
    print(text, file=sys.stderr)
