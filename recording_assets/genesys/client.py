"""``GenesysClient``: the one object the rest of the project uses to talk to Genesys Cloud."""

from __future__ import annotations

import ssl
from collections.abc import Callable

from recording_assets.clock import Clock, SystemClock
from recording_assets.genesys.analytics import Analytics
from recording_assets.genesys.auth import ClientCredentialsAuth
from recording_assets.genesys.batches import PollPolicy
from recording_assets.genesys.budget import BudgetPolicy
from recording_assets.genesys.control import RecordingControl
from recording_assets.genesys.gdpr import GdprRequests
from recording_assets.genesys.media import MediaDownload, stream_media
from recording_assets.genesys.netguard import MEDIA_ALLOWANCE_S, MediaPolicy
from recording_assets.genesys.pacing import Pacer
from recording_assets.genesys.preflight import PreflightReport, preflight
from recording_assets.genesys.protection import DeletionProtection
from recording_assets.genesys.recordings import Recordings
from recording_assets.genesys.retention import Retention
from recording_assets.genesys.retry import RetryPolicy
from recording_assets.genesys.secret import Secret
from recording_assets.genesys.transport import ApiLimits, Transport, TransportStats


class GenesysClient:
    """Async client for the Platform API subset the archiver needs. Use as ``async with``.

    ``media_policy``: where presigned media GETs may go and how long and large they may be
    (``netguard.MediaPolicy``); None: public hosts only, plus the API's own origin when that is loopback
    (the sandbox, the demo). ``api_limits``: the deadline of one API attempt and the largest decoded
    answer (``transport.ApiLimits``); None: 120 s and 16 MiB. ``tls_context``: the CAs to trust for the
    API and login hosts, and for media hosts unless ``media_policy.ssl_context`` names others (None: the
    system's). ``budget``: the run's request budget, learned from the answers (``budget.BudgetPolicy``);
    without it, ``requests_per_minute`` is a fixed rate (None: unpaced but for the headers' window)."""

    def __init__(
        self,
        *,
        api_base_url: str,
        login_base_url: str,
        client_id: str,
        client_secret: Secret,
        clock: Clock | None = None,
        requests_per_minute: float | None = 300.0,
        budget: BudgetPolicy | None = None,
        retry: RetryPolicy | None = None,
        timeout_s: float = 60.0,
        max_connections: int = 32,
        batch_poll: PollPolicy = PollPolicy(),
        media_policy: MediaPolicy | None = None,
        api_limits: ApiLimits | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self._client_id = client_id
        auth = ClientCredentialsAuth(
            login_base_url=login_base_url, client_id=client_id, client_secret=client_secret, clock=self.clock
        )
        self.transport = Transport(
            api_base_url=api_base_url,
            auth=auth,
            clock=self.clock,
            retry=retry,
            pacer=Pacer(self.clock, budget=budget or BudgetPolicy.fixed(requests_per_minute)),
            timeout_s=timeout_s,
            max_connections=max_connections,
            media_policy=media_policy,
            limits=api_limits,
            tls_context=tls_context,
        )
        self.analytics = Analytics(self.transport, self.clock)
        self.recordings = Recordings(self.transport, self.clock, poll=batch_poll)
        self.control = RecordingControl(self.transport, self.analytics, self.clock)
        self.retention = Retention(self.transport)
        self.protection = DeletionProtection(self.transport)
        self.gdpr = GdprRequests(self.transport)

    @classmethod
    def from_settings(
        cls, settings, *, media_allowance_s: float = MEDIA_ALLOWANCE_S, **kwargs
    ) -> GenesysClient:
        """A client for ``settings`` (``settings.GenesysSettings``); its media may come from public hosts and
        the allowlist the settings name, each GET within ``media_allowance_s`` beyond its size
        (``MediaPolicy.allowance_s``)."""
        kwargs.setdefault(
            "media_policy",
            MediaPolicy.for_api(
                settings.api_base_url,
                allowed_hosts=settings.allowed_media_hosts,
                allowance_s=media_allowance_s,
            ),
        )
        return cls(
            api_base_url=settings.api_base_url,
            login_base_url=settings.login_base_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            **kwargs,
        )

    def __repr__(self) -> str:
        return f"GenesysClient({self.transport!r}, client_id={self._client_id!r})"

    @property
    def stats(self) -> TransportStats:
        return self.transport.stats

    @property
    def request_budget(self) -> dict:
        """What the pacer learned of the org's limit, its source and this run's share (for metadata)."""
        return self.transport.pacer.budget.report()

    async def preflight(
        self,
        families: tuple[str, ...] = ("analytics", "recording"),
        permissions: tuple[str, ...] = (),
        wanted: tuple[str, ...] = (),
    ) -> PreflightReport:
        return await preflight(
            self.transport,
            client_id=self._client_id,
            families=families,
            permissions=permissions,
            wanted=wanted,
        )

    @property
    def media_policy(self) -> MediaPolicy:
        return self.transport.media_policy

    async def download(
        self,
        url: str,
        write: Callable[[bytes], object],
        *,
        expected_size: int | None = None,
        expires_at: float | None = None,
    ) -> MediaDownload:
        """Stream ``url`` into ``write`` (``media.stream_media``). ``expected_size``: the size the metadata
        gave, when the answer may lack Content-Length; ``expires_at``: the URL's expiry (epoch seconds on
        ``clock``) when known otherwise than from the URL itself. Both only size the deadline."""
        return await stream_media(
            self.transport, url, write, expected_size=expected_size, expires_at=expires_at
        )

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def __aenter__(self) -> GenesysClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()
