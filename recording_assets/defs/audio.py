"""``recording_audio``: every recording of the day in S3, verified, plus a per-recording outcome table.

Its checks run inside the same step (``check_specs``) and block: a wrong checksum or a wrong container
must not flow on into the manifest. They read what each object's outcome recorded as it landed (S3's
checksum of the stored bytes, the container sniffed on the way in), not every object again.
"""


import asyncio
from collections import Counter

import dagster as dg

from recording_assets.archive.keys import conversations_key, metadata_key, outcomes_key, recording_day_prefix
from recording_assets.defs.catalog import table_metadata
from recording_assets.defs.common import (
    GENESYS_POOL,
    GROUP,
    PROTECTION_KEY,
    SENSITIVE_CHECK_KEY,
    carried_preflight,
    protection_note,
    concurrent_runs,
    launched_by,
    read_table,
    timezone_of,
    window_of,
    write_table,
)
from recording_assets.clock import SystemClock
from recording_assets.genesys.errors import PermissionDeniedError
from recording_assets.pipeline import annotations
from recording_assets.pipeline.archiver import ArchiveOptions, DayArchiver
from recording_assets.pipeline.audit import AuditTrail
from recording_assets.pipeline.discovery import conversations_from_table
from recording_assets.pipeline.states import State
from recording_assets.pipeline.outcome import outcomes_table
from recording_assets.pipeline.tables import CONVERSATIONS, to_table
from recording_assets.pipeline.verify import verify_checksums, verify_containers
from recording_assets.defs.resources import ArchiveResource, GenesysCloudResource

SHA256_CHECK = "sha256_verified"
CONTAINER_CHECK = "container_matches_content_type"


