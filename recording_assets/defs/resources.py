"""Dagster resources: the Genesys Cloud client, S3 (dagster-aws), the archive and webhooks.

Built when the code location loads, from ``settings.Settings``. Secrets reach resources only through
``dg.EnvVar`` and are resolved when a run starts; nothing here reads the environment itself. The archive's
knobs are ``ArchiveConfig``'s: the resource only carries a run's overrides of them (the Launchpad's), and
its ``config()`` validates them with the same rules.
"""

from typing import Any, Literal

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field, PrivateAttr

from recording_assets.archive.conditional import honours_if_none_match
from recording_assets.archive.encryption import Encryption
from recording_assets.archive.links import ObjectLinks
from recording_assets.archive.store import ArchiveStore
from recording_assets.clock import Clock
from recording_assets.defs.s3 import PooledS3Resource, pool_for
from recording_assets.genesys import GenesysClient
from recording_assets.genesys.budget import DOCUMENTED, MARGIN, BudgetPolicy
from recording_assets.genesys.netguard import MEDIA_ALLOWANCE_S
from recording_assets.pipeline.config import ArchiveConfig, InvalidConfigError
from recording_assets.settings import (
    API_BASE_URL,
    ARCHIVE_BUCKET,
    AWS_ENDPOINT_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    LOGIN_BASE_URL,
    MANIFEST_BUCKET,
    REGION,
    SLACK_WEBHOOK_URLS,
    TEAMS_WEBHOOK_URLS,
    WEBHOOK_SECRET,
    WEBHOOK_URLS,
    ConfigError,
    EncryptionSettings,
    GenesysSettings,
    Settings,
    StorageSettings,
    WebhookSettings,
    archive_config,
    environment,
    environment_connection,
    genesys_endpoints,
    webhook_urls,
)
from recording_assets.settings import (
    AWS_ENDPOINT_URL as AWS_ENDPOINT_VARIABLE,
)
from recording_assets.webhooks.chat import SLACK, TEAMS
from recording_assets.webhooks.delivery import SIGNED

ORG_REQUESTS_PER_MINUTE = 300  # per OAuth token (docs/genesys-api.md §7)


class GenesysCloudResource(dg.ConfigurableResource):
    """A Genesys Cloud org reached with OAuth client credentials."""

    client_id: str = Field(description="OAuth client id (Client Credentials grant)")
    client_secret: str = Field(description="OAuth client secret; bind with dg.EnvVar")
    region: str | None = Field(default=None, description="e.g. eu-west-1 or mypurecloud.ie")
    api_base_url: str | None = Field(default=None, description="override for a sandbox or proxy")
    login_base_url: str | None = Field(default=None, description="override for the OAuth host")
    org_requests_per_minute: float | None = Field(
        default=None,
        gt=0,
        description="the OAuth token's request budget, never exceeded; default: what Genesys' "
        "inin-ratelimit-allowed header says (300/minute assumed until the first answer)",
    )
    requests_per_minute: float | None = Field(
        default=None,
        gt=0,
        description="a cap on this run's rate; default: 90% of the limit the headers state, times the "
        "share of it their count shows this run spends (it starts at 1 / the genesys_api pool limit)",
    )
    timeout_s: float = Field(default=60.0, description="timeout of every HTTP call")
    media_allowance_s: float = Field(
        default=MEDIA_ALLOWANCE_S,
        gt=0,
        le=3600,
        description="seconds every media GET may take beyond its size at 64 KiB/s; a host that trickles "
        "fails after it (the recording is failed, and the next run tries again)",
    )

    def settings(self) -> GenesysSettings:
        """The connection these fields describe, checked by the settings contract. An endpoint field left
        unset is the environment's: run config for this resource (the Launchpad) replaces the values bound
        at load, so they are looked up again here, through ``settings`` like every variable."""
        given = {
            CLIENT_ID: self.client_id,
            CLIENT_SECRET: self.client_secret,
            REGION: self.region,
            API_BASE_URL: self.api_base_url,
            LOGIN_BASE_URL: self.login_base_url,
        }
        return GenesysSettings.from_env({**genesys_endpoints(), **{n: v for n, v in given.items() if v}})

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # When a run starts, before any request: the credentials and hosts are the deployment's. A run config
        # that points them elsewhere (or at another variable) would send the OAuth secret to that host.
        bound = environment_connection()
        if bound is not None:
            ours = self.settings()
            refuse_overrides(
                "genesys",
                {
                    "client_id": ours.client_id == bound.client_id,
                    "client_secret": ours.client_secret == bound.client_secret,
                    "api_base_url / region": ours.api_base_url == bound.api_base_url,
                    "login_base_url / region": ours.login_base_url == bound.login_base_url,
                },
            )

    def run_budget(self, concurrent_runs: int = 1) -> float:
        """Requests per minute a run starts at when ``concurrent_runs`` runs may share the token (the
        answers' headers then correct it: ``budget_policy``)."""
        start = self.budget_policy(concurrent_runs)
        assert start.limit_per_minute is not None
        rate = start.margin * start.limit_per_minute * start.share
        return min(rate, start.run_cap_per_minute or rate)

    def budget_policy(self, concurrent_runs: int = 1) -> BudgetPolicy:
        """The run's budget: the limit stated in run config, else the documented one, until the answers
        say what it is; shared with ``concurrent_runs`` runs until their counts say how it is shared."""
        stated = self.org_requests_per_minute
        return BudgetPolicy(
            limit_per_minute=stated or ORG_REQUESTS_PER_MINUTE,
            limit_source="run config (org_requests_per_minute)" if stated else DOCUMENTED,
            share=1 / max(1, concurrent_runs),
            org_cap_per_minute=stated,
            run_cap_per_minute=self.requests_per_minute,
            margin=MARGIN,
        )

    def client(self, *, clock: Clock | None = None, concurrent_runs: int = 1) -> GenesysClient:
        """A new client; use it inside one event loop (``async with``)."""
        return GenesysClient.from_settings(
            self.settings(),
            clock=clock,
            budget=self.budget_policy(concurrent_runs),
            timeout_s=self.timeout_s,
            media_allowance_s=self.media_allowance_s,
        )


