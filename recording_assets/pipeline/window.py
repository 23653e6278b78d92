"""The window math of a daily partition in a configurable time zone (pure: no Dagster, no settings).

A conversation belongs to the local day of its ``conversationStart``. A local day is not a UTC day: it
spans two UTC dates, and on DST changes it lasts 23 or 25 hours, so windows are computed from local
midnights, never as ``start + 24h``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class PartitionConfigError(ValueError):
    """A partition key or time zone that is not one; the message says what would be valid."""


@dataclass(frozen=True)
class DayWindow:
    day: date
    timezone: str
    start: datetime  # UTC
    end: datetime  # UTC, exclusive

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    def metadata(self) -> dict:
        return {
            "window_start_utc": self.start.isoformat(),
            "window_end_utc": self.end.isoformat(),
            "window_hours": self.hours,
            "timezone": self.timezone,
        }


def parse_day(partition_key: str) -> date:
    try:
        return date.fromisoformat(partition_key)
    except (TypeError, ValueError):
        raise PartitionConfigError(
            f"partition key {partition_key!r} is not a day; use YYYY-MM-DD, e.g. 2026-03-10"
        ) from None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PartitionConfigError(
            f"{name!r} is not an IANA time zone; use e.g. UTC, Europe/Berlin, America/New_York"
        ) from None


def day_window(day: date, timezone_name: str) -> DayWindow:
    tz = zone(timezone_name)
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return DayWindow(day, timezone_name, start.astimezone(timezone.utc), end.astimezone(timezone.utc))
