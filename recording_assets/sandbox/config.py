"""Sandbox settings and the permission vocabulary it enforces."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from recording_assets.sandbox.dialect import DIALECTS, Dialect
from recording_assets.sandbox.faults import Faults
from recording_assets.sandbox.flags import option
from recording_assets.sandbox.hostile import ITEM_SCENARIOS, Hostile

# Permission groups are ordered tuples: a 403 message lists them in the documented order.
ANALYTICS_VIEW = ("analytics:conversationDetail:view", "analytics:agentConversationDetail:view")
RECORDING_VIEW = (
    "recording:recording:view",
    "recording:recordingSegment:view",
    "recording:snippetRecording:view",
    "recording:screenRecording:view",
)
VIEW_SENSITIVE = "recording:recording:viewSensitiveData"
PAUSE_OTHERS = "conversation:recording:pauseOthers"
COMMUNICATION_VIEW = (
    "conversation:communication:view"  # GET /api/v2/conversations/{id} (docs/genesys-api.md §12)
)
PARTICIPANT_RECORD = (
    "conversation:participant:wrapup",
    "conversation:call:record",
    "conversation:communication:disconnect",
)
RESTORE = "recording:recording:restore"
SCREEN_RESTORE = "recording:screenRecording:restore"
EDIT_RETENTION = "recording:recording:editRetention"
PROTECT, UNPROTECT = "recording:deletionProtection:apply", "recording:deletionProtection:revoke"
ORPHAN_VIEW = "recording:orphan:view"
ANNOTATION_VIEW = "recording:annotation:view"
OAUTH_CLIENT_VIEW = "oauth:client:view"
ROLE_VIEW = "authorization:role:view"
GDPR_VIEW = "gdpr:request:view"  # GeneralDataProtectionRegulationApi GET requests (SDK docs)
QUEUE_VIEW = "routing:queue:view"  # GET /api/v2/routing/queues (SDK docs)
WRAPUP_VIEW = "routing:wrapupCode:view"  # GET /api/v2/routing/wrapupcodes (SDK docs)

# What a client holds when SandboxConfig.permissions is None: everything the sandbox checks.
ALL_PERMISSIONS = frozenset(
    (
        *ANALYTICS_VIEW,
        *RECORDING_VIEW,
        *PARTICIPANT_RECORD,
        VIEW_SENSITIVE,
        PAUSE_OTHERS,
        COMMUNICATION_VIEW,
        RESTORE,
        SCREEN_RESTORE,
        EDIT_RETENTION,
        PROTECT,
        UNPROTECT,
        ORPHAN_VIEW,
        ANNOTATION_VIEW,
        OAUTH_CLIENT_VIEW,
        ROLE_VIEW,
        GDPR_VIEW,
        QUEUE_VIEW,
        WRAPUP_VIEW,
    )
)


@dataclass(frozen=True)
class SandboxConfig:
    """Everything that shapes one sandbox; the same config always yields the same org and bytes.

    The fields are also the flags of ``recording-assets sandbox`` (``sandbox.flags``), but for those
    marked ``cli=False``."""

    host: str = option("127.0.0.1", "bind address (loopback unless --allow-remote)")
    port: int = option(0, "TCP port (0 = any free port)", cli_default=8765)
    allow_remote: bool = option(False, "allow binding a non-loopback address")
    seed: int = 7
    conversations_per_day: int = 600
    live_calls: int = 5  # extra voice calls in progress at the clock's time when the org is built
    client_id: str = "sandbox-client"
    client_secret: str = "sandbox-secret"
    token_ttl_s: int = 86400
    rate_limit_per_minute: int = option(
        300, "requests per minute per token (0 = unlimited)", flag="--rate-limit"
    )
    url_ttl_s: int = option(3600, "presigned URL lifetime, seconds")  # real Genesys: 120..3600
    media_scale: float = 0.02  # shrinks realistic media sizes so a day stays small
    giant_recording_bytes: int = 0  # >0: first AVAILABLE voice recording of each day has exactly this size
    permissions: frozenset[str] | None = option(  # None = ALL_PERMISSIONS
        None, "grant only these permissions (repeatable; default: all)", flag="--permission", metavar="P"
    )
    batch_latency_s: float = 2.0
    job_latency_s: float = 3.0
    transcode_polls: int = 1  # 202 answers before a non-native formatId is ready
    data_lag_s: float = 3600.0  # analytics jobs only see conversations ended before now - data_lag_s
    media_bandwidth_bytes_per_s: int = option(
        0, "bytes per second shared by all media downloads (0 = unlimited)", flag="--media-bandwidth"
    )
    faults: Faults = field(default_factory=Faults)
    restore_latency_s: float = 5.0  # ARCHIVED -> RESTORING -> RESTORED after this long
    # Legal holds other parties placed (sandbox/retention.py): conversations held elsewhere in the org
    # (they count against its 1,000-conversation cap), and the share of each day's conversations held.
    holds_elsewhere: int = 100
    legal_hold_per_mille: int = 10
    # Divisions (sandbox/divisions.py): how many the org has (the first is Home), in how many the client's
    # role is granted (None: all, each listed), whether it is granted as `*` (all divisions), and how
    # GET /api/v2/authorization/divisions answers: "ok", "malformed" or "forbidden".
    divisions: int = option(1, "divisions in the org (conversations are spread over them)")
    covered_divisions: int | None = option(None, "grant the client's role in only the first N divisions")
    wildcard_grant: bool = option(False, "grant the client's role in all divisions as '*'")
    division_listing: str = option("ok", "how the divisions list answers: ok, malformed, forbidden")
    # Names (routes_names.py): whether a deleted user is left out of GET /api/v2/users (the default state
    # filter) or listed with state "deleted", and whether one queue's name arrives as a number.
    deleted_users: str = option("absent", "how a deleted user is answered by id: absent or listed")
    malformed_names: bool = option(False, "one queue's name arrives as a number")
    orphans_per_day: int = 2  # orphan recordings (recordings without a conversation) created each day
    # readings of what the documentation leaves open; not (yet) on the command line
    dialect: Dialect = option(
        Dialect(),
        "how the org reads what the documentation leaves open: a name (" + ", ".join(DIALECTS) + ") or "
        "field=value,... (see docs/genesys-behaviours.md)",
        metavar="DIALECT",
        parse=Dialect.parse,
    )
    # untrusted input the org sends (sandbox/hostile.py); the default sends none
    hostile: Hostile = option(
        Hostile(),
        "hostile answers to play: 'items' (one conversation a day per scenario: "
        + ", ".join(ITEM_SCENARIOS)
        + "), switches (repeating_pages, understated_total, cycling_cursor) and field=value "
        "(html_token_answers, token_expires_in, canary_url, trickle_interval_s, gzip_bomb_bytes), "
        "comma-separated",
        metavar="HOSTILE",
        parse=Hostile.parse,
    )
    # https instead of http (uvicorn's TLS): a PEM certificate chain and its key
    tls_certfile: str | None = option(None, "serve https with this PEM certificate (with --tls-keyfile)")
    tls_keyfile: str | None = option(None, "the PEM private key of --tls-certfile")

    def __post_init__(self) -> None:
        if self.permissions is not None and not isinstance(self.permissions, frozenset):
            object.__setattr__(self, "permissions", frozenset(self.permissions))
        if self.conversations_per_day < 0 or self.conversations_per_day >= 1 << 24:
            raise ValueError("conversations_per_day must be within 0..16,777,215")
        if not 0 <= self.live_calls < 256:
            raise ValueError("live_calls must be within 0..255")
        if self.media_scale <= 0:
            raise ValueError("media_scale must be positive")
        if self.url_ttl_s <= 0 or self.token_ttl_s <= 0:
            raise ValueError("url_ttl_s and token_ttl_s must be positive")
        if self.rate_limit_per_minute < 0 or self.transcode_polls < 0 or self.giant_recording_bytes < 0:
            raise ValueError("rate_limit_per_minute, transcode_polls and giant_recording_bytes must be >= 0")
        if not 0 <= self.holds_elsewhere <= 1000 or not 0 <= self.legal_hold_per_mille <= 1000:
            raise ValueError("holds_elsewhere and legal_hold_per_mille must be within 0..1000")
        if not 1 <= self.divisions <= 1000:
            raise ValueError("divisions must be within 1..1000")
        if self.covered_divisions is not None and not 0 <= self.covered_divisions <= self.divisions:
            raise ValueError("covered_divisions must be within 0..divisions")
        if self.division_listing not in ("ok", "malformed", "forbidden"):
            raise ValueError("division_listing must be one of ok, malformed, forbidden")
        if self.deleted_users not in ("absent", "listed"):
            raise ValueError("deleted_users must be absent or listed")
        if self.media_bandwidth_bytes_per_s < 0:
            raise ValueError("media_bandwidth_bytes_per_s must be >= 0")
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ValueError("tls_certfile and tls_keyfile go together")

    @property
    def granted_permissions(self) -> frozenset[str]:
        return ALL_PERMISSIONS if self.permissions is None else self.permissions


class RemoteBindRefused(ValueError):
    """The config asks for a non-loopback address without ``allow_remote=True``."""


def check_bind_allowed(config: SandboxConfig) -> None:
    """The sandbox hands out tokens for a fake org with no real security: keep it on loopback by default."""
    if config.allow_remote or is_loopback(config.host):
        return
    raise RemoteBindRefused(
        f"refusing to bind the sandbox to non-loopback host {config.host!r}: it accepts a well-known "
        "client secret and serves synthetic recordings to anyone who can reach it. "
        "Pass allow_remote=True (CLI: --allow-remote) if you really mean it."
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