class ArchiveResource(dg.ConfigurableResource):
    """Where and how recordings are archived, over the dagster-aws S3 resource.

    The knob fields are overrides of ``ArchiveConfig`` (its docstring and comments say what each does):
    ``None`` keeps the configured value. ``build_resources`` sets them from the environment's configuration,
    so the Launchpad shows what a run will use."""

    s3: dg.ResourceDependency[S3Resource]
    archive_bucket: str = Field(description="bucket for recordings (RECORDING_ARCHIVE_BUCKET)")
    manifest_bucket: str = Field(
        description="bucket for manifests, metadata, outcomes and audit (RECORDING_MANIFEST_BUCKET)"
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
    # Overrides of ArchiveConfig's knobs.
    key_prefix: str | None = Field(
        default=None, description="prefix inside the archive bucket, empty or ending in '/'"
    )
    format_id: str | None = Field(
        default=None,
        description="unset keeps each recording's original codec (batch, cheapest). WAV, MP3, OGG_OPUS or "
        "WEBM transcodes audio through the single-recording endpoint: at least one more request per recording",
    )
    concurrency: int | None = Field(default=None, description="parallel downloads and uploads (1-64)")
    media_types: list[str] | None = Field(default=None, description="limit discovery to these media types")
    failure_rate_warn: float | None = Field(
        default=None, description="warn when failed+quarantined exceed this share (0-1)"
    )
    sensitive_check: str | None = Field(
        default=None,
        description="auto, lookup or trust: how to find recordings a batch leaves out silently (sensitive data without "
        "recording:recording:viewSensitiveData): lookup = one recordingmetadata request per conversation, exact; "
        "trust = batch items only, cheap; auto = trust when preflight confirms the permission, else lookup",
    )
    force_quarantined: bool | None = Field(
        default=None,
        description="download again recordings that gave the same bad bytes twice (kept once under quarantine/)",
    )
    restore_archived: bool | None = Field(
        default=None,
        description="restore recordings Genesys archived (two requests each: its dates, then the restore) and "
        "archive them on a later run",
    )
    restore_cap: int | None = Field(
        default=None, description="restorations one day's run may request at most"
    )
    restore_days: int | None = Field(
        default=None, description="days Genesys keeps a restored recording (1-365)"
    )
    protect_until_archived: bool | None = Field(
        default=None,
        description="the expiry radar protects the conversations it finds at risk (a legal hold, 1,000 per org) "
        "and lifts its own holds once archived",
    )
    protection_reserve: int | None = Field(
        default=None, description="of the org's 1,000 protected conversations, those left to its legal holds"
    )
    annotations: bool | None = Field(
        default=None, description="store annotations in the manifest: one request per archived recording"
    )
    expiry_radar_days: int | None = Field(
        default=None, description="the expiry radar's horizon in days (1-365)"
    )
    radar_max_pages: int | None = Field(
        default=None, description="retention-query pages (500 each) the expiry radar reads at most a run"
    )
    _s3_client = PrivateAttr(default=None)
    _honours_if_none_match: dict = PrivateAttr(default_factory=dict)

    @classmethod
    def knob_values(cls, config: ArchiveConfig) -> dict[str, Any]:
        """``config``'s knobs that are fields here, as field values (what ``build_resources`` sets)."""
        values = {n: v for n, v in config.knobs().items() if v is not None and n in cls.model_fields}
        if "media_types" in values:
            values["media_types"] = list(values["media_types"])
        return values

    def config(self) -> ArchiveConfig:
        """The run's archive configuration: the environment's (``ArchiveConfig``'s defaults and the variables
        set, the knobs that are no field here among them) with this resource's values."""
        base = archive_config()  # a knob without a field (quarantine_evidence_kib) is the deployment's alone
        try:
            overrides = {name: getattr(self, name, None) for name in ArchiveConfig().knobs()}
            return base.overridden(overrides)
        except InvalidConfigError as exc:
            raise ConfigError(f"archive resource: {exc}") from None

    def storage_settings(self) -> StorageSettings:
        """The buckets and the S3 endpoint bound here, checked by the settings contract."""
        given = {ARCHIVE_BUCKET: self.archive_bucket, MANIFEST_BUCKET: self.manifest_bucket}
        endpoint = getattr(self.s3, "endpoint_url", None)
        return StorageSettings.from_env({**given, AWS_ENDPOINT_URL: endpoint} if endpoint else given)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # When a run starts, before any step talks to Genesys: a malformed bucket name or knob fails the run
        # here, naming it, instead of failing late with a botocore error.
        storage = self.storage_settings()
        bound = StorageSettings.from_env() if _binds(ARCHIVE_BUCKET, MANIFEST_BUCKET) else None
        if bound is not None:
            refuse_overrides(
                "archive",
                {
                    "archive_bucket": storage.archive_bucket == bound.archive_bucket,
                    "manifest_bucket": storage.manifest_bucket == bound.manifest_bucket,
                },
            )
        if _binds(AWS_ENDPOINT_VARIABLE):
            refuse_overrides(
                "s3", {"endpoint_url": storage.endpoint_url == StorageSettings.endpoint_from_env()}
            )
        self.encryption()
        self.config()

    def encryption(self) -> Encryption:
        """RECORDING_SSE / RECORDING_KMS_KEY_ID: the deployment's alone (not a field, so no run config)."""
        settings = EncryptionSettings.from_env()
        if settings.sse == "aws:kms" and settings.kms_key_id:
            return Encryption.kms(settings.kms_key_id)
        return Encryption.aes256()

    def archive_store(self) -> ArchiveStore:
        return self._store(self.archive_bucket)

    def manifest_store(self) -> ArchiveStore:
        return self._store(self.manifest_bucket)

    def links(self) -> ObjectLinks:
        """Browser links for this resource's ``s3://`` URIs (the console's, or the S3-compatible server's)."""
        storage = self.storage_settings()
        return ObjectLinks(endpoint_url=storage.endpoint_url, region=storage.region_name)

    def s3_client(self):
        """The S3 client itself, for what a store does not do (an erasure deleting every version)."""
        return self._client()

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
                self._client(), bucket, encryption=self.encryption(), prefix=self.config().key_prefix
            )
        return self._honours_if_none_match[bucket]

    def _client(self):
        # One boto3 client for both buckets: each get_client() builds a new session that loads botocore's
        # S3 service model again (~12 MB apiece). boto3 clients are thread-safe. Its connection pool must
        # hold every call in flight, or calls wait for a connection (botocore's default pool is 10).
        if self._s3_client is None:
            if isinstance(self.s3, PooledS3Resource):
                self._s3_client = self.s3.get_client(at_least=pool_for(self.config().concurrency))
            else:
                self._s3_client = self.s3.get_client()
        return self._s3_client


