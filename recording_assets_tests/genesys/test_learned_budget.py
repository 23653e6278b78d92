"""The request budget learned from ``inin-ratelimit-*`` headers: hostile values, the logic on a fake clock,
and clients sharing (or not) one window of the sandbox over real HTTP, under both readings."""

from __future__ import annotations

import asyncio

import pytest

from recording_assets.clock import FakeClock
from recording_assets.genesys.budget import MIN_SHARE, BudgetPolicy, RequestBudget
from recording_assets.genesys.ratelimit_headers import MAX_ALLOWED, WindowReading, read_window
from recording_assets.sandbox import Faults
from recording_assets.sandbox.dialect import Dialect
from recording_assets_tests.genesys.trust_support import make_client

LIMIT = 120


def headers(allowed="120", count="1", reset="60") -> dict[str, str]:
    values = {"inin-ratelimit-allowed": allowed, "inin-ratelimit-count": count, "inin-ratelimit-reset": reset}
    return {k: v for k, v in values.items() if v is not None}


@pytest.mark.parametrize(
    ("given", "expected", "noted"),
    [
        (headers("120", "7", "42"), (120, 7, 42.0), 0),
        ({"Inin-RateLimit-Allowed": "120"}, (None, None, None), 0),  # a plain dict is read as sent
        (headers(" 120 ", "+7", "42.5"), (120, 7, 42.5), 0),
        (headers("-5", "3", "10"), (None, 3, 10.0), 1),
        (headers("0", "3", "10"), (None, 3, 10.0), 1),  # a limit of 0 would stop every request
        (headers("9" * 40, "3", "10"), (None, 3, 10.0), 1),  # not believed, and parsed in no time
        (headers(str(MAX_ALLOWED), "3", "10"), (MAX_ALLOWED, 3, 10.0), 0),
        (headers("lots", "NaN", "soon"), (None, None, None), 3),
        (headers("120", "-1", "10"), (120, None, 10.0), 1),
        (headers("120", "0", "10"), (120, None, 10.0), 1),  # an uncounted answer (a 401)
        (headers("120", "1e3", "10"), (120, None, 10.0), 1),
        (headers("120", "99999", "10"), (120, 1200, 10.0), 1),
        (headers("120", "5", "inf"), (120, 5, 60.0), 1),  # never a pause for ever
        (headers("120", "5", "1e308"), (120, 5, 60.0), 1),
        (headers("120", "5", "-3"), (120, 5, None), 1),
        (headers("120", "5", "nan"), (120, 5, None), 1),
        (headers("120", "5", "-inf"), (120, 5, None), 1),
        (headers("120", "5", "1" * 100), (120, 5, None), 1),
        (headers("١٢٠", "5", "10"), (None, 5, 10.0), 1),  # Arabic-Indic digits: isdigit(), not ASCII
        ({}, (None, None, None), 0),
    ],
)
def test_header_values_are_checked_one_by_one(given, expected, noted):
    reading = read_window(given)
    assert (reading.allowed, reading.count, reading.reset_s) == expected
    assert len(reading.notes) == noted, reading.notes
    assert all("ignored" in n or "clamped" in n for n in reading.notes)


def test_the_rate_follows_the_limit_the_headers_state_at_once_and_an_operators_cap():
    budget = RequestBudget(BudgetPolicy(share=0.5))
    assert budget.rate_per_s() == pytest.approx(0.9 * 300 * 0.5 / 60)
    budget.observe(read_window(headers("120", "1", "60")), 0.0)
    assert budget.rate_per_s() == pytest.approx(0.9 * 120 * 0.5 / 60)
    assert budget.report()["limit_source"] == "inin-ratelimit-allowed header"
    capped = RequestBudget(BudgetPolicy(org_cap_per_minute=60, run_cap_per_minute=30))
    capped.observe(read_window(headers("600", "1", "60")), 0.0)  # raised by support: still the stated 60
    assert capped.limit_per_minute == 60 and capped.rate_per_s() == pytest.approx(30 / 60)
    fixed = RequestBudget(BudgetPolicy.fixed(270))
    fixed.observe(read_window(headers("120", "1", "60")), 0.0)
    assert fixed.rate_per_s() == pytest.approx(270 / 60)  # a fixed rate does not learn


def _play(budget: RequestBudget, *, others_per_own: int, requests: int) -> None:
    """Our requests one a second, each answered with the count of a window others spend in too."""
    count = 0
    for t in range(requests):
        budget.sent(float(t))
        count += 1 + others_per_own
        budget.observe(read_window(headers(str(LIMIT * 10), str(count), str(60 - t))), t + 0.2)


def test_a_token_with_its_own_window_keeps_the_whole_limit():
    budget = RequestBudget(BudgetPolicy(share=0.5))  # it starts as if two runs shared it
    _play(budget, others_per_own=0, requests=30)
    report = budget.report()
    assert budget.share == 1.0 and report["budget"] == "this token's own"
    assert report["others_requests_seen"] == 0 and report["run_rate_per_minute"] == 0.9 * LIMIT * 10


@pytest.mark.parametrize("others_per_own", [1, 3])
def test_a_count_rising_faster_than_our_requests_is_a_shared_budget_and_we_take_our_share(others_per_own):
    budget = RequestBudget(BudgetPolicy())
    _play(budget, others_per_own=others_per_own, requests=30)
    assert budget.share == pytest.approx(1 / (1 + others_per_own), abs=0.02)
    assert budget.report()["budget"] == "shared with other tokens"


