"""An alert event as a chat message: the body of a Slack incoming webhook or a Microsoft Teams webhook.

Only the alert events (``recording.archive.failed``, ``recording.check.failed``) go to chat endpoints:
they are news to a person; a day written or a recording archived is news to a program. A message carries
the facts of the signed event (what failed, day, check, severity, run id, the summarised description or
error that ``events.summarise_error`` already cut to one line without URL queries) and nothing else.

- Slack: ``{"text": ..., "blocks": [...]}``, https://api.slack.com/messaging/webhooks (answers 200 "ok").
- Teams: a message with one Adaptive Card attachment (version 1.4),
  https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using

Written by hand rather than with dagster-slack / dagster-msteams: dagster-slack posts with a bot token
through slack_sdk's ``chat.postMessage``, not to incoming webhooks; both would send through their own HTTP
clients and so bypass ``transport`` (one deadline for the whole POST, the answer read capped, no
redirects) that every delivery to an untrusted receiver goes through; and the two shapes are a few lines.
"""

from __future__ import annotations

import json

from recording_assets.webhooks.events import Event

SLACK, TEAMS = "slack", "teams"
KINDS = (SLACK, TEAMS)
ALERT_TYPES = frozenset({"recording.archive.failed", "recording.check.failed"})


def facts(event: Event) -> tuple[str, list[tuple[str, str]]]:
    """The message's title and its (name, value) facts, in the order a person reads them."""
    data = event.body
    if event.type == "recording.archive.failed":
        title = f"Recording archive run failed ({data.get('job_name')})"
        pairs = [
            ("Day", data.get("partition")),
            ("Run id", data.get("run_id")),
            ("Error", data.get("error")),
        ]
    elif event.type == "recording.check.failed":
        severity = data.get("severity")
        verb = "warned" if severity == "WARN" else "failed"
        title = f"Recording check {verb}: {data.get('check')} on {data.get('asset')}"
        pairs = [
            ("Check", f"{data.get('asset')} / {data.get('check')}"),
            ("Day", data.get("partition")),
            ("Severity", severity),
            ("Run id", data.get("run_id")),
            ("Description", data.get("description")),
            *((name, value) for name, value in (data.get("details") or {}).items()),
        ]
    else:
        raise ValueError(f"{event.type} is not an alert event: chat endpoints only get alerts")
    shown = [(name, str(value)) for name, value in pairs if value is not None and value != ""]
    return title, [*shown, ("Event id", event.msg_id)]


def slack_body(event: Event) -> dict:
    title, pairs = facts(event)
    lines = "\n".join(f"*{name}:* {_slack_escape(value)}" for name, value in pairs)
    return {
        "text": title,  # the notification's text, and what clients without blocks show
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": lines[:3000]}},
        ],
    }


def teams_body(event: Event) -> dict:
    title, pairs = facts(event)
    card = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": True},
            {"type": "FactSet", "facts": [{"title": name, "value": value} for name, value in pairs]},
        ],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def body(kind: str, event: Event) -> bytes:
    """The POST body for a chat endpoint of ``kind`` (``SLACK`` or ``TEAMS``)."""
    shape = {SLACK: slack_body, TEAMS: teams_body}[kind]
    return json.dumps(shape(event), separators=(",", ":")).encode()


def _slack_escape(text: str) -> str:
    """Slack's three control characters, so a description cannot mention @channel or forge a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