class WebhookResource(dg.ConfigurableResource):
    # Bound as dg.EnvVar, resolved when a run or tick starts: a URL may carry the receiver's token, and a
    # plain value would be shown in the job snapshot and the Launchpad.
    endpoints: str | None = Field(
        default=None,
        description="RECORDING_WEBHOOK_URLS: endpoints to POST events to, comma-separated; bind with dg.EnvVar",
    )
    secret: str | None = Field(
        default=None, description="Standard Webhooks secret (whsec_...); bind with dg.EnvVar"
    )
    slack_endpoints: str | None = Field(
        default=None,
        description="RECORDING_SLACK_WEBHOOK_URLS: Slack incoming webhooks that get the alert events as "
        "chat messages, comma-separated; bind with dg.EnvVar",
    )
    teams_endpoints: str | None = Field(
        default=None,
        description="RECORDING_TEAMS_WEBHOOK_URLS: Microsoft Teams webhooks that get the alert events as "
        "Adaptive Cards, comma-separated; bind with dg.EnvVar",
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

    @property
    def urls(self) -> tuple[str, ...]:
        """The signed endpoints: every event goes to them (the chat ones get alerts only)."""
        return webhook_urls(self.endpoints or "")

    def endpoints_of(self, kind: str) -> tuple[str, ...]:
        """The URLs of one kind: ``SIGNED`` (``urls``), ``chat.SLACK`` or ``chat.TEAMS``."""
        raw = {SIGNED: self.endpoints, SLACK: self.slack_endpoints, TEAMS: self.teams_endpoints}[kind]
        variable = {SIGNED: WEBHOOK_URLS, SLACK: SLACK_WEBHOOK_URLS, TEAMS: TEAMS_WEBHOOK_URLS}[kind]
        return webhook_urls(raw or "", variable)

    def alert_endpoints(self) -> list[tuple[str, int, str]]:
        """(kind, position in its variable, URL) of every endpoint an alert event goes to: the signed ones
        when the secret is set, and every Slack and Teams one."""
        kinds = ((SIGNED,) if self.secret else ()) + (SLACK, TEAMS)
        return [(kind, index, url) for kind in kinds for index, url in enumerate(self.endpoints_of(kind))]

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Where events go and what signs them are the deployment's: a run config that adds a URL would
        # get events signed with the real secret; one that changes the secret would sign forgeries.
        bound = WebhookSettings.from_env()
        checks = {}
        if bound.urls:
            checks["endpoints"] = self.urls == bound.urls
        if bound.secret_set:
            checks["secret"] = self.secret == environment().get(WEBHOOK_SECRET, "").strip()
        # A chat URL is the receiver's credential and a message needs no secret, so these are always the
        # environment's: none unless the variable is set.
        checks["slack_endpoints"] = self.endpoints_of(SLACK) == bound.slack_urls
        checks["teams_endpoints"] = self.endpoints_of(TEAMS) == bound.teams_urls
        refuse_overrides("webhooks", checks)


def refuse_overrides(resource: str, same_as_environment: dict[str, bool]) -> None:
    """Fail the run, before anything is sent, when a field the environment binds was changed (run config
    from the Launchpad, or another variable named there). The message names the fields, never a value."""
    changed = [name for name, same in same_as_environment.items() if not same]
    if changed:
        raise ConfigError(
            f"resource {resource!r}: {', '.join(changed)} come from the environment only and cannot be changed "
            "by run config; remove them from the run's config (set the variables in the deployment instead)"
        )


def _binds(*names: str) -> bool:
    env = environment()
    return all(env.get(name, "").strip() for name in names)


def build_resources(settings: Settings) -> dict:
    # Credentials come from botocore's own chain (environment, profile, instance role).
    s3 = PooledS3Resource(region_name=settings.aws_region, endpoint_url=settings.s3_endpoint_url)
    endpoints = settings.genesys_endpoints
    return {
        "genesys": GenesysCloudResource(
            client_id=dg.EnvVar(CLIENT_ID),
            client_secret=dg.EnvVar(CLIENT_SECRET),
            region=endpoints.get(REGION),
            api_base_url=endpoints.get(API_BASE_URL),
            login_base_url=endpoints.get(LOGIN_BASE_URL),
        ),
        "s3": s3,
        "archive": ArchiveResource(
            s3=s3,
            archive_bucket=dg.EnvVar(ARCHIVE_BUCKET),
            manifest_bucket=dg.EnvVar(MANIFEST_BUCKET),
            **ArchiveResource.knob_values(settings.archive),
        ),
        "webhooks": WebhookResource(
            endpoints=dg.EnvVar(WEBHOOK_URLS) if settings.webhooks.urls else None,
            secret=dg.EnvVar(WEBHOOK_SECRET) if settings.webhooks.secret_set else None,
            per_recording=settings.webhooks.per_recording,
            slack_endpoints=dg.EnvVar(SLACK_WEBHOOK_URLS) if settings.webhooks.slack_urls else None,
            teams_endpoints=dg.EnvVar(TEAMS_WEBHOOK_URLS) if settings.webhooks.teams_urls else None,
        ),
    }


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(resources=build_resources(Settings.from_env()))
