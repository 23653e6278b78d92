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

This module is the argparse wiring; the command bodies and the exit-code constants are in
``control_commands``.
"""

from __future__ import annotations

import argparse
import re
from datetime import timedelta

from recording_assets.genesys.analytics import MEDIA_TYPES
from recording_assets.genesys.live_conversations import MAX_ACTIVE_WINDOW
from recording_assets.tools.control_commands import calls_active, recording_action, recording_status

_SINCE = re.compile(r"(\d+)([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str) -> timedelta:
    """``90m``, ``2h``, ``1d`` -> a timedelta within 1 minute .. 30 days (argparse type)."""
    match = _SINCE.fullmatch(text.strip().lower())
    if not match:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: use minutes, hours or days, e.g. 90m, 2h, 1d"
        )
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
        "--media",
        action="append",
        choices=MEDIA_TYPES,
        help="only this media type (repeatable; default: all)",
    )
    active.add_argument(
        "--since",
        type=parse_since,
        default=timedelta(hours=2),
        metavar="DURATION",
        help="look back this far for conversation starts: 90m, 2h, 1d (default 2h, at most 30d)",
    )
    active.add_argument("--json", action="store_true", help="print JSON for machines instead of a table")
    active.set_defaults(func=calls_active)

    recording = commands.add_parser(
        "recording", help="pause/resume/start/stop recording of a live conversation"
    )
    recording_commands = recording.add_subparsers(dest="recording_command", required=True)
    status = recording_commands.add_parser(
        "status", help="recording state and participants of a conversation"
    )
    status.add_argument("conversation_id", metavar="CONVERSATION_ID")
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.set_defaults(func=recording_status)
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
                "--participant",
                required=True,
                metavar="PARTICIPANT_ID",
                help="the participant id (see `recording status CONVERSATION_ID`)",
            )
        command.add_argument("--reason", help="free text kept in the audit record (ticket, why)")
        command.add_argument(
            "--no-audit",
            action="store_true",
            help="act even though RECORDING_MANIFEST_BUCKET is not configured (nothing is audited)",
        )
        command.add_argument("--json", action="store_true", help="print the audit record as JSON")
        command.set_defaults(func=recording_action, action=action)
