"""Partition-window math: local midnights, DST days of 23 and 25 hours, refusals that say what is valid."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from recording_assets.pipeline.window import PartitionConfigError, day_window, parse_day, zone
from recording_assets_tests.pipeline.support import local_day_of


def test_utc_day_is_24_hours_from_midnight():
    window = day_window(date(2026, 11, 20), "UTC")
    assert window.start == datetime(2026, 11, 20, tzinfo=timezone.utc)
    assert window.end == datetime(2026, 11, 21, tzinfo=timezone.utc)
    assert window.hours == 24


def test_local_day_spans_two_utc_dates():
    window = day_window(date(2026, 7, 1), "Europe/Berlin")  # CEST, UTC+2
    assert window.start == datetime(2026, 6, 30, 22, tzinfo=timezone.utc)
    assert window.end == datetime(2026, 7, 1, 22, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2026, 3, 8), 23), (date(2026, 11, 1), 25), (date(2026, 11, 2), 24)],
)
def test_dst_days_in_new_york(day, hours):
    assert day_window(day, "America/New_York").hours == hours


def test_metadata_names_the_window():
    assert day_window(date(2026, 3, 29), "Europe/Berlin").metadata() == {
        "window_start_utc": "2026-03-28T23:00:00+00:00",
        "window_end_utc": "2026-03-29T22:00:00+00:00",
        "window_hours": 23.0,
        "timezone": "Europe/Berlin",
    }


def test_parse_day_accepts_iso_and_refuses_the_rest():
    assert parse_day("2026-11-20") == date(2026, 11, 20)
    for bad in ("20-11-2026", "", None, "2026-02-30"):
        with pytest.raises(PartitionConfigError, match="YYYY-MM-DD"):
            parse_day(bad)


def test_unknown_zone_is_refused_with_examples():
    assert str(zone("Asia/Tokyo")) == "Asia/Tokyo"
    with pytest.raises(PartitionConfigError, match="not an IANA time zone; use e.g. UTC"):
        zone("Mars/Olympus")


@pytest.mark.parametrize(
    ("day", "timezone_name"),
    [
        (date(2026, 11, 20), "UTC"),
        (date(2026, 11, 20), "America/Los_Angeles"),
        (date(2026, 3, 29), "Europe/Berlin"),  # 23 hours
        (date(2026, 11, 1), "America/New_York"),  # 25 hours
        (date(2026, 11, 21), "Pacific/Kiritimati"),  # UTC+14: the local day starts the UTC day before
    ],
)
def test_a_window_holds_exactly_the_moments_of_its_local_day(day, timezone_name):
    window = day_window(day, timezone_name)
    tick = timedelta(microseconds=1)
    assert local_day_of(window.start, timezone_name) == day == local_day_of(window.end - tick, timezone_name)
    assert local_day_of(window.start - tick, timezone_name) == day - timedelta(days=1)
    assert local_day_of(window.end, timezone_name) == day + timedelta(days=1)
