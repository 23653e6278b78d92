"""The configuration contract: every environment variable the project reads, read in one place.

Variables are read when a run, a command or the code location starts (never at import time), and a
missing or malformed one fails at once with a message that names the variable and what would be valid.
No other module of the package touches ``os.environ``: they take a settings object, or a mapping that
defaults to the process environment through ``environment()``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit

from recording_assets.config_values import ConfigError, base_url, bucket, number, required, switch
from recording_assets.genesys.regions import UnknownRegionError, resolve_region
from recording_assets.genesys.secret import Secret
from recording_assets.pipeline.window import PartitionConfigError, zone
from recording_assets.webhooks.signing import HOW_TO_MAKE_ONE, SecretFormatError, secret_key

REGION = "GENESYSCLOUD_REGION"
CLIENT_ID = "GENESYSCLOUD_OAUTHCLIENT_ID"
CLIENT_SECRET = "GENESYSCLOUD_OAUTHCLIENT_SECRET"
API_BASE_URL = "GENESYSCLOUD_API_BASE_URL"
LOGIN_BASE_URL = "GENESYSCLOUD_LOGIN_BASE_URL"
ARCHIVE_BUCKET = "RECORDING_ARCHIVE_BUCKET"
MANIFEST_BUCKET = "RECORDING_MANIFEST_BUCKET"
AWS_ENDPOINT_URL = "AWS_ENDPOINT_URL"
AWS_REGION = "AWS_REGION"
AWS_DEFAULT_REGION = "AWS_DEFAULT_REGION"
PARTITIONS_START = "RECORDING_PARTITIONS_START"
TIMEZONE = "RECORDING_TIMEZONE"
SETTLE_LAG_MINUTES = "RECORDING_SETTLE_LAG_MINUTES"
RESWEEP_DAYS = "RECORDING_RESWEEP_DAYS"
FRESHNESS_DEADLINE = "RECORDING_FRESHNESS_DEADLINE"
WEBHOOK_URLS = "RECORDING_WEBHOOK_URLS"
WEBHOOK_SECRET = "RECORDING_WEBHOOK_SECRET"
WEBHOOK_PER_RECORDING = "RECORDING_WEBHOOK_PER_RECORDING"
SENSITIVE_CHECK = "RECORDING_SENSITIVE_CHECK"
FORCE_QUARANTINED = "RECORDING_FORCE_QUARANTINED"
RESTORE_ARCHIVED, RESTORE_CAP = "RECORDING_RESTORE_ARCHIVED", "RECORDING_RESTORE_CAP"
PROTECT_UNTIL_ARCHIVED = "RECORDING_PROTECT_UNTIL_ARCHIVED"
ANNOTATIONS = "RECORDING_ANNOTATIONS"
EXPIRY_RADAR_DAYS = "RECORDING_EXPIRY_RADAR_DAYS"
DAGSTER_HOME = "DAGSTER_HOME"


def environment(environ: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """``environ`` when given (tests, overrides), else the process environment."""
    return os.environ if environ is None else environ


def export(values: Mapping[str, str]) -> None:
    """Set variables in this process's environment (the demo points the project at its local servers)."""
    os.environ.update(values)


@dataclass(frozen=True)
class GenesysSettings:
    api_base_url: str
    login_base_url: str
    client_id: str
    client_secret: Secret
    region_name: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GenesysSettings:
        env = environment(environ)
        client_id = required(env, CLIENT_ID, "the OAuth client id of a Client Credentials client")
        secret = required(env, CLIENT_SECRET, "that OAuth client's secret")
        api_override = env.get(API_BASE_URL, "").strip()
        login_override = env.get(LOGIN_BASE_URL, "").strip()
        region_value = env.get(REGION, "").strip()
        region = None
        if region_value:
            try:
                region = resolve_region(region_value)
            except UnknownRegionError as exc:
                raise ConfigError(f"{REGION}: {exc}") from None
        if api_override:
            api = base_url(API_BASE_URL, api_override)
        elif region:
            api = region.api_base_url
        else:
            raise ConfigError(
                f"{REGION} is not set: set it to your org's region (e.g. eu-west-1 or mypurecloud.ie), "
                f"or set {API_BASE_URL} for a sandbox or proxy"
            )
        if login_override:
            login = base_url(LOGIN_BASE_URL, login_override)
        elif api_override:
            login = api  # only the API base given (sandbox, proxy): the token endpoint is on the same origin
        else:
            login = region.login_base_url  # type: ignore[union-attr]
        return cls(
            api_base_url=api,
            login_base_url=login,
            client_id=client_id,
            client_secret=Secret(secret),
            region_name=region.name if region else None,
        )


