"""``legal_hold``: set or clear the S3 Object Lock legal hold on the archived objects of a day, or of one
conversation of it, from the Launchpad; every run is audited under ``legal-hold-audit/`` in the manifest
bucket (``pipeline/legal_hold.py``). A refusal or a failed object fails the run, naming it.

Run config (Launchpad)::

    ops:
      apply_legal_hold:
        config:
          day: "2026-11-20"          # a partition of the archive
          conversation_id: 4b1c...   # optional: only that conversation's recordings
          hold: "on"                 # on | off
          reason: "Case 2026-114, counsel request of 2026-12-01"
"""

from typing import Any, Literal

import dagster as dg
from pydantic import Field

from recording_assets.archive.errors import ArchiveError
from recording_assets.defs.common import launched_by
from recording_assets.defs.names import LEGAL_HOLD_JOB
from recording_assets.defs.partitions import daily_partitions
from recording_assets.defs.resources import ArchiveResource
from recording_assets.pipeline.legal_hold import HoldRequest, LegalHoldRequestError, apply_legal_hold
from recording_assets.pipeline.table_io import MissingTableError
from recording_assets.pipeline.window import parse_day
from recording_assets.settings import OBJECT_LOCK_MODE, ConfigError, Settings


class LegalHoldConfig(dg.Config):
    day: str = Field(description="the archived day (a partition, YYYY-MM-DD)")
    conversation_id: str | None = Field(
        default=None, description="only this conversation's recordings; unset: every recording of the day"
    )
    hold: Literal["on", "off"] = Field(description="on: set the legal hold; off: clear it")
    reason: str = Field(description="why (a case or ticket reference): kept in the audit record")


def build_legal_hold_job(partitions: dg.PartitionsDefinition) -> dg.JobDefinition:
    @dg.op(
        name="apply_legal_hold",
        description="Set or clear the legal hold of every archived object of a day or conversation, audited.",
        tags={"kind": "s3"},
    )
    def apply_legal_hold_op(
        context: dg.OpExecutionContext, config: LegalHoldConfig, archive: ArchiveResource
    ) -> dg.Output[dict]:
        if config.day not in partitions.get_partition_keys():
            raise _refused(
                f"day {config.day!r} is not a partition of the archive (YYYY-MM-DD, from its first day)"
            )
        try:
            request = HoldRequest(
                day=parse_day(config.day),
                on=config.hold == "on",
                reason=config.reason,
                launched_by=launched_by(context),
                run_id=context.run_id,
                conversation_id=(config.conversation_id or "").strip() or None,
            )
            stores = archive.archive_store(), archive.manifest_store()
        except (LegalHoldRequestError, ConfigError, ValueError) as exc:
            raise _refused(str(exc)) from None
        try:
            done = apply_legal_hold(
                request, archive=stores[0], manifests=stores[1], lock_setting=OBJECT_LOCK_MODE
            )
        except (ArchiveError, MissingTableError) as exc:
            # The audit record was written on the way out, unless writing it is what failed (this says so).
            raise dg.Failure(
                description=f"Legal hold {config.hold} stopped: {exc}; its audit record is under "
                f"legal-hold-audit/date={config.day}/ in the manifest bucket unless this error is about it",
                allow_retries=False,
            ) from None
        event = done.event
        metadata: dict[str, Any] = {
            "action": event.action,
            "day": event.day,
            "conversation_id": event.conversation_id or "",
            "objects": len(event.objects),
            "failed": len(event.failed),
            "result": event.result,
            "audit_record": dg.MetadataValue.url(done.audit_uri),
        }
        if event.result != "done":
            failures = "; ".join(f"{c.uri}: {c.error}" for c in event.failed[:5])
            raise dg.Failure(
                description=f"Legal hold {config.hold}: {event.result}: {event.error or failures}",
                metadata=metadata,
                allow_retries=False,
            )
        context.log.info(
            f"legal hold {config.hold} on {len(event.objects)} objects; audited at {done.audit_uri}"
        )
        return dg.Output(event.to_dict(), metadata=metadata)

    @dg.job(
        name=LEGAL_HOLD_JOB,
        description="Set or clear the S3 Object Lock legal hold on the archived recordings of a day or a "
        "conversation (found through the day's manifest); every run is audited under legal-hold-audit/.",
        tags={"recording_assets/kind": "legal_hold"},
    )
    def legal_hold():
        apply_legal_hold_op()

    return legal_hold


def _refused(problem: str) -> dg.Failure:
    return dg.Failure(description=f"Run config error: {problem}. Nothing was done.", allow_retries=False)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[build_legal_hold_job(daily_partitions(Settings.from_env().partitions))])
