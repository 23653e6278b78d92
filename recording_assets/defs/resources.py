"""Dagster resources: the Genesys Cloud client, S3 (dagster-aws), the archive settings and webhooks.

Secrets reach resources only through ``dg.EnvVar`` and are resolved when a run starts; values left
unset here fall back to the environment contract in ``recording_assets.settings`` at that moment.
"""

from collections.abc import Mapping
from typing import Literal

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field, PrivateAttr

from recording_assets.allocator import tune_for_run
from recording_assets.archive.conditional import honours_if_none_match
from recording_assets.archive.encryption import Encryption
from recording_assets.archive.store import ArchiveStore
from recording_assets.clock import Clock
from recording_assets.defs.s3 import PooledS3Resource, pool_for
from recording_assets.genesys import GenesysClient
from recording_assets.pipeline.retention_options import RetentionOptions
from recording_assets.settings import (
    API_BASE_URL,
    ARCHIVE_BUCKET,
    CLIENT_ID,
    CLIENT_SECRET,
    LOGIN_BASE_URL,
    MANIFEST_BUCKET,
    REGION,
    WEBHOOK_SECRET,
    ArchivePolicy,
    ConfigError,
    GenesysSettings,
    StorageSettings,
    WebhookSettings,
    aws_region,
    environment,
)

ORG_REQUESTS_PER_MINUTE = 300  # per OAuth token (genesys-api.md §7)


class GenesysCloudResource(dg.ConfigurableResource):
    """A Genesys Cloud org reached with OAuth client credentials."""

    client_id: str = Field(description="OAuth client id (Client Credentials grant)")
    client_secret: str = Field(description="OAuth client secret; bind with dg.EnvVar")
    region: str | None = Field(default=None, description="e.g. eu-west-1 or mypurecloud.ie")
    api_base_url: str | None = Field(default=None, description="override for a sandbox or proxy")
    login_base_url: str | None = Field(default=None, description="override for the OAuth host")
    org_requests_per_minute: float = Field(
        default=ORG_REQUESTS_PER_MINUTE,
        description="the OAuth token's request budget (300/minute by default)",
    )
    requests_per_minute: float | None = Field(
        default=None,
        description="this run's budget; default: 90% of the org budget divided by the genesys_api pool limit",
    )
    timeout_s: float = Field(default=60.0, description="timeout of every HTTP call")

    def settings(self) -> GenesysSettings:
        env = dict(environment())
        for name, value in (
            (CLIENT_ID, self.client_id),
            (CLIENT_SECRET, self.client_secret),
            (REGION, self.region),
            (API_BASE_URL, self.api_base_url),
            (LOGIN_BASE_URL, self.login_base_url),
        ):
            if value:
                env[name] = value
        return GenesysSettings.from_env(env)

    def run_budget(self, concurrent_runs: int = 1) -> float:
        """Requests per minute for one run when ``concurrent_runs`` runs share the token."""
        if self.requests_per_minute:
            return self.requests_per_minute
        return self.org_requests_per_minute * 0.9 / max(1, concurrent_runs)

    def client(self, *, clock: Clock | None = None, concurrent_runs: int = 1) -> GenesysClient:
        """A new client; use it inside one event loop (``async with``)."""
        return GenesysClient.from_settings(
            self.settings(),
            clock=clock,
            requests_per_minute=self.run_budget(concurrent_runs),
            timeout_s=self.timeout_s,
        )


