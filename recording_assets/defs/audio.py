"""``recording_audio``: every recording of the day in S3, verified, plus a per-recording outcome table.

Materialised by the day's step (``day.py``), from the stored metadata table or straight from discovery's
pages. Its checks run inside the same step (``check_specs``) and block: a wrong checksum or a wrong container
must not flow on into the manifest. They read what each object's outcome recorded as it landed (S3's
checksum of the stored bytes, the container sniffed on the way in), not every object again.
"""

from collections import Counter

import dagster as dg

from recording_assets.archive.links import ObjectLinks
from recording_assets.archive.store import ArchiveStore
from recording_assets.defs.catalog import table_metadata
from recording_assets.defs.names import ARCHIVE_GROUP, AUDIO, METADATA
from recording_assets.defs.not_archived import not_archived_metadata
from recording_assets.defs.partitions import daily_check_spec
from recording_assets.genesys.redact import clean_text
from recording_assets.pipeline.config import ObjectLockPolicy
from recording_assets.pipeline.day import DayResult
from recording_assets.pipeline.states import State
from recording_assets.pipeline.verify import Verification
from recording_assets.settings import OBJECT_LOCK_MODE

SHA256_CHECK = "sha256_verified"
CONTAINER_CHECK = "container_matches_content_type"
STRAYS_SHOWN = 10  # stray keys named in the metadata and the warning


AUDIO_KEY = AUDIO


def audio_spec() -> dg.AssetSpec:
    """``recording_audio`` (a function: a spec at module level would load as an asset of its own)."""
    return dg.AssetSpec(
        AUDIO_KEY,
        deps=[METADATA],
        group_name=ARCHIVE_GROUP,
        kinds={"genesys", "s3"},
        description="The day's recordings as encrypted S3 objects under recordings/year=/month=/day=/queue=/, "
        "each verified against the SHA-256 streamed at download, and a per-recording outcome table.",
    )


def check_specs(partitions_def: dg.PartitionsDefinition | None) -> list[dg.AssetCheckSpec]:
    """Its blocking checks, each evaluated per day (``partitions_def``: the asset's)."""
    return [
        daily_check_spec(
            SHA256_CHECK,
            asset=AUDIO_KEY,
            partitions_def=partitions_def,
            blocking=True,
            description="Every archived object's outcome records the SHA-256 streamed at download, its size "
            "and the proof taken as it landed: S3's checksum of the stored bytes (or a read-back), encrypted "
            "at rest.",
        ),
        daily_check_spec(
            CONTAINER_CHECK,
            asset=AUDIO_KEY,
            partitions_def=partitions_def,
            blocking=True,
            description="The container sniffed from every archived object's first bytes on the way in is "
            "the one its content type claims.",
        ),
    ]


DIVISIONS_SHOWN = 10


def budget_line(budget: dict) -> str:
    """The run log's line on the request budget the step paced to."""
    return (
        f"request budget: {budget.get('limit_per_minute')}/minute from {budget.get('limit_source')}, "
        f"{budget.get('budget')}; this run's share {budget.get('share')} "
        f"({budget.get('run_rate_per_minute')}/minute); {budget.get('header_values_ignored')} header "
        f"value(s) ignored or clamped"
    )


