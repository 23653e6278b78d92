"""The daily partitions of every asset, from the partition settings (first day, time zone)."""

from __future__ import annotations

import dagster as dg

from recording_assets.settings import PartitionSettings


def daily_partitions(settings: PartitionSettings) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(start_date=settings.start_date, timezone=settings.timezone)