def test_a_run_that_starts_in_a_window_others_spent_is_not_starved_by_what_came_before():
    budget = RequestBudget(BudgetPolicy())
    for t in range(10):  # others spent 80 before our first request; nobody spends beside us after
        budget.sent(float(t))
        budget.observe(read_window(headers(str(LIMIT * 10), str(81 + t), str(50 - t))), t + 0.2)
    assert budget.share == 1.0


def test_a_nearly_spent_window_waits_for_its_reset_counting_what_we_sent_since():
    budget = RequestBudget(BudgetPolicy())
    budget.observe(read_window(headers("120", "100", "20")), 0.0)
    assert budget.wait_s(0.0) == 0.0
    for _ in range(13):  # sent, not yet answered: 113 of 120, one more than the 6 kept in reserve
        budget.sent(0.5)
    assert budget.wait_s(0.5) == 0.0
    budget.sent(0.5)
    assert budget.wait_s(0.5) == pytest.approx(19.5)
    assert budget.wait_s(20.0) == 0.0  # the window reset: the next answer opens the new one


def test_a_429_halves_the_share_down_to_a_floor_and_never_to_zero():
    budget = RequestBudget(BudgetPolicy())
    for _ in range(10):
        budget.on_rate_limited(0.0)
    assert budget.share == MIN_SHARE and budget.rate_per_s() > 0


def test_without_headers_the_share_a_429_cut_grows_back_after_quiet_minutes_to_the_start():
    budget = RequestBudget(BudgetPolicy(share=0.5))
    budget.on_rate_limited(0.0)
    budget.on_rate_limited(0.0)
    assert budget.share == 0.125
    budget.sent(30.0)
    assert budget.share == 0.125  # not yet a quiet minute
    shares = []
    for minute in range(1, 6):
        budget.sent(60.0 * minute)
        shares.append(budget.share)
    assert shares == [0.1875, 0.28125, 0.421875, 0.5, 0.5]  # never past the share it started with
    budget.on_rate_limited(300.0)
    assert budget.share == 0.25


def test_hostile_headers_never_stop_or_lift_pacing():
    budget = RequestBudget(BudgetPolicy())
    for given in (headers("0", "5", "inf"), headers("9" * 40, "-1", "nan"), headers("x", "y", "z")):
        budget.observe(read_window(given), 0.0)
        assert budget.wait_s(0.0) <= 60.0
    assert budget.limit_per_minute == 300  # what it assumed: no hostile value lifted it
    assert budget.report()["header_values_ignored"] == 8 and budget.report()["header_notes"]
    assert budget.wait_s(0.0) == 0.0 and WindowReading().spent_known is False


# Against the sandbox: the runs of a backfill are clients of one OAuth client, each with its own token.
CALLS = 150  # requests per client


async def _clients_in_parallel(sb, clock, n: int, share: float) -> list[dict]:
    async def one() -> dict:
        policy = BudgetPolicy(share=share)  # the documented 300/min assumed until the first answer
        async with make_client(sb, clock, budget=policy) as client:
            for _ in range(CALLS):
                await client.retention.batch_url_ttl_s()
            return client.request_budget

    return list(await asyncio.gather(*(one() for _ in range(n))))


@pytest.mark.parametrize("scope", ["per_client", "per_token"])
def test_clients_of_one_oauth_client_learn_the_limit_and_whether_they_share_it(sandbox_factory, scope):
    clock = FakeClock()
    sb = sandbox_factory(
        clock=clock,
        conversations_per_day=0,
        rate_limit_per_minute=LIMIT,
        dialect=Dialect(rate_limit_scope=scope),
    )
    started = clock.time()
    reports = asyncio.run(_clients_in_parallel(sb, clock, 2, share=1.0))  # told nothing of sharing
    stats = sb.stats()
    requests = sum(1 for e in stats["log"] if e["family"] != "token")
    assert requests >= 2 * CALLS and stats["rate_limited"] <= 0.01 * requests, stats["statuses"]
    for report in reports:
        assert (
            report["limit_per_minute"] == LIMIT and report["limit_source"] == "inin-ratelimit-allowed header"
        )
    minutes = (clock.time() - started) / 60
    if scope == "per_client":
        assert all(r["budget"] == "shared with other tokens" for r in reports), reports
        assert all(0.3 <= r["share"] <= 0.7 for r in reports), reports
        assert minutes >= 2 * CALLS / LIMIT  # one limit for both: it cannot have been beaten
    else:
        assert all(r["budget"] == "this token's own" and r["share"] == 1.0 for r in reports), reports
        # Each token spends its own limit, at the 90 % margin: no slower than needed (fake time, exact).
        assert minutes <= CALLS / (0.9 * LIMIT) + 0.1, minutes


@pytest.mark.parametrize("mode", ["absent", "malformed"])
def test_without_readable_headers_a_run_still_completes_and_says_why(sandbox_factory, mode):
    clock = FakeClock()
    sb = sandbox_factory(
        clock=clock,
        conversations_per_day=0,
        rate_limit_per_minute=LIMIT,
        faults=Faults(rate_limit_headers=mode),
    )
    (report,) = asyncio.run(_clients_in_parallel(sb, clock, 1, share=1.0))
    stats = sb.stats()
    assert sum(1 for e in stats["log"] if e["family"] != "token") >= CALLS
    assert report["answers_with_window"] == 0
    if mode == "absent":
        assert report["answers_without_headers"] >= CALLS and report["header_values_ignored"] == 0
    else:
        assert report["header_values_ignored"] >= CALLS and report["header_notes"]
    # Nothing said the limit: the 429s did, and each halved the share (at most a handful before the floor).
    assert report["limit_source"].startswith("assumed") and report["limit_per_minute"] == 300
    assert report["rate_limited_429"] == stats["rate_limited"]
