"""The names other code refers to: asset keys, check keys, groups, jobs and the pool, stated once."""

import dagster as dg

SOURCE = dg.AssetKey("genesys_conversations")
METADATA = dg.AssetKey("recording_metadata")
AUDIO = dg.AssetKey("recording_audio")
MANIFEST = dg.AssetKey("recording_manifest")
RADAR = dg.AssetKey("recording_expiry_radar")
ORPHANS = dg.AssetKey("recording_orphans")
ARCHIVE_ASSETS = (METADATA, AUDIO, MANIFEST)  # the day's three assets, in the order data flows
# The archive as audited after the fact (defs/audit.py): external, never materialised. The checks that are
# not part of archiving a day target it, so no launch of the archive's assets (one asset, the three,
# Materialize all, a backfill) selects them: Dagster adds only the checks of the assets it runs.
AUDIT = dg.AssetKey("recording_archive_audit")

# Checks evaluated on their own, never inside an archive run.
FRESHNESS_CHECK = dg.AssetCheckKey(AUDIT, "yesterday_archived")
REVERIFY_CHECK = dg.AssetCheckKey(AUDIT, "reverified_from_s3")

ARCHIVE_GROUP = "recordings"
# The retention watch has its own group: the archive's "Materialize all" stays the day's three assets.
RETENTION_GROUP = "recording_retention"
AUDIT_GROUP = "recording_audit"

# Every step that spends the OAuth token's request budget for long; not recording_control (defs/control.py),
# whose few requests must never wait for a slot.
GENESYS_POOL = "genesys_api"

ARCHIVE_JOB = "archive_day"
FRESHNESS_SENSOR = "check_freshness"  # a sensor: it records the check's evaluations without a run
REVERIFY_JOB = "reverify_archive"
CONTROL_JOB = "recording_control"
LEGAL_HOLD_JOB = "legal_hold"
DELIVERY_JOB = "webhook_delivery"
RADAR_JOB = "expiry_radar"
ORPHANS_JOB = "orphans_day"
ERASE_JOB = "erase_subject"
