"""Secrets in the Standard Webhooks form only, checked at load with errors that name the setting and the
fix and never repeat the secret; signatures that ``standardwebhooks.Webhook(secret).verify`` accepts."""

from __future__ import annotations

import base64
import secrets
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from recording_assets.settings import ConfigError, WebhookSettings
from recording_assets.webhooks.events import archive_failed_event, summarise_error
from recording_assets.webhooks.signing import HOW_TO_MAKE_ONE, SecretFormatError, headers, secret_key
from recording_assets_tests.definitions_env import load_definitions

KEY = secrets.token_bytes(32)
SECRET = "whsec_" + base64.b64encode(KEY).decode()
URL = "https://hooks.example.com/recordings?token=t0k"


@pytest.mark.parametrize(
    "secret",
    [
        SECRET,
        "whsec_" + base64.b64encode(KEY).decode().rstrip("="),
        "whsec_" + base64.b64encode(b"k" * 24).decode(),
    ],
    ids=["padded", "unpadded", "24-byte key"],
)
def test_what_we_sign_the_library_verifies(secret):
    event = archive_failed_event(run_id="r1", job_name="archive_day", partition="2026-11-20", error="boom")
    signed = headers(secret, msg_id=event.msg_id, timestamp=int(time.time()), body=event.payload())
    assert Webhook(secret).verify(event.payload(), signed)["type"] == "recording.archive.failed"
    other = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(event.payload(), signed)


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("my-shared-secret-of-some-length", "does not start with whsec_"),
        ("whsec_not base64!!", "is not base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "key is 5 bytes"),
        ("whsec_" + base64.b64encode(b"k" * 65).decode(), "key is 65 bytes"),
        ("whsec_", "key is 0 bytes"),
    ],
)
def test_anything_else_is_refused_at_load_naming_the_setting_and_the_fix(secret, problem):
    with pytest.raises(SecretFormatError, match=problem):
        secret_key(secret)
    env = {"RECORDING_WEBHOOK_URLS": URL, "RECORDING_WEBHOOK_SECRET": secret}
    for load in (WebhookSettings.from_env, load_definitions):
        with pytest.raises(Exception) as caught:
            load(env)
        error = caught.value  # dg names the defs module that failed to load; the cause is the setting's
        while not isinstance(error, ConfigError) and error.__cause__ is not None:
            error = error.__cause__
        assert isinstance(error, ConfigError), caught.value
        message = str(error)
        assert "RECORDING_WEBHOOK_SECRET" in message and problem in message and HOW_TO_MAKE_ONE in message
        assert secret == "whsec_" or (secret not in message and secret[6:] not in message)  # never echoed


def test_the_suggested_command_makes_a_valid_secret():
    command = HOW_TO_MAKE_ONE.split("python -c ", 1)[1].strip('"').replace('\\"', '"')
    printed = []
    exec(command, {"print": printed.append})  # noqa: S102 - the exact text the error tells users to run
    assert len(secret_key(printed[0])) == 32


def test_urls_need_a_secret_and_must_be_http_urls():
    with pytest.raises(ConfigError, match="WEBHOOK_URLS is set but RECORDING_WEBHOOK_SECRET is not"):
        WebhookSettings.from_env({"RECORDING_WEBHOOK_URLS": URL})
    with pytest.raises(ConfigError, match="RECORDING_WEBHOOK_URLS: every entry must be an http") as caught:
        WebhookSettings.from_env(
            {"RECORDING_WEBHOOK_URLS": "hooks.example.com/x?token=t0k", "RECORDING_WEBHOOK_SECRET": SECRET}
        )
    assert "t0k" not in str(caught.value)
    settings = WebhookSettings.from_env(
        {"RECORDING_WEBHOOK_URLS": f"{URL}, http://127.0.0.1:9/h", "RECORDING_WEBHOOK_SECRET": SECRET}
    )
    assert settings.urls == (URL, "http://127.0.0.1:9/h") and settings.secret_set
    assert WebhookSettings.from_env({}) == WebhookSettings()


def test_a_trailing_newline_is_not_part_of_the_secret_and_per_recording_is_a_boolean():
    assert secret_key(SECRET + "\n") == KEY  # a Kubernetes Secret made from a file
    env = {"RECORDING_WEBHOOK_URLS": URL, "RECORDING_WEBHOOK_SECRET": SECRET}
    assert WebhookSettings.from_env({**env, "RECORDING_WEBHOOK_PER_RECORDING": "Yes"}).per_recording
    with pytest.raises(ConfigError, match="RECORDING_WEBHOOK_PER_RECORDING='ture': use true or false"):
        WebhookSettings.from_env({**env, "RECORDING_WEBHOOK_PER_RECORDING": "ture"})


def test_an_error_summary_is_one_line_without_url_queries_and_bounded():
    text = "recording_audio: OSError: GET https://media.example/x.wav?X-Amz-Signature=abc failed\n  at line 3"
    expected = "recording_audio: OSError: GET https://media.example/x.wav failed at line 3"
    assert summarise_error(text) == expected
    assert len(summarise_error("x" * 5000)) == 500
