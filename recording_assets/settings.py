"""The configuration contract: every environment variable the project reads, read in one place.

Variables are read when the code location loads, or a command starts (never at import time), into frozen
objects, one per concern; a missing or malformed one fails at once with a message that names the variable
and what would be valid. No other module of the package touches ``os.environ``: they take one of these
objects. The archive's own knobs, their defaults and bounds are ``pipeline.config.ArchiveConfig``'s: this
module only reads the variables that are set.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from recording_assets.genesys.addresses import HostPort, parse_allowlist
from recording_assets.genesys.regions import UnknownRegionError, resolve_region
from recording_assets.genesys.secret import Secret
from recording_assets.pipeline.config import ArchiveConfig, InvalidConfigError, ObjectLockPolicy
from recording_assets.pipeline.window import PartitionConfigError, zone
from recording_assets.webhooks.signing import HOW_TO_MAKE_ONE, SecretFormatError, secret_key

REGION = "GENESYSCLOUD_REGION"
CLIENT_ID = "GENESYSCLOUD_OAUTHCLIENT_ID"
CLIENT_SECRET = "GENESYSCLOUD_OAUTHCLIENT_SECRET"
API_BASE_URL = "GENESYSCLOUD_API_BASE_URL"
LOGIN_BASE_URL = "GENESYSCLOUD_LOGIN_BASE_URL"
ALLOWED_MEDIA_HOSTS = "RECORDING_ALLOWED_MEDIA_HOSTS"
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
SLACK_WEBHOOK_URLS = "RECORDING_SLACK_WEBHOOK_URLS"  # alerts only, unsigned: webhooks/chat.py
TEAMS_WEBHOOK_URLS = "RECORDING_TEAMS_WEBHOOK_URLS"
SENSITIVE_CHECK = "RECORDING_SENSITIVE_CHECK"
FORCE_QUARANTINED = "RECORDING_FORCE_QUARANTINED"
RESTORE_ARCHIVED, RESTORE_CAP = "RECORDING_RESTORE_ARCHIVED", "RECORDING_RESTORE_CAP"
PROTECT_UNTIL_ARCHIVED = "RECORDING_PROTECT_UNTIL_ARCHIVED"
ANNOTATIONS = "RECORDING_ANNOTATIONS"
EXPIRY_RADAR_DAYS = "RECORDING_EXPIRY_RADAR_DAYS"
QUARANTINE_EVIDENCE_KIB = "RECORDING_QUARANTINE_EVIDENCE_KIB"
PROGRESS_INTERVAL_S = "RECORDING_PROGRESS_INTERVAL_S"
PROTECTION_RESERVE = "RECORDING_PROTECTION_RESERVE"
RADAR_MAX_PAGES = "RECORDING_RADAR_MAX_PAGES"
SSE = "RECORDING_SSE"
OBJECT_LOCK_MODE, OBJECT_LOCK_DAYS = "RECORDING_OBJECT_LOCK_MODE", "RECORDING_OBJECT_LOCK_DAYS"
KMS_KEY_ID = "RECORDING_KMS_KEY_ID"
POOL_LIMIT = "RECORDING_GENESYS_POOL_LIMIT"
CODE_URL = "RECORDING_CODE_URL"
CODE_BRANCH = "RECORDING_CODE_BRANCH"
DAGSTER_HOME = "DAGSTER_HOME"
ARROW_DEFAULT_MEMORY_POOL = "ARROW_DEFAULT_MEMORY_POOL"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable and the fix."""


