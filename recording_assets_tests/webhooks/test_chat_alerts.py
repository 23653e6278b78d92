"""Slack and Teams endpoints through Dagster's own APIs: a failed check evaluation and a failed archive run
each reach a loopback Slack-shaped and Teams-shaped receiver exactly once, unsigned, in their message
shapes; a day's events never reach them; their URLs stay out of run config and tags."""

from __future__ import annotations

import dagster as dg
import pytest

from recording_assets.defs.automation import JOB_NAME
from recording_assets.defs.resources import WebhookResource
from recording_assets.defs.webhook_alerts import webhook_delivery
from recording_assets.settings import SLACK_WEBHOOK_URLS, TEAMS_WEBHOOK_URLS
from recording_assets_tests.webhooks import test_check_alert_sensor as checks
from recording_assets_tests.webhooks import test_webhook_failure_sensor as failures
from recording_assets_tests.webhooks.receivers import SECRET, ChatReceiver, Receiver
from recording_assets_tests.webhooks.test_webhook_tick import _tick as day_tick
from recording_assets_tests.webhooks.test_webhook_tick import day_with_events  # noqa: F401 - a fixture


@pytest.fixture
def chat(monkeypatch):
    """A Slack and a Teams receiver, bound from the environment as a deployment binds them."""
    slack, teams = ChatReceiver("slack"), ChatReceiver("teams")
    monkeypatch.setenv(SLACK_WEBHOOK_URLS, slack.url)
    monkeypatch.setenv(TEAMS_WEBHOOK_URLS, teams.url)
    yield slack, teams
    slack.stop()
    teams.stop()


def _chat_only(slack: ChatReceiver, teams: ChatReceiver) -> WebhookResource:
    return WebhookResource(slack_endpoints=slack.url, teams_endpoints=teams.url)


def _deliver(requests, webhooks, instance, receivers):
    for request in requests:
        assert all(r.url not in str(request.run_config) + str(request.tags) for r in receivers)
        delivery = webhook_delivery.execute_in_process(
            run_config=request.run_config, resources={"webhooks": webhooks}, instance=instance
        )
        assert delivery.success


def test_a_failed_check_reaches_each_chat_endpoint_once(chat):
    slack, teams = chat
    webhooks = _chat_only(slack, teams)  # no signed endpoint and no secret: chat needs neither
    defs = checks._defs([checks.missing_day, checks.not_alerting], webhooks)
    with dg.DagsterInstance.ephemeral() as instance:
        _, cursor = checks._tick(defs, instance, None)
        defs.resolve_job_def("checks").execute_in_process(instance=instance, raise_on_error=False)
        requests, cursor = checks._tick(defs, instance, cursor)
        assert len(requests) == 2 and len({r.run_key for r in requests}) == 2  # one alert, two endpoints
        assert checks._tick(defs, instance, cursor)[0] == []
        _deliver(requests, webhooks, instance, chat)
    for receiver in chat:
        assert receiver.rejected == [] and list(receiver.seen.values()) == [1]
    assert slack.seen.keys() == teams.seen.keys()
    assert "yesterday_archived" in slack.messages[0]["text"]
    facts = {
        f["title"]: f["value"] for f in teams.messages[0]["attachments"][0]["content"]["body"][1]["facts"]
    }
    assert facts["Severity"] == "ERROR" and facts["Description"] == "no manifest for 2026-11-19"


def test_a_failed_archive_run_reaches_each_chat_endpoint_once_beside_the_signed_one(chat):
    slack, teams = chat
    signed = Receiver()
    webhooks = WebhookResource(
        endpoints=signed.url, secret=SECRET, slack_endpoints=slack.url, teams_endpoints=teams.url
    )
    defs = failures._defs(webhooks)
    try:
        with dg.DagsterInstance.ephemeral() as instance:
            _, cursor = failures._tick(defs, instance, None)
            defs.resolve_job_def(JOB_NAME).execute_in_process(
                instance=instance, partition_key=failures.DAY, raise_on_error=False
            )
            data, _ = failures._tick(defs, instance, cursor)
            requests = list(data.run_requests or [])
            assert len(requests) == 3 and len({r.run_key for r in requests}) == 3
            _deliver(requests, webhooks, instance, [*chat, signed])
    finally:
        signed.stop()
    assert signed.rejected == [] and list(signed.seen.values()) == [1]
    for receiver in chat:
        assert receiver.rejected == [] and list(receiver.seen.values()) == [1]
    assert slack.seen.keys() == teams.seen.keys() == signed.seen.keys()  # the same event id everywhere
    text = slack.messages[0]["blocks"][1]["text"]["text"]
    assert failures.DAY in text and "X-Amz-Signature" not in text and "upload refused" in text


def test_a_day_event_does_not_reach_the_chat_endpoints(chat, day_with_events):  # noqa: F811
    slack, teams = chat
    signed = Receiver()
    webhooks = WebhookResource(
        endpoints=signed.url, secret=SECRET, slack_endpoints=slack.url, teams_endpoints=teams.url
    )
    try:
        with dg.DagsterInstance.ephemeral() as instance:
            archive = day_with_events(instance, archived=2)
            cursor, summary, _ = day_tick(instance, None, webhooks, archive)
    finally:
        signed.stop()
    assert len(signed.seen) == 1, summary  # the day event, to the signed endpoint only
    assert slack.url not in cursor and teams.url not in cursor
    assert slack.seen == {} and teams.seen == {} and slack.rejected == teams.rejected == []