def build_recording_audio(partitions_def, backfill_policy=None):
    @dg.asset(
        name="recording_audio",
        partitions_def=partitions_def,
        backfill_policy=backfill_policy,
        deps=["recording_metadata"],
        pool=GENESYS_POOL,
        group_name=GROUP,
        kinds={"genesys", "s3"},
        description="The day's recordings as encrypted S3 objects under recordings/year=/month=/day=/queue=/, "
        "each verified against the SHA-256 streamed at download, and a per-recording outcome table.",
        check_specs=[
            dg.AssetCheckSpec(
                SHA256_CHECK,
                asset="recording_audio",
                blocking=True,
                description="Every archived object's outcome records the SHA-256 streamed at download, its size "
                "and the proof taken as it landed: S3's checksum of the stored bytes (or a read-back), encrypted "
                "at rest.",
            ),
            dg.AssetCheckSpec(
                CONTAINER_CHECK,
                asset="recording_audio",
                blocking=True,
                description="The container sniffed from every archived object's first bytes on the way in is "
                "the one its content type claims.",
            ),
        ],
    )
    def recording_audio(context: dg.AssetExecutionContext, genesys: GenesysCloudResource, archive: ArchiveResource):
        window = window_of(context, timezone_of(context))
        manifest_store = archive.manifest_store()
        store = archive.archive_store()
        metadata = read_table(manifest_store, metadata_key(day=window.day))
        conversations = conversations_from_table(metadata)
        run_id = context.run.run_id
        carried = carried_preflight(metadata, run_id)
        needed = archive.preflight_permissions()
        if carried is not None and "recording" not in carried.families:
            carried = None
        if carried is not None and not set(needed) <= set(carried.confirmed):
            carried = None  # the metadata step did not confirm what this step's options need
        previous = read_table(manifest_store, outcomes_key(day=window.day), required=False)
        settled = read_table(manifest_store, conversations_key(day=window.day), required=False)
        earlier_notes = annotations.known(
            read_table(manifest_store, annotations.annotations_key(day=window.day), required=False)
        ) if archive.annotations else {}  # fmt: skip
        audit = AuditTrail(
            store=manifest_store,
            day=window.day,
            run_id=run_id,
            launched_by=launched_by(context),
            clock=SystemClock(),
        )

        async def run():
            async with genesys.client(concurrent_runs=concurrent_runs(context)) as client:
                report = carried or await client.preflight(("recording",), needed)
                if carried is None:  # the metadata step of this run already logged its warnings
                    for warning in report.warnings:
                        context.log.warning(warning)
                options = ArchiveOptions(
                    key_prefix=archive.key_prefix,
                    concurrency=archive.concurrency,
                    format_id=archive.format_id,
                    sensitive_permission=report.sensitive_data,
                    sensitive_check=archive.sensitive_check,
                    force_quarantined=archive.force_quarantined,
                    retention=archive.retention_options(),
                    url_ttl_s=report.batch_url_ttl_s,
                )
                context.log.info(_sensitive_check_line(options))
                archiver = DayArchiver(
                    client=client,
                    store=store,
                    day=window.day,
                    conversations=conversations,
                    previous=previous.to_pylist() if previous is not None else (),
                    conversation_rows=settled.to_pylist() if settled is not None else (),
                    run_id=run_id,
                    audit=audit,
                    options=options,
                )
                result = await archiver.run()
                if options.retention.annotations:  # issue 14: a request per recording archived since
                    archived = [o.key for o in result.outcomes if o.state.in_archive]
                    found, spent = await annotations.collect(
                        client, archived, earlier_notes, concurrency=archive.concurrency
                    )
                    notes_key = annotations.annotations_key(day=window.day)
                    write_table(manifest_store, notes_key, annotations.annotations_table(found))
                    result.annotation_requests = spent
                return result, client.stats, options

        start = SystemClock().time()
        try:
            result, stats, options = asyncio.run(run())
        except PermissionDeniedError as exc:
            raise dg.Failure(description=f"Preflight failed: {exc}") from None
        finally:
            audit.flush()
        elapsed = SystemClock().time() - start
        mode = {SENSITIVE_CHECK_KEY: options.resolved_sensitive_check, PROTECTION_KEY: protection_note(result)}
        outcomes = outcomes_table(result.outcomes, run_id).replace_schema_metadata(mode)
        outcomes_uri = write_table(manifest_store, outcomes_key(day=window.day), outcomes)
        write_table(manifest_store, conversations_key(day=window.day), to_table(result.conversations, CONVERSATIONS))
        states = Counter(o.state.value for o in result.outcomes)
        checksums = verify_checksums(outcomes, bucket=store.bucket)
        containers = verify_containers(outcomes, bucket=store.bucket)
        day_uri = f"s3://{store.bucket}/{recording_day_prefix(prefix=archive.key_prefix, day=window.day)}"
        yield dg.MaterializeResult(
            metadata={
                **{f"state_{s.value}": states.get(s.value, 0) for s in State},
                "recordings": len(result.outcomes),
                "uploaded_objects": result.uploads,
                "uploaded_bytes": dg.MetadataValue.int(result.uploaded_bytes),
                "api_requests": stats.api_requests,
                "api_requests_by_family": dg.MetadataValue.json(dict(sorted(stats.requests.items()))),
                "rate_limited_429": stats.rate_limited,
                "batch_rounds": result.batch_rounds,
                "metadata_lookups": result.lookups,
                "sensitive_check": options.resolved_sensitive_check,
                "conversations_settled": sum(1 for r in result.conversations if r["settled"]),
                "url_refreshes": result.url_refreshes,
                "restorations_requested": result.restorations,
                "annotation_requests": result.annotation_requests,
                "deletion_protection": protection_note(result),
                "wall_time_s": round(elapsed, 3),
                "outcomes_uri": dg.MetadataValue.text(outcomes_uri),
                # The day's objects are the asset; the rows counted are their outcome table's.
                **table_metadata(outcomes, day_uri),
                "audit_prefix": dg.MetadataValue.text(f"s3://{manifest_store.bucket}/{audit.prefix}"),
                "audit_events": audit.events,
                "launched_by": launched_by(context),
                "states": dg.MetadataValue.md(_state_table(states, result)),
            }
        )
        yield dg.AssetCheckResult(
            check_name=SHA256_CHECK,
            passed=checksums.passed,
            metadata={"checked": checksums.checked, "problems": dg.MetadataValue.json(checksums.problems[:50])},
        )
        yield dg.AssetCheckResult(
            check_name=CONTAINER_CHECK,
            passed=containers.passed,
            metadata={"checked": containers.checked, "problems": dg.MetadataValue.json(containers.problems[:50])},
        )

    return recording_audio


def _sensitive_check_line(options: ArchiveOptions) -> str:
    mode = options.resolved_sensitive_check
    permission = {True: "confirmed", False: "missing", None: "unknown"}[options.sensitive_permission]
    if mode == "lookup":
        return (
            f"sensitive_check=lookup (recording:recording:viewSensitiveData {permission}): one recordingmetadata "
            "look-up per conversation, so recordings a batch leaves out are listed (as excluded)"
        )
    return (
        f"sensitive_check=trust (recording:recording:viewSensitiveData {permission}): batch items only; a recording "
        "a batch leaves out silently is not listed"
    )


def _state_table(states: Counter, result) -> str:
    lines = ["| state | recordings |", "|---|---:|"]
    lines += [f"| {s.value} | {states.get(s.value, 0)} |" for s in State]
    lines.append(f"| **total** | **{len(result.outcomes)}** |")
    return "\n".join(lines)
