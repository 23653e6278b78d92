"""The retention features' endpoints in the SDK's shapes (the strict walker of ``sdk_shape``), and the
sandbox playing what the sources say: restorations that take time with no quota (the SDK's deprecated
counters say 10000) and are refused past the deleteDate; deletion protection as a legal hold (1,000
conversations per org, policy-based recordings only, other parties' holds listed by the POST query);
the retention query under the SDK's reading and the other; orphans, settings, annotations."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

pytest.importorskip("PureCloudPlatformClientV2")

from recording_assets.genesys.errors import GenesysApiError, PermissionDeniedError  # noqa: E402
from recording_assets.genesys.protection import DeletionProtection  # noqa: E402
from recording_assets.genesys.retention import RESTORE, Retention  # noqa: E402
from recording_assets.sandbox import DIALECTS  # noqa: E402
from recording_assets.sandbox.config import ALL_PERMISSIONS, SCREEN_RESTORE  # noqa: E402
from recording_assets.sandbox.dialect import Dialect  # noqa: E402
from recording_assets.sandbox.retention import CAP_REACHED, NOT_POLICY_BASED, PROTECTION_CAP, policy_based  # noqa: E402
from recording_assets_tests.sandbox.test_sandbox_contract_strict import (  # noqa: E402
    Product,
    _assert_covered,
    _assert_no_breach,
)
from recording_assets_tests.sandbox.test_sandbox_support import YESTERDAY  # noqa: E402

DAY_S = 86400


def _archived(org, count, media=None):
    found = [
        r
        for c in org.conversations_for_day(YESTERDAY)
        for r in c.recordings
        if r.file_state == "ARCHIVED" and (media is None or r.media == media)
    ]
    assert len(found) >= count
    return found[:count]


def _now(clock) -> datetime:
    return datetime.fromtimestamp(clock.time(), timezone.utc)


@pytest.mark.parametrize("dialect", ["default", "independent"])
def test_retention_endpoints_answer_in_the_sdks_shapes(sandbox_factory, fake_clock, dialect):
    sandbox = sandbox_factory(
        clock=fake_clock, conversations_per_day=300, restore_latency_s=60, dialect=DIALECTS[dialect]
    )
    first, second, third = _archived(sandbox.org, 3)
    available = next(
        r for c in sandbox.org.conversations_for_day(YESTERDAY) for r in c.recordings if r.media == "audio"
    )
    until = _now(fake_clock) + timedelta(days=7)
    adhoc = next(c.id for c in sandbox.org.conversations_for_day(YESTERDAY) if not policy_based(7, c.id))

    async def scenario(product: Product) -> None:
        retention, protection = Retention(product.transport), DeletionProtection(product.transport)
        counters = await product.transport.api(
            "GET",
            f"/api/v2/conversations/{first.conversation_id}/recordingmetadata",
            family="recording.metadata",
        )
        assert {m["remainingRestorationsAllowedForOrg"] for m in counters.json()} == {10000}  # deprecated
        dates = await retention.retention_dates(first.conversation_id, first.id)
        assert dates.delete_date is not None and dates.delete_date > until
        answer = await retention.restore(
            first.conversation_id, first.id, until=until, delete_date=dates.delete_date
        )
        assert answer.file_state == "RESTORING"
        late = dates.delete_date + timedelta(hours=1)
        with pytest.raises(GenesysApiError) as refused:  # past its deleteDate: refused, that one only
            await retention.restore(
                second.conversation_id, second.id, until=late, delete_date=dates.delete_date
            )
        assert refused.value.status == 400 and "deleteDate" in str(refused.value)
        fake_clock.advance(61)
        meta = await product.recordings.metadata(first.conversation_id)
        restored = next(m for m in meta if m.recording_id == first.id)
        assert restored.file_state == "RESTORED" and restored.delete_date == dates.delete_date
        # A body with archiveDate alone: the date stays (merge) or is removed (replace); both are plausible.
        await product.transport.api(
            "PUT", f"/api/v2/conversations/{third.conversation_id}/recordings/{third.id}",
            family="recording.restore", json={"archiveDate": until.isoformat().replace("+00:00", "Z")},
        )  # fmt: skip
        kept = next(
            m for m in await product.recordings.metadata(third.conversation_id) if m.recording_id == third.id
        )
        assert (kept.delete_date is None) == (DIALECTS[dialect].restore_body == "replace")
        ids = [first.conversation_id, second.conversation_id]
        placed = await protection.protect([*ids, adhoc], protect=True)
        assert placed.requests == 1 and set(placed.failed) == {adhoc}  # only policy-based recordings
        assert NOT_POLICY_BASED in placed.failed[adhoc]
        assert (await protection.protected([*ids, adhoc])).protected == set(ids)
        await protection.protect([second.conversation_id], protect=False)
        orphans = await retention.orphans(page_size=10)
        assert len(orphans) > 10 and all(o.created_time for o in orphans)
        assert await retention.batch_url_ttl_s() == 3600
        notes = [
            a
            for c in sandbox.org.conversations_for_day(YESTERDAY)[:40]
            for r in c.recordings
            if r.media == "audio"
            for a in await retention.annotations(r.conversation_id, r.id)
        ]
        assert "SecurePause" in {a.reason for a in notes}
        assert await retention.annotations(available.conversation_id, available.id) is not None
        scan = await retention.expiring(2, page_size=50, max_pages=3)
        assert scan.pages <= 3 and len(scan.entries) == scan.read > 0

    exchanges = Product(sandbox, fake_clock).run(scenario)
    _assert_covered(exchanges, "retention")
    assert sandbox.org.retention.protected() == {first.conversation_id}


@pytest.mark.parametrize("reading", ["retained_longer", "deleted_within"])
def test_the_retention_query_plays_both_readings_of_its_threshold(sandbox_factory, fake_clock, reading):
    sandbox = sandbox_factory(
        clock=fake_clock, conversations_per_day=4, live_calls=0, dialect=Dialect(retention_threshold=reading)
    )
    now = _now(fake_clock)

    async def scenario(product: Product) -> None:
        scan = await Retention(product.transport).expiring(10, page_size=25)
        assert scan.entries.complete and scan.pages == scan.read // 25 + 1  # every page, one short at the end
        created = [e.creation_time for e in scan.entries]
        deleted = [e.delete_date for e in scan.entries]
        assert created and all(c is not None for c in created) and all(d is not None for d in deleted)
        if reading == "retained_longer":  # the SDK's words: retained for more than 10 days, so far
            assert all(now - c > timedelta(days=10) for c in created if c)
            assert max(d for d in deleted if d) - now > timedelta(days=60)  # most of the retained history
        else:  # the other reading: deleted within the next 10 days
            assert all(d - now <= timedelta(days=10, hours=2) for d in deleted if d)

    _assert_no_breach(Product(sandbox, fake_clock).run(scenario))


@pytest.mark.parametrize("refusal", ["failed_updates", "error_400"])
def test_protection_stops_at_the_org_cap_as_the_dialect_says(sandbox_factory, fake_clock, refusal):
    sandbox = sandbox_factory(
        clock=fake_clock,
        conversations_per_day=1200,
        live_calls=0,
        holds_elsewhere=50,
        legal_hold_per_mille=0,
        dialect=Dialect(protection_refusal=refusal),
    )
    ids = sorted(c.id for c in sandbox.org.conversations_for_day(YESTERDAY) if policy_based(7, c.id))
    room = PROTECTION_CAP - 50
    assert len(ids) > room + 100

    async def scenario(product: Product) -> None:
        protection = DeletionProtection(product.transport)
        answer = await protection.protect(ids[: room - 1], protect=True)
        assert answer.failed == {}
        answer = await protection.protect(ids[room - 1 : room + 9], protect=True)  # the 1,001st and on
        if refusal == "failed_updates":
            assert set(answer.failed) == set(ids[room : room + 9])
            assert all(CAP_REACHED in why for why in answer.failed.values())
        else:  # the whole request is refused: nothing of it applied
            assert set(answer.failed) == set(ids[room - 1 : room + 9])
            assert all("400" in why for why in answer.failed.values())

    _assert_no_breach(Product(sandbox, fake_clock).run(scenario))
    assert sandbox.org.retention.in_use() <= PROTECTION_CAP


def test_holds_of_other_parties_are_listed_and_their_revocation_is_remembered(sandbox_factory, fake_clock):
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=400, legal_hold_per_mille=20)
    day = [c.id for c in sandbox.org.conversations_for_day(YESTERDAY)]
    held = {cid for cid in day if sandbox.org.retention.held_by_others(cid)}
    assert held

    async def scenario(product: Product) -> None:
        protection = DeletionProtection(product.transport)
        assert (await protection.protected(day)).protected == held
        await protection.protect(sorted(held)[:1], protect=False)

    _assert_no_breach(Product(sandbox, fake_clock).run(scenario))
    assert sandbox.org.retention.foreign_revoked == set(sorted(held)[:1])  # what a test can catch


def test_a_sweep_deletes_all_but_the_protected_and_a_restore_needs_its_kinds_permission(
    sandbox_factory, fake_clock
):
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=50, legal_hold_per_mille=0)
    conversations = sandbox.org.conversations_for_day(YESTERDAY)
    kept, swept = conversations[0], conversations[1]
    sandbox.org.retention.protect([kept.id], True, lambda _: True)
    result = sandbox.state.retention_sweep([kept.id, swept.id])
    assert set(result.deleted) == {r.id for r in swept.recordings if r.file_state != "DELETED"}
    assert set(result.kept_protected) == {r.id for r in kept.recordings}
    now = int(fake_clock.time() * 1000)
    assert {r.file_state_at(now) for r in swept.recordings} <= {"DELETED"}
    assert {r.file_state_at(now) for r in kept.recordings} == {r.file_state for r in kept.recordings}
    limited = sandbox_factory(
        clock=fake_clock, conversations_per_day=300, permissions=ALL_PERMISSIONS - {RESTORE, SCREEN_RESTORE}
    )
    audio, screen = _archived(limited.org, 1, "audio")[0], _archived(limited.org, 1, "screen")[0]
    until = _now(fake_clock) + timedelta(days=2)

    async def denied(product: Product) -> None:
        for rec, permission in ((audio, RESTORE), (screen, SCREEN_RESTORE)):
            with pytest.raises(PermissionDeniedError, match=permission):
                await Retention(product.transport).restore(
                    rec.conversation_id, rec.id, until=until, delete_date=None
                )

    _assert_no_breach(Product(limited, fake_clock).run(denied))
