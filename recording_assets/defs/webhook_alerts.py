"""When an archive run fails, a ``recording.archive.failed`` event to every alert endpoint (signed to the
webhook endpoints, a chat message to the Slack and Teams ones: ``webhooks/chat.py``); and the
``webhook_delivery`` job that delivers it, and the check alerts of ``check_alerts.py``, one run per event
and endpoint.

The ``archive_failure_webhooks`` sensor sends nothing itself: Dagster moves a run-status sensor's cursor
past a run even when the sensor's function fails, so an event posted from the tick to a receiver that is
down would be lost. It requests one ``webhook_delivery`` run per endpoint instead (run key = event id and
endpoint, so a repeated tick requests nothing new). That run posts the event and retries with back-off for
about an hour; one that never succeeds stays a failed run in the UI, where it can be re-executed.
"""

import time
from typing import Literal

import dagster as dg
from pydantic import Field

from recording_assets.defs.check_alerts import check_event, delivery_requests
from recording_assets.defs.names import ARCHIVE_ASSETS, ARCHIVE_JOB, DELIVERY_JOB
from recording_assets.defs.resources import WebhookResource
from recording_assets.webhooks.delivery import SIGNED, post, where
from recording_assets.webhooks.events import Event, archive_failed_event
from recording_assets.webhooks.transport import client as webhook_client

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


VARIABLES = {
    SIGNED: "RECORDING_WEBHOOK_URLS",
    "slack": "RECORDING_SLACK_WEBHOOK_URLS",
    "teams": "RECORDING_TEAMS_WEBHOOK_URLS",
}


class WebhookDeliveryConfig(dg.Config):
    kind: Literal["signed", "slack", "teams"] = Field(
        default="signed",
        description="a signed webhook endpoint, or a Slack or Teams one (alerts as messages)",
    )
    endpoint: int = Field(
        description="position in the kind's variable, RECORDING_WEBHOOK_URLS, RECORDING_SLACK_WEBHOOK_URLS "
        "or RECORDING_TEAMS_WEBHOOK_URLS (the URL stays out of run config)"
    )
    failed_run: str | None = Field(
        default=None, description="id of the failed archive run to report; the event is built from it"
    )
    check_evaluation: int | None = Field(
        default=None,
        description="storage id of the failed or warned check evaluation to report (defs/check_alerts.py)",
    )


@dg.op(retry_policy=dg.RetryPolicy(max_retries=7, delay=30, backoff=dg.Backoff.EXPONENTIAL))
def deliver_webhook(context: dg.OpExecutionContext, config: WebhookDeliveryConfig, webhooks: WebhookResource):
    urls = webhooks.endpoints_of(config.kind)
    if not 0 <= config.endpoint < len(urls):
        raise dg.Failure(
            f"{config.kind} endpoint {config.endpoint} is not configured: {VARIABLES[config.kind]} has "
            f"{len(urls)} entries now",
            allow_retries=False,
        )
    if config.kind == SIGNED and not webhooks.secret:
        raise dg.Failure(
            "RECORDING_WEBHOOK_SECRET is not set: events are only sent signed", allow_retries=False
        )
    url, event = urls[config.endpoint], _event(context.instance, config)
    # A chat URL is wholly the receiver's credential: logs name the endpoint by kind and position.
    shown = where(url) if config.kind == SIGNED else f"{config.kind} endpoint {config.endpoint}"
    with webhook_client() as client:
        result = post(
            client,
            url=url,
            secret=webhooks.secret,
            event=event,
            timestamp=int(time.time()),
            timeout_s=webhooks.timeout_s,
            kind=config.kind,
        )
    if not result.ok:
        raise dg.Failure(f"webhook {event.msg_id} ({event.type}) to {shown} failed: {result.error}")
    context.log.info(f"webhook {event.msg_id} ({event.type}) delivered to {shown}, HTTP {result.status}")


@dg.job(
    name=DELIVERY_JOB,
    description="POST one webhook event (signed, or a Slack/Teams message) to one endpoint, retried with back-off",
)
def webhook_delivery():
    deliver_webhook()


def _event(instance: dg.DagsterInstance, config: WebhookDeliveryConfig) -> Event:
    """The one event the run's config names: a failed archive run, or a check evaluation."""
    if (config.failed_run is None) == (config.check_evaluation is None):
        raise dg.Failure("name either failed_run or check_evaluation", allow_retries=False)
    if config.check_evaluation is not None:
        return check_event(instance, config.check_evaluation)
    return failure_event(instance, config.failed_run or "")


def is_archive_run(run: dg.DagsterRun) -> bool:
    """The daily job, or any run that materialises one of the archive's assets (a UI launch, a backfill)."""
    return run.job_name == ARCHIVE_JOB or bool(set(ARCHIVE_ASSETS) & set(run.asset_selection or ()))


def failure_event(instance: dg.DagsterInstance, run_id: str) -> Event:
    """``recording.archive.failed`` for ``run_id``, built from what the instance recorded of it: a run that
    is not a failed archive run is refused, so a run config cannot make the secret sign anything else."""
    run = instance.get_run_by_id(run_id)
    if run is None or run.status != dg.DagsterRunStatus.FAILURE or not is_archive_run(run):
        raise dg.Failure(
            f"run {run_id!r} is not a failed archive run: nothing to report", allow_retries=False
        )
    steps = [
        record.event_log_entry.dagster_event
        for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records
    ]
    failure = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
    last = failure[-1].event_log_entry.dagster_event if failure else None
    message = last.message if last is not None else None
    return archive_failed_event(
        run_id=run.run_id,
        job_name=run.job_name,
        partition=_partition(run),
        error=_error_summary(steps, message),
    )


def _user_error(error) -> str:
    """The error our code raised, not Dagster's wrapper around it ("Error occurred while executing op")."""
    while error.cause is not None and error.cls_name.startswith("Dagster"):
        error = error.cause
    return error.message


def _error_summary(step_failures, run_failure_message: str | None) -> str:
    steps = [
        f"{event.step_key}: {_user_error(event.step_failure_data.error)}"
        for event in step_failures
        if event is not None and event.step_failure_data.error is not None
    ]
    return "; ".join(steps) or (run_failure_message or "the run failed")


def _partition(run: dg.DagsterRun) -> str | None:
    if run.tags.get("dagster/partition"):
        return run.tags["dagster/partition"]
    if run.tags.get(RANGE_START):
        return f"{run.tags[RANGE_START]}...{run.tags.get(RANGE_END, '')}"
    return None


def build_failure_webhook_sensor() -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name="archive_failure_webhooks",
        request_job=webhook_delivery,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="When an archive run fails, request a webhook_delivery run per endpoint with a signed "
        "recording.archive.failed event (job, run id, partition, error summary).",
    )
    def archive_failure_webhooks(context: dg.RunFailureSensorContext, webhooks: WebhookResource):
        run = context.dagster_run
        if not is_archive_run(run):
            return dg.SkipReason(f"run {run.run_id} of {run.job_name} archives nothing")
        if not webhooks.alert_endpoints():
            return dg.SkipReason(
                "no alert endpoints configured (RECORDING_WEBHOOK_URLS with RECORDING_WEBHOOK_SECRET, "
                "RECORDING_SLACK_WEBHOOK_URLS, RECORDING_TEAMS_WEBHOOK_URLS)"
            )
        event = failure_event(context.instance, run.run_id)  # what the delivery run will build again
        return delivery_requests(
            webhooks, event, {"failed_run": run.run_id}, {"recording/failed_run": run.run_id}
        )

    return archive_failure_webhooks


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[webhook_delivery], sensors=[build_failure_webhook_sensor()])
