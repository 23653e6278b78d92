"""Helpers of the trust-boundary tests (no tests here): a client on a hostile sandbox, a target's batch
result, a download that keeps what reached the sink."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from recording_assets.genesys import BatchItem, GenesysClient
from recording_assets.genesys.models import BatchResult
from recording_assets.genesys.retry import RetryPolicy
from recording_assets.genesys.secret import Secret
from recording_assets.sandbox.hostile import Hostile

DAY = date(2025, 12, 30)  # two days before the FakeClock's start: the sync query path, every call ended


def make_client(sandbox, clock, **kwargs) -> GenesysClient:
    kwargs.setdefault("retry", RetryPolicy(jitter=lambda: 0.5))
    kwargs.setdefault("api_base_url", sandbox.base_url)
    return GenesysClient(
        login_base_url=sandbox.base_url,
        client_id="sandbox-client",
        client_secret=Secret("sandbox-secret"),
        clock=clock,
        **kwargs,
    )


def run(coro):
    return asyncio.run(coro)


def hostile(*items: str, **options) -> Hostile:
    return Hostile(items=frozenset(items), **options)


@dataclass
class Sink:
    """What ``download`` handed over, chunk by chunk; ``on_chunk`` may act on each (advance a FakeClock)."""

    chunks: list[bytes] = field(default_factory=list)
    on_chunk: Callable[[bytes], object] | None = None

    def __call__(self, chunk: bytes) -> None:
        self.chunks.append(chunk)
        if self.on_chunk is not None:
            self.on_chunk(chunk)

    @property
    def size(self) -> int:
        return sum(map(len, self.chunks))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(b"".join(self.chunks)).hexdigest()


async def batch_result(client: GenesysClient, conversation_id: str) -> BatchResult:
    (result,) = await client.recordings.run_batches([BatchItem(conversation_id)])
    return result


def target(sandbox, scenario: str):
    return sandbox.hostile_targets(DAY)[scenario]


def media_requests(sandbox) -> int:
    return sum(1 for e in sandbox.stats()["log"] if e["family"] == "media")
