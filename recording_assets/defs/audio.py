"""``recording_audio``: every recording of the day in S3, verified, plus a per-recording outcome table.

Materialised by the day's step (``day.py``), from the stored metadata table or straight from discovery's
pages. Its checks run inside the same step (``check_specs``) and block: a wrong checksum or a wrong container
must not flow on into the manifest. They read what each object's outcome recorded as it landed (S3's
checksum of the stored bytes, the container sniffed on the way in), not every object again.
"""

from collections import Counter
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass

import dagster as dg

from recording_assets.archive.keys import conversations_key, outcomes_key, recording_day_prefix
from recording_assets.clock import SystemClock
from recording_assets.defs.catalog import table_metadata
from recording_assets.defs.common import (
    GROUP,
    PROTECTION_KEY,
    SENSITIVE_CHECK_KEY,
    launched_by,
    protection_note,
    read_table,
    write_table,
)
from recording_assets.defs.resources import ArchiveResource
from recording_assets.genesys.preflight import PreflightReport
from recording_assets.pipeline import annotations
from recording_assets.pipeline.archiver import ArchiveOptions, ArchiveReport, DayArchiver
from recording_assets.pipeline.audit import AuditTrail
from recording_assets.pipeline.outcome import outcomes_table
from recording_assets.pipeline.states import State
from recording_assets.pipeline.tables import CONVERSATIONS, to_table
from recording_assets.pipeline.verify import verify_checksums, verify_containers
from recording_assets.pipeline.window import DayWindow

SHA256_CHECK = "sha256_verified"
CONTAINER_CHECK = "container_matches_content_type"


AUDIO_KEY = dg.AssetKey("recording_audio")

AUDIO_SPEC = dg.AssetSpec(
    AUDIO_KEY,
    deps=["recording_metadata"],
    group_name=GROUP,
    kinds={"genesys", "s3"},
    description="The day's recordings as encrypted S3 objects under recordings/year=/month=/day=/queue=/, "
    "each verified against the SHA-256 streamed at download, and a per-recording outcome table.",
)

CHECK_SPECS = [
    dg.AssetCheckSpec(
        SHA256_CHECK,
        asset=AUDIO_KEY,
        blocking=True,
        description="Every archived object's outcome records the SHA-256 streamed at download, its size "
        "and the proof taken as it landed: S3's checksum of the stored bytes (or a read-back), encrypted "
        "at rest.",
    ),
    dg.AssetCheckSpec(
        CONTAINER_CHECK,
        asset=AUDIO_KEY,
        blocking=True,
        description="The container sniffed from every archived object's first bytes on the way in is "
        "the one its content type claims.",
    ),
]


@dataclass
class DayAudio:
    """One archive of the day's recordings: what earlier runs left, then ``run`` with a client, then
    ``results`` for Dagster."""

    context: dg.AssetExecutionContext
    archive: ArchiveResource
    window: DayWindow

    def __post_init__(self) -> None:
        day, manifest_store = self.window.day, self.archive.manifest_store()
        self.manifest_store, self.store = manifest_store, self.archive.archive_store()
        self.previous = read_table(manifest_store, outcomes_key(day=day), required=False)
        self.settled = read_table(manifest_store, conversations_key(day=day), required=False)
        self.earlier_notes = annotations.known(
            read_table(manifest_store, annotations.annotations_key(day=day), required=False)
        ) if self.archive.annotations else {}  # fmt: skip
        self.audit = AuditTrail(
            store=manifest_store,
            day=day,
            run_id=self.context.run.run_id,
            launched_by=launched_by(self.context),
            clock=SystemClock(),
        )

    async def run(
        self,
        client,
        report: PreflightReport,
        conversations: Sequence = (),
        pages: AsyncIterable | None = None,
    ) -> tuple[ArchiveReport, ArchiveOptions]:
        """Archive ``conversations`` (or ``pages`` of them as they arrive), then the annotations (opt in)."""
        archive = self.archive
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
        self.context.log.info(_sensitive_check_line(options))
        archiver = DayArchiver(
            client=client,
            store=self.store,
            day=self.window.day,
            conversations=conversations,
            previous=self.previous.to_pylist() if self.previous is not None else (),
            conversation_rows=self.settled.to_pylist() if self.settled is not None else (),
            run_id=self.context.run.run_id,
            audit=self.audit,
            options=options,
        )
        try:
            result = await archiver.run(pages)
        finally:
            self.audit.flush()
        if options.retention.annotations:  # issue 14: a request per recording archived since
            archived = [o.key for o in result.outcomes if o.state.in_archive]
            found, spent = await annotations.collect(
                client, archived, self.earlier_notes, concurrency=archive.concurrency
            )
            notes_key = annotations.annotations_key(day=self.window.day)
            write_table(self.manifest_store, notes_key, annotations.annotations_table(found))
            result.annotation_requests = spent
        return result, options

    def results(self, result: ArchiveReport, options: ArchiveOptions, api: dict, elapsed: float):
        """The outcome tables written, the materialisation and the blocking checks; ``api``: the requests this
        step spent (by family) and how many were answered 429."""
        context, store, manifest_store, window = self.context, self.store, self.manifest_store, self.window
        run_id = context.run.run_id
        mode = {
            SENSITIVE_CHECK_KEY: options.resolved_sensitive_check,
            PROTECTION_KEY: protection_note(result),
        }
        outcomes = outcomes_table(result.outcomes, run_id).replace_schema_metadata(mode)
        outcomes_uri = write_table(manifest_store, outcomes_key(day=window.day), outcomes)
        conversations = to_table(result.conversations, CONVERSATIONS)
        write_table(manifest_store, conversations_key(day=window.day), conversations)
        states = Counter(o.state.value for o in result.outcomes)
        checksums = verify_checksums(outcomes, bucket=store.bucket)
        containers = verify_containers(outcomes, bucket=store.bucket)
        day_prefix = recording_day_prefix(prefix=self.archive.key_prefix, day=window.day)
        day_uri = f"s3://{store.bucket}/{day_prefix}"
        yield dg.MaterializeResult(
            asset_key=AUDIO_KEY,
            metadata={
                **{f"state_{s.value}": states.get(s.value, 0) for s in State},
                "recordings": len(result.outcomes),
                "uploaded_objects": result.uploads,
                "uploaded_bytes": dg.MetadataValue.int(result.uploaded_bytes),
                "api_requests": sum(api["requests"].values()),
                "api_requests_by_family": dg.MetadataValue.json(dict(sorted(api["requests"].items()))),
                "rate_limited_429": api["rate_limited"],
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
                "audit_prefix": dg.MetadataValue.text(f"s3://{manifest_store.bucket}/{self.audit.prefix}"),
                "audit_events": self.audit.events,
                "launched_by": launched_by(context),
                "states": dg.MetadataValue.md(_state_table(states, result)),
            },
        )
        yield dg.AssetCheckResult(
            asset_key=AUDIO_KEY,
            check_name=SHA256_CHECK,
            passed=checksums.passed,
            metadata={
                "checked": checksums.checked,
                "problems": dg.MetadataValue.json(checksums.problems[:50]),
            },
        )
        yield dg.AssetCheckResult(
            asset_key=AUDIO_KEY,
            check_name=CONTAINER_CHECK,
            passed=containers.passed,
            metadata={
                "checked": containers.checked,
                "problems": dg.MetadataValue.json(containers.problems[:50]),
            },
        )


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
