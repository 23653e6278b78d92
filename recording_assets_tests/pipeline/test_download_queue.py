"""The download stage: expired URLs refreshed, then failed (the queue's room: test_context.py)."""

from __future__ import annotations

import asyncio

from recording_assets.pipeline.context import DownloadTask
from recording_assets.pipeline.download_queue import refresh_expired
from recording_assets.pipeline.states import State
from recording_assets_tests.pipeline.test_classify import context


def _task(n: int) -> DownloadTask:
    return DownloadTask("c1", f"r{n}", f"https://media.example/r{n}", "audio/ogg", attempts=1)


def test_urls_still_expired_with_no_refresh_round_left_fail_without_a_request():
    ctx = context(url_refresh_rounds=0)  # no client: a request would fail the test
    failed = asyncio.run(refresh_expired(ctx, [_task(1), _task(2)]))
    assert {o.key: (o.state, o.reason, o.attempts) for o in failed} == {
        ("c1", f"r{n}"): (State.FAILED, "URL kept expiring before the download finished", 1) for n in (1, 2)
    }
    assert ctx.ledger.report().url_refreshes == 0
