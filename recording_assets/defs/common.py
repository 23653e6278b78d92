"""Small helpers the asset modules share: the partition's window, who launched the run."""

from __future__ import annotations

from recording_assets.pipeline.window import DayWindow, day_window, parse_day


def window_of(context, timezone_name: str) -> DayWindow:
    return day_window(parse_day(context.partition_key), timezone_name)


def timezone_of(context) -> str:
    partitions = context.assets_def.partitions_def
    return getattr(partitions, "timezone", None) or "UTC"


def launched_by(context) -> str:
    """Who or what started this run, from Dagster's run tags."""
    tags = context.run.tags if context.run else {}
    for tag, label in (
        ("dagster/user", "user"),
        ("user", "user"),
        ("dagster/schedule_name", "schedule"),
        ("dagster/sensor_name", "sensor"),
        ("dagster/backfill", "backfill"),
    ):
        if tags.get(tag):
            return f"{label}:{tags[tag]}"
    return "manual"