def audio_results(result: DayResult, *, api: dict, elapsed: float, launched_by: str, links: ObjectLinks):
    """The materialisation of ``recording_audio`` and its blocking checks; ``api``: the requests this step
    spent (by family) and how many were answered 429; ``links``: browser links for its locations."""
    report, states = result.report, result.states
    yield dg.MaterializeResult(
        asset_key=AUDIO_KEY,
        metadata={
            **{f"state_{s.value}": states.get(s.value, 0) for s in State},
            "recordings": len(report.outcomes),
            "uploaded_objects": report.uploads,
            "uploaded_bytes": dg.MetadataValue.int(report.uploaded_bytes),
            "api_requests": sum(api["requests"].values()),
            "api_requests_by_family": dg.MetadataValue.json(dict(sorted(api["requests"].items()))),
            "rate_limited_429": api["rate_limited"],
            # The limit the run paced to, where it came from, and its share (docs/genesys-behaviours.md).
            "request_budget": dg.MetadataValue.json(api.get("request_budget", {})),
            "batch_rounds": report.batch_rounds,
            "metadata_lookups": report.lookups,
            "sensitive_check": result.sensitive_check,
            "conversations_settled": sum(1 for r in report.conversations if r["settled"]),
            "url_refreshes": report.url_refreshes,
            # Sidecars written beside the downloads; the manifest step writes any still missing.
            "sidecars_written": report.sidecars_written,
            "restorations_requested": report.restorations,
            "annotation_requests": report.annotation_requests,
            "deletion_protection": result.protection,
            # Divisions the client's roles are not granted in: this day lacks their conversations.
            "division_coverage": result.division_coverage,
            "divisions_not_covered_count": len(result.divisions_not_covered),
            "divisions_not_covered": dg.MetadataValue.json(
                [{"id": i, "name": clean_text(n)} for i, n in result.divisions_not_covered[:DIVISIONS_SHOWN]]
            ),
            # Objects under the day's prefix that are not ours (a folder marker, a README ...): skipped.
            "stray_keys": len(report.stray_keys),
            "stray_keys_first": dg.MetadataValue.json(
                [clean_text(k) for k in report.stray_keys[:STRAYS_SHOWN]]
            ),
            "wall_time_s": round(elapsed, 3),
            "outcomes_uri": dg.MetadataValue.text(result.outcomes_uri),
            "outcomes_link": dg.MetadataValue.url(links.browser_url(result.outcomes_uri)),
            "objects_link": dg.MetadataValue.url(links.browser_url(result.day_uri)),
            # The day's objects are the asset; the rows counted are their outcome table's.
            **table_metadata(result.outcomes, result.day_uri),
            "audit_prefix": dg.MetadataValue.text(result.audit_uri),
            "audit_events": result.audit_events,
            "launched_by": launched_by,
            "states": dg.MetadataValue.md(_state_table(states, len(report.outcomes))),
            # Which recordings are not in the archive, and why: on this page, not only in the Parquet file.
            **not_archived_metadata(result.outcomes, links),
        },
    )
    yield _check(SHA256_CHECK, result.checksums)
    yield _check(CONTAINER_CHECK, result.containers)


def _check(name: str, verdict: Verification) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=AUDIO_KEY,
        check_name=name,
        passed=verdict.passed,
        metadata={"checked": verdict.checked, "problems": dg.MetadataValue.json(verdict.problems[:50])},
    )


def object_lock_line(store: ArchiveStore, policy: ObjectLockPolicy) -> str:
    """The archive bucket's Object Lock, checked (``ObjectLockNotEnabledError`` names the bucket and the
    fix), as the log line that says what every recording of the run is written with."""
    configuration = store.require_object_lock(setting=OBJECT_LOCK_MODE)
    default = configuration.get("Rule", {}).get("DefaultRetention")
    return (
        f"Object Lock: every recording is written {policy.mode} until {policy.days} days after its "
        f"conversation's start; s3://{store.bucket} has Object Lock enabled (bucket default retention: "
        f"{default or 'none'}, overridden per object)"
    )


def sensitive_check_line(mode: str, permission: bool | None) -> str:
    """The log line that says how this run looks for recordings a batch leaves out."""
    permission_word = {True: "confirmed", False: "missing", None: "unknown"}[permission]
    if mode == "lookup":
        return (
            f"sensitive_check=lookup (recording:recording:viewSensitiveData {permission_word}): one "
            "recordingmetadata look-up per conversation, so recordings a batch leaves out are listed (as excluded)"
        )
    return (
        f"sensitive_check=trust (recording:recording:viewSensitiveData {permission_word}): batch items only; a "
        "recording a batch leaves out silently is not listed"
    )


def _state_table(states: Counter, total: int) -> str:
    lines = ["| state | recordings |", "|---|---:|"]
    lines += [f"| {s.value} | {states.get(s.value, 0)} |" for s in State]
    lines.append(f"| **total** | **{total}** |")
    return "\n".join(lines)
