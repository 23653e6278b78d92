"""Plumbing shared by the pipeline tests: a Genesys client on the sandbox, stores on moto, one archiver run.

The client and the sandbox share the test's FakeClock, so batch polling, back-off and URL expiry cost
no real time.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, datetime

from recording_assets.archive.store import ArchiveStore
from recording_assets.genesys import GenesysClient
from recording_assets.genesys.preflight import PreflightReport
from recording_assets.genesys.retry import RetryPolicy
from recording_assets.genesys.secret import Secret
from recording_assets.pipeline.archiver import DayArchiver
from recording_assets.pipeline.audit import AuditTrail
from recording_assets.pipeline.config import ArchiveConfig
from recording_assets.pipeline.discovery import discover_day
from recording_assets.pipeline.outcome import outcomes_from_rows
from recording_assets.pipeline.window import day_window, zone

DAY = date(2025, 12, 30)  # two days before the FakeClock's start: every conversation of the day has ended
RUN_ID = "run-1"


def run_settings(*, sensitive_permission=None, url_ttl_s=None, retention=None, **knobs) -> dict:
    """``config`` and ``preflight`` for a ``DayArchiver`` or ``ArchiveContext``: archive knobs by name (or a
    whole ``RetentionConfig``) and what a preflight would have found."""
    config = ArchiveConfig().overridden(knobs)
    return {
        "config": replace(config, retention=retention) if retention is not None else config,
        "preflight": PreflightReport(sensitive_data=sensitive_permission, batch_url_ttl_s=url_ttl_s),
    }


def genesys_client(sandbox, clock, **kwargs) -> GenesysClient:
    return GenesysClient(
        api_base_url=sandbox.base_url,
        login_base_url=sandbox.base_url,
        client_id=sandbox.config.client_id,
        client_secret=Secret(sandbox.config.client_secret),
        clock=clock,
        requests_per_minute=None,
        **{"retry": RetryPolicy(jitter=lambda: 0.5), **kwargs},
    )


def stores(s3_client, bucket_names) -> tuple[ArchiveStore, ArchiveStore]:
    """(archive store, manifest store)."""
    archive, manifest = bucket_names
    return ArchiveStore(s3_client, bucket=archive), ArchiveStore(s3_client, bucket=manifest)


def archive_day(
    sandbox,
    clock,
    store,
    manifest_store,
    *,
    previous=(),
    run_id=RUN_ID,
    day=DAY,
    client_kwargs=None,
    **options,
):
    """Discover ``day`` and archive it with a real ``DayArchiver``: (report, audit trail, conversations).

    ``previous``: the previous run's outcome rows, read as ``archive_day`` reads them from its table."""
    audit = AuditTrail(store=manifest_store, day=day, run_id=run_id, launched_by="test", clock=clock)

    async def run():
        async with genesys_client(sandbox, clock, **(client_kwargs or {})) as client:
            discovery = await discover_day(client, day_window(day, "UTC"))
            options.setdefault("sensitive_permission", True)
            archiver = DayArchiver(
                client=client,
                store=store,
                day=day,
                conversations=discovery.conversations,
                previous=outcomes_from_rows(previous),
                run_id=run_id,
                audit=audit,
                **run_settings(**options),
            )
            return await archiver.run(), discovery.conversations

    report, conversations = asyncio.run(run())
    audit.flush()
    return report, audit, conversations


def requests_by_family(sandbox) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in sandbox.stats()["log"]:
        counts[entry["family"]] = counts.get(entry["family"], 0) + 1
    return counts


def local_day_of(moment: datetime, timezone_name: str) -> date:
    """The local day a moment falls on: the oracle the day-window tests hold ``day_window`` to."""
    return moment.astimezone(zone(timezone_name)).date()
