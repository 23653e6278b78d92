"""Expiry radar: the recordings Genesys deletes within N days that the archive does not hold, per day.

``GET /api/v2/recordings/retention/query?retentionThresholdDays=N`` (paged by cursor, 500 a page) is read
for them, but what it lists is open: the SDK says recordings "retained for more days than the provided
value" (then a small N lists most of the org's history), the product's first guess was "deleted within N
days" (docs/genesys-behaviours.md). So whatever the server returns, only entries whose ``deleteDate`` is
within the horizon are kept, page by page (``scan``); the pages are bounded (``radar_max_pages``) and what
they cost is reported. Each kept entry is looked for in the archive under the local day of its
``creationTime`` and the day before (a conversation belongs to the day it started, and may end after
midnight): an S3 listing per day, no Genesys request. What is not there is at risk, filed under the day
whose conversations table names its conversation, else under the day it was created: the day a run must
archive (or restore) before Genesys deletes it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from recording_assets.archive.keys import conversations_key, parse_recording_key, recording_day_prefix
from recording_assets.archive.protocol import DocumentStore, RecordingStore
from recording_assets.archive.sidecar_keys import is_sidecar_key
from recording_assets.genesys.retention import Expiring, Retention, RetentionScan
from recording_assets.pipeline.tables import from_parquet_bytes


@dataclass
class RadarReport:
    horizon_days: int
    checked: int = 0  # recordings within the horizon
    at_risk: dict[date, list[Expiring]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.at_risk.values())

    def per_day(self) -> dict[str, int]:
        return {day.isoformat(): len(items) for day, items in sorted(self.at_risk.items())}

    def soonest(self) -> datetime | None:
        dates = [e.delete_date for items in self.at_risk.values() for e in items if e.delete_date]
        return min(dates) if dates else None


async def scan(retention: Retention, *, horizon_days: int, max_pages: int, now: datetime) -> RetentionScan:
    """The retention query's entries Genesys deletes within ``horizon_days`` of ``now``, under any reading."""
    limit = now + timedelta(days=horizon_days)
    return await retention.expiring(
        horizon_days, keep=lambda e: e.delete_date is not None and e.delete_date <= limit, max_pages=max_pages
    )


def local_day(moment: datetime | None, zone: ZoneInfo) -> date | None:
    return moment.astimezone(zone).date() if moment else None


def unarchived(
    entries: list[Expiring],
    *,
    horizon_days: int,
    archive: RecordingStore,
    manifests: DocumentStore,
    timezone: str,
    key_prefix: str = "",
) -> RadarReport:
    """Sort the retention query's ``entries`` into held by the archive or at risk, per day."""
    zone = ZoneInfo(timezone)
    report = RadarReport(horizon_days, checked=len(entries))
    created = {d for e in entries if (d := local_day(e.creation_time, zone)) is not None}
    days = {day - timedelta(days=back) for day in created for back in (0, 1)}
    held: set[str] = set()
    planned: dict[str, date] = {}  # conversation id -> the day whose run planned it
    for day in sorted(days):
        for item in archive.list_day(recording_day_prefix(prefix=key_prefix, day=day)):
            if is_sidecar_key(item.key):
                continue
            held.add(parse_recording_key(item.key, prefix=key_prefix).recording_id)
        body = manifests.get_bytes(conversations_key(day=day))
        if body is not None:
            for cid in from_parquet_bytes(body).column("conversation_id").to_pylist():
                planned.setdefault(cid, day)
    at_risk: dict[date, list[Expiring]] = defaultdict(list)
    for entry in entries:
        if entry.recording_id in held:
            continue
        filed = planned.get(entry.conversation_id) or local_day(entry.creation_time, zone)
        if filed is None:  # no creationTime: file it under the day it is deleted, which is what matters
            filed = local_day(entry.delete_date, zone) or date.min
        at_risk[filed].append(entry)
    report.at_risk = dict(sorted(at_risk.items()))
    return report