class ArchiveResource(dg.ConfigurableResource):
    """Where and how recordings are archived, over the dagster-aws S3 resource."""

    s3: dg.ResourceDependency[S3Resource]
    archive_bucket: str = Field(description="bucket for recordings (RECORDING_ARCHIVE_BUCKET)")
    manifest_bucket: str = Field(
        description="bucket for manifests, metadata, outcomes and audit (RECORDING_MANIFEST_BUCKET)"
    )
    key_prefix: str = Field(
        default="", description="prefix inside the archive bucket, empty or ending in '/'"
    )
    sse: str = Field(default="AES256", description="server-side encryption: AES256 or aws:kms")
    kms_key_id: str | None = Field(default=None, description="KMS key id or ARN when sse is aws:kms")
    format_id: str | None = Field(
        default=None,
        description="None keeps each recording's original codec (batch, cheapest). WAV, MP3, OGG_OPUS or "
        "WEBM transcodes audio through the single-recording endpoint: at least one more request per recording",
    )
    concurrency: int = Field(default=8, ge=1, le=64, description="parallel downloads and uploads")
    media_types: list[str] | None = Field(default=None, description="limit discovery to these media types")
    failure_rate_warn: float = Field(
        default=0.05, ge=0, le=1, description="warn when failed+quarantined exceed this share"
    )
    sensitive_check: Literal["auto", "lookup", "trust"] = Field(
        default="auto",
        description="how to find recordings a batch leaves out silently (sensitive data without "
        "recording:recording:viewSensitiveData): lookup = one recordingmetadata request per conversation, exact; "
        "trust = batch items only, cheap; auto = trust when preflight confirms the permission, else lookup",
    )
    force_quarantined: bool = Field(
        default=False,
        description="download again recordings that gave the same bad bytes twice (kept once under quarantine/)",
    )
    conditional_writes: Literal["probe", "trust", "head-first"] = Field(
        default="probe",
        description="create-only writes rely on S3 refusing If-None-Match: * (412). probe = ask each bucket "
        "once per run with a throw-away object, HEAD first only if it ignores the header; trust = AWS S3 "
        "and stores known to honour it (no probe); head-first = always HEAD before writing",
    )
    verify_by_read_back: bool = Field(
        default=False,
        description="hash every stored object again by reading it back, for S3-compatible stores that echo "
        "checksums without checking them (AWS checks them: leave off)",
    )
    restore_archived: bool = Field(
        default=False,
        description="restore recordings Genesys archived (one request each) and archive them on a later run",
    )
    restore_cap: int = Field(default=100, ge=0, description="restorations one day's run may request at most")
    restore_days: int = Field(default=7, ge=1, le=365, description="days Genesys keeps a restored recording")
    protect_until_archived: bool = Field(
        default=False, description="protect the day's conversations from retention deletes until archived"
    )
    annotations: bool = Field(
        default=False, description="store annotations in the manifest: one request per archived recording"
    )
    expiry_radar_days: int = Field(default=14, ge=1, le=365, description="the expiry radar's horizon in days")
    _s3_client = PrivateAttr(default=None)
    _honours_if_none_match: dict = PrivateAttr(default_factory=dict)

    def retention_options(self) -> RetentionOptions:
        return RetentionOptions(
            restore_archived=self.restore_archived,
            restore_cap=self.restore_cap,
            restore_days=self.restore_days,
            protect_until_archived=self.protect_until_archived,
            annotations=self.annotations,
        )

    def preflight_permissions(self) -> tuple[str, ...]:
        """Permissions the preflight looks for in the client's roles, beyond the recording family's."""
        screen = {"screen", "screenshare"} & set(self.media_types or ())
        extra = ("recording:screenRecording:view",) if screen else ()
        return self.retention_options().extra_permissions + extra

    def storage_settings(self) -> StorageSettings:
        """The buckets bound here and the S3 endpoint of the environment, checked by the env contract."""
        env = {**environment(), ARCHIVE_BUCKET: self.archive_bucket, MANIFEST_BUCKET: self.manifest_bucket}
        return StorageSettings.from_env(env)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # When a run starts, before any step talks to Genesys: a malformed bucket name or AWS_ENDPOINT_URL
        # fails the run here, naming the variable, instead of failing late with a botocore error.
        self.storage_settings()
        tune_for_run()  # freed memory goes back to the system (see allocator.py)

    def encryption(self) -> Encryption:
        if self.sse == "AES256":
            return Encryption.aes256()
        if self.sse == "aws:kms":
            if not self.kms_key_id:
                raise ConfigError("sse is aws:kms but kms_key_id is not set: set the KMS key id or ARN")
            return Encryption.kms(self.kms_key_id)
        raise ConfigError(f"sse={self.sse!r} is not supported: use AES256 or aws:kms")

    def archive_store(self) -> ArchiveStore:
        return self._store(self.archive_bucket)

    def manifest_store(self) -> ArchiveStore:
        return self._store(self.manifest_bucket)

    def _store(self, bucket: str) -> ArchiveStore:
        return ArchiveStore(
            self._client(),
            bucket=bucket,
            encryption=self.encryption(),
            conditional_writes=self._conditional_writes(bucket),
            verify_by_read_back=self.verify_by_read_back,
        )

    def _conditional_writes(self, bucket: str) -> bool:
        if self.conditional_writes != "probe":
            return self.conditional_writes == "trust"
        if bucket not in self._honours_if_none_match:  # once per bucket and run: three small requests
            self._honours_if_none_match[bucket] = honours_if_none_match(
                self._client(), bucket, encryption=self.encryption(), prefix=self.key_prefix
            )
        return self._honours_if_none_match[bucket]

    def _client(self):
        # One boto3 client for both buckets: each get_client() builds a new session that loads botocore's
        # S3 service model again (~12 MB apiece). boto3 clients are thread-safe. Its connection pool must
        # hold every call in flight, or calls wait for a connection (botocore's default pool is 10).
        if self._s3_client is None:
            if isinstance(self.s3, PooledS3Resource):
                self._s3_client = self.s3.get_client(at_least=pool_for(self.concurrency))
            else:
                self._s3_client = self.s3.get_client()
        return self._s3_client


