"""When a check compliance cares about fails or warns, a ``recording.check.failed`` event: signed to the
webhook endpoints, and as a chat message to any Slack or Teams endpoint (``webhooks/chat.py``).

Those results are check evaluations, not run failures: a missing day (``yesterday_archived``), a warning
failure rate (``failure_rate_below_threshold``) or recordings about to expire unarchived (the radar's
``no_unarchived_recording_expiring``) fail no run, so ``archive_failure_webhooks`` never hears of them. The
``check_alert_webhooks`` sensor reads the instance's ASSET_CHECK_EVALUATION records after its cursor (a
storage id: the evaluation is the key, whoever reported it, a run's step or a sensor), and requests one
``webhook_delivery`` run per failed or warned evaluation and alert endpoint (run key: event id and endpoint, so
a repeated tick requests nothing new). The delivery run builds the event again from the record named by
its storage id, so run config cannot make the secret sign anything else. The cursor holds one integer.
"""

from __future__ import annotations

import dagster as dg
from dagster._core.event_api import EventRecordsFilter

from recording_assets.defs.names import DELIVERY_JOB, FRESHNESS_CHECK, MANIFEST, RADAR
from recording_assets.defs.resources import WebhookResource
from recording_assets.webhooks.delivery import SIGNED, endpoint_id
from recording_assets.webhooks.events import Event, check_failed_event

# The checks whose failure or warning is news to a person; the blocking checks already fail their run.
ALERTING_CHECKS = frozenset(
    {
        FRESHNESS_CHECK,
        dg.AssetCheckKey(MANIFEST, "failure_rate_below_threshold"),
        dg.AssetCheckKey(RADAR, "no_unarchived_recording_expiring"),
    }
)
EVALUATIONS_PER_TICK = 200


def _evaluation(record) -> dg.AssetCheckEvaluation | None:
    event = record.event_log_entry.dagster_event
    return event.event_specific_data if event is not None else None


def alerting(evaluation: dg.AssetCheckEvaluation | None) -> bool:
    """A failed or warned evaluation of one of ``ALERTING_CHECKS``."""
    if evaluation is None or evaluation.passed:
        return False
    return dg.AssetCheckKey(evaluation.asset_key, evaluation.check_name) in ALERTING_CHECKS


def _details(evaluation: dg.AssetCheckEvaluation) -> dict[str, str | int | float | bool]:
    """The evaluation's plain metadata: numbers, booleans and texts (tables, JSON and URLs stay in the UI)."""
    plain: dict[str, str | int | float | bool] = {}
    for name, value in evaluation.metadata.items():
        raw = getattr(value, "value", None)
        if isinstance(value, (dg.IntMetadataValue, dg.FloatMetadataValue, dg.BoolMetadataValue)):
            plain[name] = raw  # type: ignore[assignment]
        elif isinstance(value, dg.TextMetadataValue) and isinstance(raw, str):
            plain[name] = raw
    return plain


def check_event(instance: dg.DagsterInstance, storage_id: int) -> Event:
    """``recording.check.failed`` for the evaluation stored under ``storage_id``; anything else (another
    event, a passed check, a check that does not alert) is refused."""
    records = instance.event_log_storage.get_event_records(
        EventRecordsFilter(dg.DagsterEventType.ASSET_CHECK_EVALUATION, storage_ids=[storage_id]), limit=1
    )
    evaluation = _evaluation(records[0]) if records else None
    if not alerting(evaluation):
        raise dg.Failure(
            f"event {storage_id} is not a failed evaluation of an alerting check: nothing to report",
            allow_retries=False,
        )
    assert evaluation is not None  # alerting() says so
    return check_failed_event(
        evaluation_id=storage_id,
        asset=evaluation.asset_key.to_user_string(),
        check_name=evaluation.check_name,
        partition=evaluation.partition,
        severity=evaluation.severity.value,
        run_id=records[0].event_log_entry.run_id or None,
        description=evaluation.description,
        details=_details(evaluation),
    )


def delivery_requests(
    webhooks: WebhookResource, event: Event, source: dict, tags: dict[str, str]
) -> list[dg.RunRequest]:
    """One ``webhook_delivery`` run per alert endpoint (signed, Slack, Teams) for ``event``, named in the
    run's config by ``source`` (what the run builds the event from again). The run key is the event id and
    the endpoint, so a repeated tick requests nothing new; config and tags name an endpoint by kind and
    position and ``endpoint_id``, never by URL."""
    return [
        dg.RunRequest(
            run_key=f"{event.msg_id}:{index}" if kind == SIGNED else f"{event.msg_id}:{kind}:{index}",
            run_config={"ops": {"deliver_webhook": {"config": {"kind": kind, "endpoint": index, **source}}}},
            tags={**tags, "recording/endpoint": endpoint_id(url)},
        )
        for kind, index, url in webhooks.alert_endpoints()
    ]


def check_alerts_tick(context: dg.SensorEvaluationContext, webhooks: WebhookResource):
    """One evaluation: the run requests for new alerting evaluations, and the cursor after them."""
    after = int(context.cursor) if context.cursor else None
    if after is None:  # a new sensor starts from now: history is not news
        latest = context.instance.event_log_storage.get_event_records(
            EventRecordsFilter(dg.DagsterEventType.ASSET_CHECK_EVALUATION), limit=1, ascending=False
        )
        return [], str(latest[0].storage_id if latest else 0)
    records = context.instance.event_log_storage.get_event_records(
        EventRecordsFilter(dg.DagsterEventType.ASSET_CHECK_EVALUATION, after_cursor=after),
        limit=EVALUATIONS_PER_TICK,
        ascending=True,
    )
    requests = []
    for record in records:
        if not alerting(_evaluation(record)):
            continue
        event = check_event(context.instance, record.storage_id)
        requests += delivery_requests(
            webhooks,
            event,
            {"check_evaluation": record.storage_id},
            {"recording/check_evaluation": str(record.storage_id)},
        )
    return requests, str(records[-1].storage_id if records else after)


def build_check_alert_sensor() -> dg.SensorDefinition:
    @dg.sensor(
        name="check_alert_webhooks",
        job_name=DELIVERY_JOB,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="When yesterday_archived, failure_rate_below_threshold or the expiry radar's check fails "
        "or warns, request a webhook_delivery run per endpoint with a recording.check.failed event (signed, "
        "or a Slack or Teams message).",
    )
    def check_alert_webhooks(context: dg.SensorEvaluationContext, webhooks: WebhookResource):
        if not webhooks.alert_endpoints():
            return dg.SkipReason(
                "no alert endpoints configured (RECORDING_WEBHOOK_URLS with RECORDING_WEBHOOK_SECRET, "
                "RECORDING_SLACK_WEBHOOK_URLS, RECORDING_TEAMS_WEBHOOK_URLS)"
            )
        requests, cursor = check_alerts_tick(context, webhooks)
        context.update_cursor(cursor)
        return requests or dg.SkipReason(f"no failed or warned alerting check after event {cursor}")

    return check_alert_webhooks


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(sensors=[build_check_alert_sensor()])
