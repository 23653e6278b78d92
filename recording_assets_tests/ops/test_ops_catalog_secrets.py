"""No webhook URL or credential in the catalog: every job's snapshot (its config schema, defaults
included, which the Launchpad shows) from the real Definitions, loaded with secrets set in the
environment, names the variables and never their values."""

from __future__ import annotations

import base64

from dagster._serdes import serialize_value

from recording_assets_tests.definitions_env import load_definitions

WEBHOOK_TOKEN = "hooktoken0123456789"
WEBHOOK_URL = f"https://hooks.example.com/services/T0/B0/{WEBHOOK_TOKEN}?token={WEBHOOK_TOKEN}"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
CLIENT_SECRET = "genesys-client-secret-value-42"
ENVIRONMENT = {
    "GENESYSCLOUD_REGION": "eu-west-1",
    "GENESYSCLOUD_OAUTHCLIENT_ID": "client-id-value-17",
    "GENESYSCLOUD_OAUTHCLIENT_SECRET": CLIENT_SECRET,
    "RECORDING_ARCHIVE_BUCKET": "archive-bucket-x",
    "RECORDING_MANIFEST_BUCKET": "manifest-bucket-x",
    "RECORDING_WEBHOOK_URLS": f"{WEBHOOK_URL},https://second.example.com/hook",
    "RECORDING_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "RECORDING_SLACK_WEBHOOK_URLS": "https://hooks.slack.example/services/T1/B1/slacktoken42",
    "RECORDING_TEAMS_WEBHOOK_URLS": "https://teams.example/webhookb2/teamstoken42",
}
SECRETS = (
    WEBHOOK_TOKEN,
    "hooks.example.com",
    "second.example.com",
    WEBHOOK_SECRET,
    CLIENT_SECRET,
    "slacktoken42",
    "hooks.slack.example",
    "teamstoken42",
    "teams.example",
)


def test_no_job_snapshot_or_launchpad_default_carries_a_webhook_url_or_credential():
    defs = load_definitions(ENVIRONMENT)
    jobs = list(defs.get_repository_def().get_all_jobs())
    assert len(jobs) >= 5
    for job in jobs:
        text = serialize_value(job.get_job_snapshot())
        leaked = [secret for secret in SECRETS if secret in text]
        assert leaked == [], f"{job.name}: {leaked}"
        # The variables are named instead (what the run resolves when it starts).
        if "webhooks" in job.resource_defs:
            assert "RECORDING_WEBHOOK_URLS" in text and "RECORDING_WEBHOOK_SECRET" in text
            assert "RECORDING_SLACK_WEBHOOK_URLS" in text and "RECORDING_TEAMS_WEBHOOK_URLS" in text
