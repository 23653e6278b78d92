"""``recording_archive_audit``: the archive as audited after the fact, the target of the checks that are not
part of archiving a day.

Dagster runs, with the assets of a launch, every check *of those assets* (the UI's Materialize, Materialize
all, a backfill; the implicit asset job). ``yesterday_archived`` (defs/freshness.py) and
``reverified_from_s3`` (defs/reverify.py) are about the archive, not about one run's output, so they target
this external asset downstream of ``recording_manifest``: it is never materialised (nothing to launch) and
sits in its own group, so no launch of the archive's assets selects them, and none of them can turn red
because an archive run ran.
"""

from __future__ import annotations

import dagster as dg

from recording_assets.defs.catalog import catalogued
from recording_assets.defs.names import AUDIT, AUDIT_GROUP, MANIFEST
from recording_assets.defs.partitions import daily_partitions
from recording_assets.settings import Settings


def archive_audit(partitions_def: dg.TimeWindowPartitionsDefinition) -> dg.AssetSpec:
    # Partitioned like the archive so a re-verification's result shows on its day.
    return dg.AssetSpec(
        AUDIT,
        deps=[MANIFEST],
        partitions_def=partitions_def,
        group_name=AUDIT_GROUP,
        kinds={"s3"},
        description="The archive in S3 as audited after the fact: is the latest due day archived "
        "(yesterday_archived, evaluated by the check_freshness sensor) and do archived objects read back "
        "as the manifest says (reverified_from_s3). External: never materialised, so no archive run "
        "executes these checks.",
    )


@dg.definitions
def defs() -> dg.Definitions:
    settings = Settings.from_env()
    return dg.Definitions(
        assets=catalogued([archive_audit(daily_partitions(settings.partitions))], settings.operations)
    )
