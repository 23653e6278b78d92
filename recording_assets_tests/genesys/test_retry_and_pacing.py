"""Retry policy and pacer as pure logic on a fake clock."""

import asyncio

from recording_assets.clock import FakeClock
from recording_assets.genesys.budget import BudgetPolicy
from recording_assets.genesys.pacing import Pacer
from recording_assets.genesys.retry import RetryPolicy


def test_backoff_is_exponential_capped_and_jittered_within_bounds():
    low = RetryPolicy(jitter=lambda: 0.0, base_delay_s=0.5, max_delay_s=8)
    high = RetryPolicy(jitter=lambda: 1.0, base_delay_s=0.5, max_delay_s=8)
    assert [high.backoff_s(a) for a in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert [low.backoff_s(a) for a in range(1, 7)] == [0.5, 0.5, 1.0, 2.0, 4.0, 4.0]


def test_retry_after_header_parsing():
    policy = RetryPolicy()
    assert policy.retry_after_s("7") == 7.0
    assert policy.retry_after_s(None) == 3.0
    assert policy.retry_after_s("soon") == 3.0


def test_only_429_and_gateway_errors_are_retried():
    policy = RetryPolicy()
    assert [
        s
        for s in (400, 401, 403, 404, 409, 410, 429, 500, 501, 502, 503, 504)
        if policy.should_retry_status(s)
    ] == [
        429,
        502,
        503,
        504,
    ]


def test_token_bucket_spaces_requests_at_the_budget():
    clock = FakeClock()
    pacer = Pacer(clock, budget=BudgetPolicy(limit_per_minute=60, learn=False, margin=1.0, max_burst=2))

    async def run():
        start = clock.time()
        for _ in range(6):
            await pacer.acquire()
        return clock.time() - start

    elapsed = asyncio.run(run())
    # 2 immediate (burst), then one a second: 4 more take 4 s.
    assert abs(elapsed - 4.0) < 1e-6


def test_background_requests_let_every_waiting_request_go_first():
    """Look-ups queued first still go after the discovery page and batch job that arrive while they wait."""
    clock = FakeClock()
    pacer = Pacer(clock, budget=BudgetPolicy(limit_per_minute=60, learn=False, margin=1.0, max_burst=1))
    order: list[str] = []

    async def ask(name: str, background: bool) -> None:
        await pacer.acquire(background=background)
        order.append(name)

    async def run():
        await pacer.acquire()  # the burst is spent: everyone below waits for tokens
        await asyncio.gather(
            ask("lookup-1", True), ask("lookup-2", True), ask("page", False), ask("batch", False)
        )

    asyncio.run(run())
    assert order[:2] == ["page", "batch"] and sorted(order[2:]) == ["lookup-1", "lookup-2"]
    assert (
        abs(clock.time() - 1_767_225_600.0 - 4.0) < 1e-6
    )  # still one a second: nothing lost to the priority


def test_headers_pause_before_the_window_is_spent():
    clock = FakeClock()
    pacer = Pacer(clock, budget=None)
    pacer.observe(
        {"inin-ratelimit-allowed": "300", "inin-ratelimit-count": "150", "inin-ratelimit-reset": "40"}
    )
    asyncio.run(pacer.acquire())
    assert clock.sleeps == []
    pacer.observe(
        {"inin-ratelimit-allowed": "300", "inin-ratelimit-count": "298", "inin-ratelimit-reset": "12"}
    )
    asyncio.run(pacer.acquire())
    assert clock.sleeps == [12.0]


def test_a_reset_header_that_is_not_a_finite_time_never_pauses_for_ever():
    clock = FakeClock()
    pacer = Pacer(clock, budget=None)
    spent = {"inin-ratelimit-allowed": "300", "inin-ratelimit-count": "299"}
    for reset in ("nan", "-inf", "soon", "-4"):
        pacer.observe({**spent, "inin-ratelimit-reset": reset})
    asyncio.run(pacer.acquire())
    assert pacer.stats.header_pauses == 0 and clock.sleeps == []  # no time: no window to wait for
    for reset in ("inf", "1e12"):  # (a pause until 'inf' would make acquire() spin for ever)
        pacer.observe({**spent, "inin-ratelimit-reset": reset})
        asyncio.run(pacer.acquire())
    assert clock.sleeps == [60.0, 60.0]  # at most the rate-limit window, and once per window


def test_rate_limited_pauses_every_caller():
    clock = FakeClock()
    pacer = Pacer(clock, budget=None)
    pacer.rate_limited(5)

    async def many():
        await asyncio.gather(*(pacer.acquire() for _ in range(3)))

    start = clock.time()
    asyncio.run(many())
    assert clock.time() - start == 5.0