@dataclass(frozen=True)
class StorageSettings:
    archive_bucket: str
    manifest_bucket: str
    endpoint_url: str | None
    region_name: str | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StorageSettings:
        env = environment(environ)
        archive = bucket(env, ARCHIVE_BUCKET, "the bucket that holds recordings")
        manifest = bucket(env, MANIFEST_BUCKET, "the bucket that holds manifests and audit tables")
        return cls(
            archive_bucket=archive,
            manifest_bucket=manifest,
            endpoint_url=cls.endpoint_from_env(env),
            region_name=aws_region(env),
        )

    @staticmethod
    def endpoint_from_env(environ: Mapping[str, str] | None = None) -> str | None:
        """AWS_ENDPOINT_URL (an S3-compatible server), checked to be a base URL; None for AWS itself."""
        endpoint = environment(environ).get(AWS_ENDPOINT_URL, "").strip() or None
        return base_url(AWS_ENDPOINT_URL, endpoint) if endpoint else None


def aws_region(environ: Mapping[str, str] | None = None) -> str | None:
    """The AWS region as botocore reads it: AWS_REGION, then AWS_DEFAULT_REGION, else None."""
    env = environment(environ)
    return env.get(AWS_REGION, "").strip() or env.get(AWS_DEFAULT_REGION, "").strip() or None


def manifest_bucket(environ: Mapping[str, str] | None = None) -> str:
    """RECORDING_MANIFEST_BUCKET alone (the control CLI needs no archive bucket)."""
    return bucket(
        environment(environ), MANIFEST_BUCKET, "the bucket that holds manifests and the control audit trail"
    )


def login_name(environ: Mapping[str, str] | None = None) -> str | None:
    """Who runs a CLI command, for the control audit record (USER, or USERNAME on Windows)."""
    env = environment(environ)
    return env.get("USER", "").strip() or env.get("USERNAME", "").strip() or None


def dagster_home(environ: Mapping[str, str] | None = None) -> str | None:
    return environment(environ).get(DAGSTER_HOME, "").strip() or None


@dataclass(frozen=True)
class PartitionSettings:
    """The daily partitions: first day and IANA time zone (a conversation belongs to its local day)."""

    start_date: str = "2025-01-01"
    timezone: str = "UTC"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PartitionSettings:
        env = environment(environ)
        start = env.get(PARTITIONS_START, "").strip() or cls.start_date
        tz = env.get(TIMEZONE, "").strip() or cls.timezone
        try:
            date.fromisoformat(start)
        except ValueError:
            raise PartitionConfigError(
                f"{PARTITIONS_START}={start!r} is not a date; use YYYY-MM-DD"
            ) from None
        try:
            zone(tz)
        except PartitionConfigError as exc:
            raise PartitionConfigError(f"{TIMEZONE}={exc}") from None
        return cls(start, tz)


@dataclass(frozen=True)
class AutomationSettings:
    """The daily schedule and freshness: when a day is archived, how many days are re-swept."""

    settle_lag_minutes: int = 120  # how long after a day ends before it is archived
    resweep_days: int = 3  # days before yesterday re-run each tick, for recordings that arrive late
    freshness_deadline: str = "06:00"  # local time by which yesterday's manifest must exist

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AutomationSettings:
        env = environment(environ)
        deadline = env.get(FRESHNESS_DEADLINE, "").strip() or cls.freshness_deadline
        try:
            datetime.strptime(deadline, "%H:%M")
        except ValueError:
            raise ConfigError(f"{FRESHNESS_DEADLINE}={deadline!r}: use HH:MM, e.g. 06:00") from None
        return cls(
            settle_lag_minutes=number(env, SETTLE_LAG_MINUTES, cls.settle_lag_minutes, 0, 23 * 60),
            resweep_days=number(env, RESWEEP_DAYS, cls.resweep_days, 0, 30),
            freshness_deadline=deadline,
        )

    @property
    def cron(self) -> str:
        return f"{self.settle_lag_minutes % 60} {self.settle_lag_minutes // 60} * * *"


