"""Deletion protection as a legal hold, on the sandbox and moto: only at-risk conversations, within the
org's cap minus the reserve, never a hold someone else placed, each hold the product placed in its table
(with the run id), and only those revoked, once the day's outcomes confirm the conversation archived."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from recording_assets.archive.keys import outcomes_key
from recording_assets.genesys.errors import GenesysApiError
from recording_assets.genesys.retry import RetryPolicy
from recording_assets.pipeline.outcome import outcomes_table
from recording_assets.pipeline.protection import (
    ProtectionReport,
    lift_confirmed,
    protect_at_risk,
    read_holds,
    read_refused,
)
from recording_assets.pipeline.table_io import write_table
from recording_assets.sandbox import Faults
from recording_assets.sandbox.dialect import Dialect
from recording_assets.sandbox.retention import CAP_REACHED, NOT_POLICY_BASED, PROTECTION_CAP, policy_based
from recording_assets_tests.pipeline.support import DAY, archive_day, genesys_client, stores

RESERVE = 200


@pytest.fixture
def buckets(s3_client, bucket_names):
    return stores(s3_client, bucket_names)


def _protect(sandbox, clock, manifests, at_risk, *, run_id="radar-1", reserve=RESERVE) -> ProtectionReport:
    report = ProtectionReport()

    async def go():
        async with genesys_client(sandbox, clock) as client:
            now = datetime.fromtimestamp(clock.time(), timezone.utc)
            await protect_at_risk(
                client.protection, manifests, at_risk, reserve=reserve, run_id=run_id, now=now, report=report
            )

    asyncio.run(go())
    return report


def _lift(sandbox, clock, manifests) -> ProtectionReport:
    report = ProtectionReport()

    async def go():
        async with genesys_client(sandbox, clock) as client:
            await lift_confirmed(client.protection, manifests, report=report)

    asyncio.run(go())
    return report


def test_a_hold_placed_by_another_party_is_never_revoked(sandbox_factory, fake_clock, buckets):
    sandbox = sandbox_factory(
        clock=fake_clock, conversations_per_day=120, media_scale=0.002, legal_hold_per_mille=100
    )
    ledger = sandbox.org.retention
    day = [c.id for c in sandbox.org.conversations_for_day(DAY)]
    theirs = {cid for cid in day if ledger.held_by_others(cid)}
    assert theirs  # the planted legal holds
    _, manifests = buckets

    placed = _protect(sandbox, fake_clock, manifests, dict.fromkeys(day, DAY))
    ours = {row["conversation_id"] for row in read_holds(manifests)}
    assert placed.held_by_others == len(theirs) and not ours & theirs
    assert ours == {cid for cid in day if cid not in theirs and policy_based(7, cid)} == ledger.protected()
    assert set(placed.refused) == {cid for cid in day if cid not in theirs and not policy_based(7, cid)}
    assert all(NOT_POLICY_BASED in why for why in placed.refused.values())
    assert {row["placed_by_run"] for row in read_holds(manifests)} == {"radar-1"}

    # Nothing known about the day yet: every hold is unconfirmed and stays.
    assert _lift(sandbox, fake_clock, manifests).lifted == 0 and ledger.protected() == ours

    report, _, _ = archive_day(sandbox, fake_clock, *buckets)
    write_table(manifests, outcomes_key(day=DAY), outcomes_table(report.outcomes, "run-1"))
    lifted = _lift(sandbox, fake_clock, manifests)
    unconfirmed = {
        o.conversation_id for o in report.outcomes if not o.state.in_archive and o.state.value != "deleted"
    }
    unrecorded = ours - {o.conversation_id for o in report.outcomes}  # no recording known: unconfirmed
    assert lifted.lifted == len(ours - unconfirmed - unrecorded) > 0
    assert ledger.protected() == {row["conversation_id"] for row in read_holds(manifests)}
    assert ledger.protected() == ours & (unconfirmed | unrecorded)
    assert ledger.foreign_revoked == set() and ledger.protected(day) >= theirs


@pytest.mark.parametrize("refusal", ["failed_updates", "error_400"])
@pytest.mark.parametrize("elsewhere", [100, 400])  # within the reserve; more than it
def test_a_2000_conversation_day_never_passes_the_org_cap_nor_fails_for_it(
    sandbox_factory, fake_clock, buckets, refusal, elsewhere
):
    sandbox = sandbox_factory(
        clock=fake_clock,
        conversations_per_day=2000,
        live_calls=0,
        holds_elsewhere=elsewhere,
        legal_hold_per_mille=0,
        dialect=Dialect(protection_refusal=refusal),
    )
    ledger = sandbox.org.retention
    day = [c.id for c in sandbox.org.conversations_for_day(DAY)]
    _, manifests = buckets

    first = _protect(sandbox, fake_clock, manifests, dict.fromkeys(day, DAY))
    ours = {row["conversation_id"] for row in read_holds(manifests)}
    assert ours == ledger.protected() and ledger.in_use() <= PROTECTION_CAP
    assert len(ours) <= PROTECTION_CAP - RESERVE and first.over_budget == len(day) - PROTECTION_CAP + RESERVE
    capped = {cid for cid, why in first.refused.items() if NOT_POLICY_BASED not in why}
    if elsewhere <= RESERVE:  # the reserve covered the org's own holds: Genesys refused nothing for the cap
        assert capped == set() and len(ours) == PROTECTION_CAP - RESERVE - len(first.refused)
    else:  # the org's holds outgrew the reserve: refused, recorded, and the run goes on
        room = PROTECTION_CAP - elsewhere
        if refusal == "failed_updates":  # each conversation past the cap refused alone
            assert capped and len(ours) == room and all(CAP_REACHED in first.refused[c] for c in capped)
        else:  # the request that would pass the cap refused whole (100 ids), the later ones too
            assert capped and room - 100 < len(ours) <= room

    second = _protect(sandbox, fake_clock, manifests, dict.fromkeys(day, DAY), run_id="radar-2")
    assert ledger.in_use() <= PROTECTION_CAP and second.active == len(ledger.protected())
    assert {r["conversation_id"] for r in read_holds(manifests)} == ledger.protected()  # every hold recorded
    if elsewhere <= RESERVE:  # the conversations refused before wait: the others fill the product's share
        assert second.placed == len(first.refused) and second.refused == {}
        assert second.active == PROTECTION_CAP - RESERVE
        refused = {row["conversation_id"] for row in read_refused(manifests)}
        assert refused == set(first.refused) and not refused & ledger.protected()


def test_holds_placed_before_a_failed_request_are_recorded_and_the_next_run_goes_on(
    sandbox_factory, fake_clock, buckets
):
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=400, legal_hold_per_mille=0)
    day = [c.id for c in sandbox.org.conversations_for_day(DAY) if policy_based(7, c.id)][:300]
    _, manifests = buckets
    sandbox.set_faults(Faults(error_5xx_every=6))  # 3 queries, then the third protection request fails
    report = ProtectionReport()

    async def go():
        retry = RetryPolicy(max_attempts=1, jitter=lambda: 0.5)  # no retry: the 5xx stays an error
        async with genesys_client(sandbox, fake_clock, retry=retry) as client:
            now = datetime.fromtimestamp(fake_clock.time(), timezone.utc)
            await protect_at_risk(
                client.protection, manifests, dict.fromkeys(day, DAY), reserve=RESERVE, run_id="radar-1",
                now=now, report=report,
            )  # fmt: skip

    with pytest.raises(GenesysApiError):
        asyncio.run(go())
    recorded = {row["conversation_id"] for row in read_holds(manifests)}
    assert len(recorded) == report.placed == 200 and recorded == sandbox.org.retention.protected()
    sandbox.set_faults(Faults())
    again = _protect(sandbox, fake_clock, manifests, dict.fromkeys(day, DAY), run_id="radar-2")
    assert again.placed == 100 and {r["conversation_id"] for r in read_holds(manifests)} == set(day)
