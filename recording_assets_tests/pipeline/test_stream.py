"""The day as one stream: a job's recordings are downloading before the next job is even submitted."""

from __future__ import annotations

import asyncio

import pytest

from recording_assets.genesys.batches import PollPolicy
from recording_assets.pipeline.archiver import DayArchiver
from recording_assets.pipeline.audit import AuditTrail
from recording_assets.pipeline.discovery import discover_day, pages_as_found
from recording_assets.pipeline.states import State
from recording_assets.pipeline.window import day_window
from recording_assets.sandbox import DIALECTS
from recording_assets_tests.pipeline.support import DAY, archive_day, genesys_client, run_settings, stores


@pytest.fixture
def buckets(s3_client, bucket_names):
    return stores(s3_client, bucket_names)


def test_downloads_start_before_the_next_job_is_submitted(sandbox_factory, fake_clock, buckets):
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=150, media_scale=0.002)
    recordings = {(c.id, r.id) for c in sandbox.org.conversations_for_day(DAY) for r in c.recordings}
    report, _, conversations = archive_day(
        sandbox, fake_clock, *buckets, client_kwargs={"batch_poll": PollPolicy(window=1)}, download_backlog=1
    )
    assert len(conversations) > 100  # two batch jobs
    families = [entry["family"] for entry in sandbox.stats()["log"]]
    submits = [n for n, family in enumerate(families) if family == "recording.batch.submit"]
    assert len(submits) == 2 and report.batch_rounds == 1
    # The first job's results were downloading before the second job was asked for (phases would have
    # submitted and polled every job first).
    assert families.index("media") < submits[1]
    assert sorted(o.key for o in report.outcomes) == sorted(recordings)
    assert report.uploads == sum(o.state is State.ARCHIVED for o in report.outcomes) > 0


def test_the_archive_starts_from_discovery_pages_as_they_arrive(sandbox_factory, fake_clock, buckets):
    """The second page is held back until a recording of the first has been downloaded: an archiver that
    waited for the whole day before its first batch job would never get there."""
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=150, media_scale=0.002)
    store, manifest_store = buckets
    audit = AuditTrail(store=manifest_store, day=DAY, run_id="run-1", launched_by="test", clock=fake_clock)

    async def run():
        async with genesys_client(sandbox, fake_clock) as client:
            day = (await discover_day(client, day_window(DAY, "UTC"))).conversations
            first, rest = day[:100], day[100:]

            async def pages():
                yield first
                while "media" not in {entry["family"] for entry in sandbox.stats()["log"]}:
                    await asyncio.sleep(0.01)
                yield rest

            archiver = DayArchiver(
                client=client,
                store=store,
                day=DAY,
                run_id="run-1",
                audit=audit,
                **run_settings(sensitive_permission=True),
            )
            return day, await asyncio.wait_for(archiver.run(pages()), timeout=60)

    day, report = asyncio.run(run())
    recordings = {(c.id, r.id) for c in sandbox.org.conversations_for_day(DAY) for r in c.recordings}
    assert sorted(o.key for o in report.outcomes) == sorted(recordings) and len(day) == 150
    assert {row["conversation_id"] for row in report.conversations} == {c.conversation_id for c in day}


@pytest.mark.parametrize(
    ("route", "config"),
    [
        # The lake does not yet hold the day (two days of data lag): the details query, pages of 100.
        ("query", {"data_lag_s": 2 * 86_400.0}),
        # The lake holds it: a details job, whose result pages this dialect cuts to 100 conversations.
        ("jobs", {"dialect": DIALECTS["small-job-pages"]}),
    ],
)
def test_discovery_hands_on_each_page_of_new_conversations(sandbox_factory, fake_clock, route, config):
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=250, media_scale=0.002, **config)

    async def run():
        async with genesys_client(sandbox, fake_clock) as client:
            pages, discovery = await pages_as_found(client, day_window(DAY, "UTC"))
            return [page async for page in pages], await discovery

    pages, discovery = asyncio.run(run())
    assert discovery.method == route
    assert len(pages) >= 3 and all(len(page) <= 100 for page in pages)
    found = [c.conversation_id for page in pages for c in page]
    assert len(found) == len(set(found))  # each conversation handed on once
    assert set(found) == {c.conversation_id for c in discovery.conversations} and len(found) == 250