def environment(environ: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """``environ`` when given (tests, overrides), else the process environment."""
    return os.environ if environ is None else environ


def export(values: Mapping[str, str]) -> None:
    """Set variables in this process's environment (the demo points the project at its local servers)."""
    os.environ.update(values)


def prefer(name: str, value: str) -> None:
    """Set ``name`` for this process and its children unless the operator already chose a value."""
    os.environ.setdefault(name, value)


@dataclass(frozen=True)
class GenesysSettings:
    api_base_url: str
    login_base_url: str
    client_id: str
    client_secret: Secret
    region_name: str | None = None
    # host:port entries media may come from although they are not public (a sandbox, a test server)
    allowed_media_hosts: frozenset[HostPort] = frozenset()

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
        for name, url in ((API_BASE_URL, api), (LOGIN_BASE_URL, login)):
            _https_unless_loopback(name, url)  # the OAuth secret and the bearer token travel there
        try:
            allowed = parse_allowlist(env.get(ALLOWED_MEDIA_HOSTS, ""))
        except ValueError as exc:
            raise ConfigError(
                f"{ALLOWED_MEDIA_HOSTS}: {exc}; use host:port entries, comma-separated"
            ) from None
        return cls(
            api_base_url=api,
            login_base_url=login,
            client_id=client_id,
            client_secret=Secret(secret),
            region_name=region.name if region else None,
            allowed_media_hosts=allowed,
        )


def _https_unless_loopback(name: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    host = (parts.hostname or "").lower()
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(
            f"{name} is plain http to a host that is not loopback: use https (plain http is only for a local sandbox)"
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


def genesys_endpoints(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The Genesys connection variables that are set but the credentials (checked by ``GenesysSettings``)."""
    env = environment(environ)
    return {
        name: env[name].strip()
        for name in (REGION, API_BASE_URL, LOGIN_BASE_URL, ALLOWED_MEDIA_HOSTS)
        if env.get(name, "").strip()
    }


@dataclass(frozen=True)
class EncryptionSettings:
    """Server-side encryption of every object written: AES256 (S3-managed keys) or aws:kms with a key."""

    sse: str = "AES256"
    kms_key_id: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EncryptionSettings:
        env = environment(environ)
        sse = env.get(SSE, "").strip() or cls.sse
        key = env.get(KMS_KEY_ID, "").strip() or None
        if sse not in ("AES256", "aws:kms"):
            raise ConfigError(f"{SSE}={sse!r} is not supported: use AES256 or aws:kms")
        if sse == "aws:kms" and not key:
            raise ConfigError(f"{SSE} is aws:kms but {KMS_KEY_ID} is not set: set the KMS key id or ARN")
        return cls(sse, key)


def environment_connection(environ: Mapping[str, str] | None = None) -> GenesysSettings | None:
    """The Genesys connection the environment binds, or None where it binds no credentials (a test that
    builds its resources by hand); a malformed one fails naming the variable."""
    env = environment(environ)
    if not (env.get(CLIENT_ID, "").strip() and env.get(CLIENT_SECRET, "").strip()):
        return None
    return GenesysSettings.from_env(env)


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


def arrow_memory_pool(environ: Mapping[str, str] | None = None) -> str:
    """The Arrow allocator the process uses (``ARROW_DEFAULT_MEMORY_POOL``), empty for Arrow's default."""
    return environment(environ).get(ARROW_DEFAULT_MEMORY_POOL, "").strip()


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


# The archive knobs an operator sets once for every run, by variable; their defaults and bounds are
# ArchiveConfig's (the Launchpad can still override each knob of a run: defs/resources.py).
ARCHIVE_VARIABLES = {
    SENSITIVE_CHECK: "sensitive_check",
    FORCE_QUARANTINED: "force_quarantined",
    RESTORE_ARCHIVED: "restore_archived",
    RESTORE_CAP: "restore_cap",
    PROTECT_UNTIL_ARCHIVED: "protect_until_archived",
    ANNOTATIONS: "annotations",
    EXPIRY_RADAR_DAYS: "expiry_radar_days",
    # The deployment's alone (no resource field, so no run config): how much of bad bytes is kept.
    QUARANTINE_EVIDENCE_KIB: "quarantine_evidence_kib",
    PROGRESS_INTERVAL_S: "progress_interval_s",  # the deployment's alone, like the evidence cap
    PROTECTION_RESERVE: "protection_reserve",
    RADAR_MAX_PAGES: "radar_max_pages",
}


def archive_config(environ: Mapping[str, str] | None = None) -> ArchiveConfig:
    """The archive configuration of every run: ``ArchiveConfig``'s defaults, and the variables set."""
    env = environment(environ)
    config = ArchiveConfig()
    for name, knob in ARCHIVE_VARIABLES.items():
        raw = env.get(name, "").strip()
        if not raw:
            continue
        default = getattr(config.retention, knob, getattr(config, knob, None))
        if isinstance(default, bool):
            value: Any = switch(env, name)
        elif isinstance(default, int):
            value = whole_number(name, raw)
        else:
            value = raw.lower()
        try:
            config = config.overridden({knob: value})
        except InvalidConfigError as exc:
            raise ConfigError(f"{name}={raw!r}: {exc}") from None
    lock = object_lock_policy(env)
    return config.overridden({"object_lock": lock}) if lock else config


def object_lock_policy(environ: Mapping[str, str] | None = None) -> ObjectLockPolicy | None:
    """RECORDING_OBJECT_LOCK_MODE and _DAYS, both or neither (the deployment's alone: no run config)."""
    env = environment(environ)
    mode, days = env.get(OBJECT_LOCK_MODE, "").strip().upper(), env.get(OBJECT_LOCK_DAYS, "").strip()
    if not mode and not days:
        return None
    if not (mode and days):
        missing = OBJECT_LOCK_DAYS if mode else OBJECT_LOCK_MODE
        raise ConfigError(
            f"{missing} is not set: Object Lock needs both {OBJECT_LOCK_MODE} (GOVERNANCE or COMPLIANCE) "
            f"and {OBJECT_LOCK_DAYS} (days after each conversation's start), or neither"
        )
    try:
        return ObjectLockPolicy(mode, whole_number(OBJECT_LOCK_DAYS, days))
    except InvalidConfigError as exc:
        raise ConfigError(f"{OBJECT_LOCK_MODE}={mode!r} / {OBJECT_LOCK_DAYS}={days!r}: {exc}") from None


def webhook_urls(raw: str, variable: str = WEBHOOK_URLS) -> tuple[str, ...]:
    """A URL list's value (RECORDING_WEBHOOK_URLS, or a chat one) as its URLs, each checked; the error
    never repeats a value: a webhook URL (a chat one wholly, a signed one's query) may carry a token."""
    urls = tuple(u.strip() for u in raw.split(",") if u.strip())
    if any(urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc for url in urls):
        raise ConfigError(f"{variable}: every entry must be an http(s) URL, comma-separated")
    return urls


@dataclass(frozen=True)
class WebhookSettings:
    """Where signed events go; the secret is checked here, at load, and bound by name (dg.EnvVar). The
    Slack and Teams URLs get the alert events only, unsigned (off unless set; bound by name too)."""

    urls: tuple[str, ...] = ()
    secret_set: bool = False
    per_recording: bool = False
    slack_urls: tuple[str, ...] = ()
    teams_urls: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebhookSettings:
        env = environment(environ)
        urls = webhook_urls(env.get(WEBHOOK_URLS, ""))
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
        return cls(
            urls=urls,
            secret_set=bool(secret),
            per_recording=switch(env, WEBHOOK_PER_RECORDING),
            slack_urls=webhook_urls(env.get(SLACK_WEBHOOK_URLS, ""), SLACK_WEBHOOK_URLS),
            teams_urls=webhook_urls(env.get(TEAMS_WEBHOOK_URLS, ""), TEAMS_WEBHOOK_URLS),
        )


@dataclass(frozen=True)
class OperationsSettings:
    """The genesys_api pool's limit (each run's share of the token's budget) and where the code is hosted."""

    pool_limit: int = 1  # keep equal to the instance's genesys_api limit (deploy/dagster.yaml)
    code_url: str | None = None  # e.g. https://github.com/org/recording-assets: the catalog links code there
    code_branch: str = "main"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OperationsSettings:
        env = environment(environ)
        url = env.get(CODE_URL, "").strip() or None
        branch = env.get(CODE_BRANCH, "").strip() or cls.code_branch
        return cls(number(env, POOL_LIMIT, cls.pool_limit, 1, 64), url and base_url(CODE_URL, url), branch)


@dataclass(frozen=True)
class Settings:
    """What the code location reads when it loads, one object per concern."""

    partitions: PartitionSettings = field(default_factory=PartitionSettings)
    automation: AutomationSettings = field(default_factory=AutomationSettings)
    archive: ArchiveConfig = field(default_factory=ArchiveConfig)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    operations: OperationsSettings = field(default_factory=OperationsSettings)
    aws_region: str | None = None
    s3_endpoint_url: str | None = None  # AWS_ENDPOINT_URL as given: checked when a run starts
    # Where the Genesys org is (region or base URLs), as given: checked with the credentials when a run
    # starts (GenesysSettings), so a location without credentials (CI, a first look) still loads.
    genesys_endpoints: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        return cls(
            partitions=PartitionSettings.from_env(environ),
            automation=AutomationSettings.from_env(environ),
            archive=archive_config(environ),
            webhooks=WebhookSettings.from_env(environ),
            operations=OperationsSettings.from_env(environ),
            aws_region=aws_region(environ),
            s3_endpoint_url=environment(environ).get(AWS_ENDPOINT_URL, "").strip() or None,
            genesys_endpoints=genesys_endpoints(environ),
        )


# Parsers for values: each names the variable and what would be valid when a value is wrong.


def switch(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value not in ("", "0", "1", "true", "false", "yes", "no"):
        raise ConfigError(f"{name}={value!r}: use true or false")
    return value in ("1", "true", "yes")


def required(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set: set it to {what}")
    return value


def whole_number(name: str, raw: str) -> int:
    # ASCII digits only: str.isdigit() is also True for '²', which int() refuses.
    if not (raw.isascii() and raw.isdigit()):
        raise ConfigError(f"{name}={raw!r}: use a whole number")
    return int(raw)


def number(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise ConfigError(f"{name}={raw!r}: use a whole number from {low} to {high}")
    return int(raw)


def base_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name}={value!r} is not a base URL: use e.g. https://api.mypurecloud.ie")
    if parts.query or parts.fragment:
        raise ConfigError(f"{name} must not carry a query or fragment")
    return value.rstrip("/")


BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def bucket(env: Mapping[str, str], name: str, what: str) -> str:
    value = required(env, name, what)
    # [a-z0-9] by character class, not str.islower()/isdigit(), which also accept 'ü', 'ß' or '²'.
    if not BUCKET_NAME.fullmatch(value) or ".." in value:
        raise ConfigError(
            f"{name}={value!r} is not a valid S3 bucket name: use 3-63 lowercase letters, digits, '.' or '-'"
        )
    return value
