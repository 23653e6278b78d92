"""The daily partitions of every asset, from the partition settings (first day, time zone), and the
checks that are evaluated per day of them."""

from __future__ import annotations

import warnings

import dagster as dg

from recording_assets.settings import PartitionSettings


def daily_partitions(settings: PartitionSettings) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(start_date=settings.start_date, timezone=settings.timezone)


def daily_check_spec(
    name: str, *, asset: dg.AssetKey, partitions_def: dg.PartitionsDefinition | None, **spec
) -> dg.AssetCheckSpec:
    """A check of a daily asset, evaluated and shown per day: its status is each day's own, so a day that
    failed at preflight (no evaluation) or warned leaves the other days' status alone (an unpartitioned
    check shows the last run of any day). ``partitions_def`` on a check spec is a preview parameter in
    1.13 (docs/dagster-platform.md §2), relied on knowingly; blocking still stops the step's downstream."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(name, asset=asset, partitions_def=partitions_def, **spec)