class WebhookResource(dg.ConfigurableResource):
    urls: list[str] = Field(default_factory=list, description="endpoints to POST events to")
    secret: str | None = Field(
        default=None, description="Standard Webhooks secret (whsec_...); bind with dg.EnvVar"
    )
    per_recording: bool = Field(
        default=False, description="also send one recording.archived event per recording"
    )
    timeout_s: float = Field(default=10.0, gt=0, le=30, description="the longest one POST may take")
    tick_budget_s: float = Field(
        default=30.0, ge=1, le=45, description="time a sensor tick spends delivering (a tick may take 60 s)"
    )
    give_up_after_hours: float = Field(
        default=72.0, gt=0, description="an event undelivered this long after queueing is dropped, loudly"
    )


def build_resources(environ: Mapping[str, str] | None = None) -> dict:
    webhooks = WebhookSettings.from_env(environ)
    policy = ArchivePolicy.from_env(environ)
    # The endpoint (AWS_ENDPOINT_URL) and credentials come from botocore's own environment chain.
    s3 = PooledS3Resource(region_name=aws_region(environ))
    return {
        "genesys": GenesysCloudResource(
            client_id=dg.EnvVar(CLIENT_ID),
            client_secret=dg.EnvVar(CLIENT_SECRET),
        ),
        "s3": s3,
        "archive": ArchiveResource(
            s3=s3,
            archive_bucket=dg.EnvVar(ARCHIVE_BUCKET),
            manifest_bucket=dg.EnvVar(MANIFEST_BUCKET),
            sensitive_check=policy.sensitive_check,
            force_quarantined=policy.force_quarantined,
            restore_archived=policy.restore_archived,
            restore_cap=policy.restore_cap,
            protect_until_archived=policy.protect_until_archived,
            annotations=policy.annotations,
            expiry_radar_days=policy.expiry_radar_days,
        ),
        "webhooks": WebhookResource(
            urls=list(webhooks.urls),
            secret=dg.EnvVar(WEBHOOK_SECRET) if webhooks.secret_set else None,
            per_recording=webhooks.per_recording,
        ),
    }