@dataclass(frozen=True)
class ArchivePolicy:
    """Defaults of the archive resource that an operator sets once for every run (the Launchpad overrides)."""

    sensitive_check: str = "auto"  # auto | lookup | trust: how recordings a batch leaves out are found
    force_quarantined: bool = False  # download again recordings that gave the same bad bytes twice
    # Issue 14, all opt in: restore ARCHIVED recordings (at most restore_cap a day's run), protect a day
    # from Genesys' retention deletes until archived, store annotations; the radar's horizon in days.
    restore_archived: bool = False
    restore_cap: int = 100
    protect_until_archived: bool = False
    annotations: bool = False
    expiry_radar_days: int = 14

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ArchivePolicy:
        env = environment(environ)
        check = env.get(SENSITIVE_CHECK, "").strip().lower() or cls.sensitive_check
        if check not in ("auto", "lookup", "trust"):
            raise ConfigError(f"{SENSITIVE_CHECK}={check!r}: use auto, lookup or trust")
        return cls(
            sensitive_check=check,
            force_quarantined=switch(env, FORCE_QUARANTINED),
            restore_archived=switch(env, RESTORE_ARCHIVED),
            restore_cap=number(env, RESTORE_CAP, cls.restore_cap, 0, 100_000),
            protect_until_archived=switch(env, PROTECT_UNTIL_ARCHIVED),
            annotations=switch(env, ANNOTATIONS),
            expiry_radar_days=number(env, EXPIRY_RADAR_DAYS, cls.expiry_radar_days, 1, 365),
        )


@dataclass(frozen=True)
class WebhookSettings:
    """Where signed events go; the secret is checked here, at load, and bound by name (dg.EnvVar)."""

    urls: tuple[str, ...] = ()
    secret_set: bool = False
    per_recording: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebhookSettings:
        env = environment(environ)
        urls = tuple(u.strip() for u in env.get(WEBHOOK_URLS, "").split(",") if u.strip())
        if any(urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc for url in urls):
            # The value itself is not repeated: a webhook URL's query may carry the receiver's token.
            raise ConfigError(f"{WEBHOOK_URLS}: every entry must be an http(s) URL, comma-separated")
        secret = env.get(WEBHOOK_SECRET, "").strip()
        if secret:
            try:
                secret_key(secret)
            except SecretFormatError as exc:
                raise ConfigError(f"{WEBHOOK_SECRET} is not a Standard Webhooks secret: {exc}") from None
        elif urls:
            raise ConfigError(
                f"{WEBHOOK_URLS} is set but {WEBHOOK_SECRET} is not: events are only sent signed; "
                + HOW_TO_MAKE_ONE
            )
        return cls(urls=urls, secret_set=bool(secret), per_recording=switch(env, WEBHOOK_PER_RECORDING))


ARROW_DEFAULT_MEMORY_POOL = "ARROW_DEFAULT_MEMORY_POOL"


def prefer_system_malloc_for_arrow(environ=None) -> None:
    """``system`` unless the operator chose a pool: Arrow's C++ code fixes its allocator from this variable
    on first use (``pyarrow.set_memory_pool`` reaches only pyarrow's own calls), so the package sets it on
    import. Arrow's default, mimalloc, keeps freed pages for reuse, so a day's tables stayed in RSS after
    they were written; through the tuned malloc (``allocator.py``) they go back. benchmarks/memory.py,
    10,083-recording day, the pool alone changed: peak 277-283 MB -> 245-248 MB."""
    (os.environ if environ is None else environ).setdefault(ARROW_DEFAULT_MEMORY_POOL, "system")
