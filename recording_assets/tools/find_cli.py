"""``recording-assets find``: archived recordings by agent, queue, address, conversation, time and state,
printed as rows with their ``s3://`` URIs (``--json``: one JSON object a line), optionally downloaded and
verified against the manifest (``--download DIR``; exit 1 on any mismatch).

Buckets, endpoint and time zone come from the code location's settings (``RECORDING_*`` and the AWS
environment, ``settings.py``); the library part is ``pipeline/finder.py`` and ``pipeline/verified_download.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

EXIT_MISMATCH = 1
EXIT_USAGE = 2


def add_command(commands) -> None:
    find = commands.add_parser(
        "find",
        help="find archived recordings in the day manifests (DuckDB), print or download and verify them",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    find.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD or an ISO time (inclusive)")
    find.add_argument("--to", dest="end", required=True, help="YYYY-MM-DD (that whole day) or an ISO time")
    find.add_argument("--agent", help="agent id, name or e-mail (names and e-mails case-insensitively)")
    find.add_argument("--queue", help="queue id or name")
    find.add_argument("--address", help="a participant's phone number or e-mail address")
    find.add_argument("--conversation", help="conversation id")
    find.add_argument("--state", help="manifest state, e.g. archived or failed")
    find.add_argument("--json", action="store_true", help="one JSON object per recording, a line each")
    find.add_argument("--download", metavar="DIR", type=Path, help="fetch each object into DIR and verify it")
    find.set_defaults(func=run)


def run(args, *, environ=None, out=None, err=None) -> int:
    from recording_assets.pipeline.finder import FindError, FindQuery, find_recordings
    from recording_assets.settings import ConfigError, PartitionSettings

    out, err = out or sys.stdout, err or sys.stderr
    try:
        zone = ZoneInfo(PartitionSettings.from_env(environ).timezone)
        query = FindQuery(
            start=parse_moment(args.start, zone, option="--from", end_of_day=False),
            end=parse_moment(args.end, zone, option="--to", end_of_day=True),
            agent=args.agent,
            queue=args.queue,
            address=args.address,
            conversation_id=args.conversation,
            state=args.state,
        )
        query.days(zone)  # the span is checked before any client is built
        s3, storage = _s3(environ)
        result = find_recordings(_manifests(s3, storage.manifest_bucket), query, zone=zone)
    except (FindError, ConfigError) as error:
        print(f"recording-assets find: {error}", file=err)
        return EXIT_USAGE
    for line in result.unreadable:
        print(f"unreadable manifest, skipped: {line}", file=err)
    if result.missing_days:
        days = ", ".join(d.isoformat() for d in result.missing_days[:10])
        more = f" (+{len(result.missing_days) - 10} more)" if len(result.missing_days) > 10 else ""
        print(f"no manifest for {len(result.missing_days)} day(s): {days}{more}", file=err)
    for row in result.rows:
        print(json.dumps(row, default=_json_value, sort_keys=True) if args.json else _line(row), file=out)
    print(f"{len(result.rows)} recording(s) in {len(result.manifests_read)} manifest(s)", file=err)
    if args.download is None:
        return 0
    from recording_assets.pipeline.verified_download import download_verified

    report = download_verified(s3, storage.archive_bucket, result.rows, args.download)
    for problem in report.mismatches:
        print(f"MISMATCH {problem}", file=err)
    print(
        f"{len(report.verified)} verified into {args.download}, {len(report.mismatches)} mismatch(es), "
        f"{report.skipped} not in the archive",
        file=err,
    )
    return 0 if report.passed else EXIT_MISMATCH


def parse_moment(text: str, zone: tzinfo, *, option: str, end_of_day: bool) -> datetime:
    """A date is local midnight in the partition zone (for ``--to``, the next one: the whole day counts);
    an ISO time without an offset is read in that zone."""
    from recording_assets.pipeline.finder import FindError

    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            return datetime.combine(day + timedelta(days=1 if end_of_day else 0), time(), tzinfo=zone)
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise FindError(
            f"{option} {text!r} is neither a date (YYYY-MM-DD) nor an ISO time (2026-11-20T09:30:00Z)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _json_value(value) -> str:
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


def _line(row: dict) -> str:
    ids, names = row["agent_ids"] or [], row["agent_names"] or []
    agents = ",".join(names[n] if n < len(names) and names[n] else i for n, i in enumerate(ids))
    return "\t".join(
        str(v)
        for v in (
            row["conversation_start"].isoformat() if row["conversation_start"] else "",
            row["state"],
            row["media_type"] or "",
            agents,
            row["conversation_id"],
            row["recording_id"],
            row["storage_uri"] or "",
        )
    )


def _s3(environ):
    import boto3
    from botocore.config import Config

    from recording_assets.settings import ConfigError, StorageSettings

    storage = StorageSettings.from_env(environ)
    try:
        client = boto3.client(
            "s3",
            region_name=storage.region_name,
            endpoint_url=storage.endpoint_url,
            config=Config(retries={"mode": "standard"}),
        )
    except Exception as exc:  # botocore refuses e.g. a malformed endpoint before any request
        raise ConfigError(f"cannot build the S3 client from the AWS environment: {exc}") from None
    return client, storage


def _manifests(s3, bucket: str):
    from recording_assets.archive.store import ArchiveStore

    return ArchiveStore(s3, bucket=bucket)
