"""``recording_control``: one live recording action launched from the Dagster UI (Launchpad), with the
same pre-checks, outcomes and audit record as the CLI. A refusal or failure fails the run with the
readable message; a no-op ("already paused") succeeds and says so.

Run config (Launchpad)::

    ops:
      control_recording:
        config:
          action: pause            # pause | resume | start | stop
          conversation_id: 4b1c...
          participant_id: null     # required for start / stop
          reason: "PCI: card payment"
"""

import asyncio
from typing import Any, Literal

import dagster as dg
from pydantic import Field

from recording_assets.archive.errors import ArchiveError
from recording_assets.control.actions import ControlRequest, ControlUsageError, perform
from recording_assets.control.attempt import attempt
from recording_assets.control.audit import ControlAuditStore
from recording_assets.defs.common import launched_by
from recording_assets.defs.names import CONTROL_JOB
from recording_assets.defs.resources import ArchiveResource, GenesysCloudResource
from recording_assets.defs.run_limits import (
    CONTROL_MAX_RETRIES,
    CONTROL_MAX_RUNTIME_S,
    CONTROL_PRIORITY,
    MAX_RETRIES_TAG,
    MAX_RUNTIME_TAG,
    PRIORITY_TAG,
)
from recording_assets.settings import ConfigError

JOB_NAME = CONTROL_JOB


class RecordingControlConfig(dg.Config):
    action: Literal["pause", "resume", "start", "stop"] = Field(
        description="pause/resume: secure pause of the whole conversation (any media); "
        "start/stop: the recording flag of one participant of a call"
    )
    conversation_id: str = Field(description="the live conversation (see `recording-assets calls active`)")
    participant_id: str | None = Field(
        default=None, description="required for start/stop (see `recording-assets recording status`)"
    )
    reason: str | None = Field(default=None, description="free text kept in the audit record")


# No pool: genesys_api slots are held by archive runs for hours, and a secure pause during a card payment
# cannot wait for a backfill. Its few requests are paced by its own client and retried on a 429.
@dg.op(
    description="Apply one recording-control action to a live conversation and append its audit record.",
    tags={"kind": "genesys"},
)
def control_recording(
    context: dg.OpExecutionContext,
    config: RecordingControlConfig,
    genesys: GenesysCloudResource,
    archive: ArchiveResource,
) -> dg.Output[dict]:
    try:
        request = ControlRequest(config.action, config.conversation_id.strip(), config.participant_id or None)
    except ControlUsageError as exc:
        raise dg.Failure(
            description=f"Run config error: {exc}. Nothing was done.", allow_retries=False
        ) from None
    try:
        settings = genesys.settings()
        audit = ControlAuditStore(archive.manifest_store())
    except ConfigError as exc:
        raise dg.Failure(
            description=f"Configuration error: {exc}. Nothing was done.", allow_retries=False
        ) from None
    try:
        audit.check_writable()
    except ArchiveError as exc:
        raise dg.Failure(
            description=f"The control audit bucket is not usable, so nothing was done: {exc}",
            allow_retries=False,
        ) from None

    async def run():
        async with genesys.client() as client:
            return await perform(client, request)

    done = attempt(
        request,
        lambda: asyncio.run(run()),
        audit=audit,
        launched_by=launched_by(context),
        source="dagster",
        run_id=context.run_id,
        oauth_client_id=settings.client_id,
        reason=config.reason,
    )
    outcome, event = done.outcome, done.event
    metadata: dict[str, Any] = {
        "action": request.action,
        "conversation_id": request.conversation_id,
        "participant_id": request.participant_id or "",
        "outcome": outcome.outcome,
        "message": outcome.message,
        "http_status": outcome.http_status if outcome.http_status is not None else "",
        "correlation_id": outcome.correlation_id or "",
        "audit_event_id": event.event_id,
    }
    if done.audit_uri is None:
        head = "The action took effect but" if outcome.ok else f"{outcome.message}. Also,"
        raise dg.Failure(
            description=f"{head} its audit record could NOT be written: {done.audit_error}",
            metadata={**metadata, "audit_record": dg.MetadataValue.json(event.to_dict())},
            allow_retries=False,
        ) from None
    metadata["audit_record"] = dg.MetadataValue.url(done.audit_uri)
    if not outcome.ok:
        raise dg.Failure(description=outcome.message, metadata=metadata, allow_retries=False)
    context.log.info(outcome.message)
    return dg.Output(event.to_dict(), metadata=metadata)


@dg.job(
    name=JOB_NAME,
    description="Pause/resume recording of a live conversation, or start/stop one participant's recording "
    "(Genesys Cloud live recording control); every run is audited under control-audit/ in the manifest bucket.",
    tags={
        "recording_assets/kind": "control",
        # First in the run queue, which keeps run slots free of archive runs for it (deploy/dagster.yaml).
        PRIORITY_TAG: CONTROL_PRIORITY,
        MAX_RUNTIME_TAG: str(CONTROL_MAX_RUNTIME_S),
        # Never relaunched by run retries: a pause meant for this moment must not happen minutes later.
        MAX_RETRIES_TAG: CONTROL_MAX_RETRIES,
    },
)
def recording_control():
    control_recording()


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[recording_control])
