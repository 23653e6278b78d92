"""Webhook events: a day's manifest written, each recording archived, an archive run failed, a check
failed or warned. Ids are stable, so receivers can de-duplicate: the same materialisation (failed run,
check evaluation) always yields the same ``webhook-id`` however often it is delivered."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    msg_id: str
    type: str
    body: dict

    def payload(self) -> bytes:
        return json.dumps(
            {"type": self.type, "data": self.body}, sort_keys=True, separators=(",", ":")
        ).encode()

    def to_json(self) -> dict:
        return {"msg_id": self.msg_id, "type": self.type, "body": self.body}

    @classmethod
    def from_json(cls, raw: dict) -> Event:
        return cls(raw["msg_id"], raw["type"], raw["body"])


ERROR_SUMMARY_CHARS = 500
_URL_QUERY = re.compile(r"(https?://[^\s?#\"'<>]+)[?#][^\s\"'<>]*")


def _msg_id(*parts: object) -> str:
    return "msg_" + hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]


def day_event(*, day: str, materialization_id: int, manifest_uri: str, rows: list[dict]) -> Event:
    states = Counter(r["state"] for r in rows)
    return Event(
        _msg_id("day.archived", day, materialization_id),
        "recording_day.archived",
        {
            "date": day,
            "manifest_uri": manifest_uri,
            "recordings": len(rows),
            "counts": dict(sorted(states.items())),
            "archived_bytes": sum(r["size_bytes"] or 0 for r in rows if r["state"] == "archived"),
        },
    )


def recording_events(*, day: str, materialization_id: int, rows: list[dict]) -> list[Event]:
    """One ``recording.archived`` per archived recording: ids, storage URI and sha256 (never a URL to Genesys)."""
    return [
        Event(
            _msg_id("recording.archived", day, materialization_id, r["conversation_id"], r["recording_id"]),
            "recording.archived",
            {
                "date": day,
                "conversation_id": r["conversation_id"],
                "recording_id": r["recording_id"],
                "storage_uri": r["storage_uri"],
                "sha256": r["sha256"],
            },
        )
        for r in rows
        if r["state"] == "archived"
    ]


def summarise_error(text: str) -> str:
    """One line, no URL query (a presigned URL's query is a credential), at most ERROR_SUMMARY_CHARS."""
    line = " ".join(_URL_QUERY.sub(r"\1", text).split())
    return line if len(line) <= ERROR_SUMMARY_CHARS else line[: ERROR_SUMMARY_CHARS - 1] + "…"


def archive_failed_event(*, run_id: str, job_name: str, partition: str | None, error: str) -> Event:
    """``recording.archive.failed`` for one failed run; the id is the run's, so a repeat is recognisable."""
    return Event(
        _msg_id("recording.archive.failed", run_id),
        "recording.archive.failed",
        {"run_id": run_id, "job_name": job_name, "partition": partition, "error": summarise_error(error)},
    )


def check_failed_event(
    *,
    evaluation_id: int,
    asset: str,
    check_name: str,
    partition: str | None,
    severity: str,
    run_id: str | None,
    description: str | None,
    details: dict[str, str | int | float | bool],
) -> Event:
    """``recording.check.failed`` for one failed or warned check evaluation, whoever reported it (a run or
    a sensor); the id is the evaluation's, so one evaluation is one event however often it is delivered.
    ``details``: the evaluation's plain metadata (numbers, short texts), each text summarised."""
    return Event(
        _msg_id("recording.check.failed", evaluation_id),
        "recording.check.failed",
        {
            "asset": asset,
            "check": check_name,
            "partition": partition,
            "severity": severity,
            "run_id": run_id,
            "description": summarise_error(description) if description else None,
            "details": {
                name: summarise_error(value) if isinstance(value, str) else value
                for name, value in sorted(details.items())
            },
        },
    )
