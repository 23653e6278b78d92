"""Daily partitions in a configurable time zone, and the window math as a pure helper.

A conversation belongs to the local day of its ``conversationStart``. A local day is not a UTC day: it
spans two UTC dates, and on DST changes it lasts 23 or 25 hours, so windows are computed from local
midnights, never as ``start + 24h``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg

START_DATE_VAR = "RECORDING_PARTITIONS_START"
TIMEZONE_VAR = "RECORDING_TIMEZONE"
DEFAULT_START = "2025-01-01"
DEFAULT_TIMEZONE = "UTC"


class PartitionConfigError(ValueError):
    pass


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
            f"{TIMEZONE_VAR}={name!r} is not an IANA time zone; use e.g. UTC, Europe/Berlin, America/New_York"
        ) from None


def day_window(day: date, timezone_name: str) -> DayWindow:
    tz = zone(timezone_name)
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return DayWindow(day, timezone_name, start.astimezone(timezone.utc), end.astimezone(timezone.utc))


def local_day_of(moment: datetime, timezone_name: str) -> date:
    return moment.astimezone(zone(timezone_name)).date()


@dataclass(frozen=True)
class PartitionSettings:
    start_date: str = DEFAULT_START
    timezone: str = DEFAULT_TIMEZONE

    @classmethod
    def from_env(cls, environ=None) -> PartitionSettings:
        env = os.environ if environ is None else environ
        start = env.get(START_DATE_VAR, "").strip() or DEFAULT_START
        tz = env.get(TIMEZONE_VAR, "").strip() or DEFAULT_TIMEZONE
        try:
            date.fromisoformat(start)
        except ValueError:
            raise PartitionConfigError(f"{START_DATE_VAR}={start!r} is not a date; use YYYY-MM-DD") from None
        zone(tz)
        return cls(start, tz)

    def definition(self) -> dg.DailyPartitionsDefinition:
        return dg.DailyPartitionsDefinition(start_date=self.start_date, timezone=self.timezone)
