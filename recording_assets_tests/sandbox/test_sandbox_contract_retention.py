"""The retention features' endpoints in the SDK's shapes (the strict walker of ``sdk_shape``), and the sandbox's retention
behaviour: restorations that take time and spend a quota, protection that blocks the org's own retention
deletes, orphans, settings, annotations with a SecurePause among them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

pytest.importorskip("PureCloudPlatformClientV2")

from recording_assets.genesys.errors import GenesysApiError, PermissionDeniedError  # noqa: E402
from recording_assets.genesys.retention import RESTORE, Retention  # noqa: E402
from recording_assets.sandbox.config import ALL_PERMISSIONS  # noqa: E402
from recording_assets_tests.sandbox.test_sandbox_contract_strict import (  # noqa: E402
    Product,
    _assert_covered,
    _assert_no_breach,
)
from recording_assets_tests.sandbox.test_sandbox_support import YESTERDAY  # noqa: E402


def _archived(org, count):
    found = [
        r for c in org.conversations_for_day(YESTERDAY) for r in c.recordings if r.file_state == "ARCHIVED"
    ]
    assert len(found) >= count
    return found[:count]


def test_retention_endpoints_answer_in_the_sdks_shapes(sandbox_factory, fake_clock):
    sandbox = sandbox_factory(
        clock=fake_clock, conversations_per_day=300, restore_latency_s=60, restore_quota=2
    )
    first, second, third = _archived(sandbox.org, 3)
    available = next(
        r for c in sandbox.org.conversations_for_day(YESTERDAY) for r in c.recordings if r.media == "audio"
    )
    until = datetime.fromtimestamp(fake_clock.time(), timezone.utc) + timedelta(days=7)

    async def scenario(product: Product) -> None:
        retention = Retention(product.transport)
        quota = {m.remaining_restorations for m in await product.recordings.metadata(first.conversation_id)}
        assert quota == {2}
        answer = await retention.restore(first.conversation_id, first.id, until=until)
        assert (answer.file_state, answer.remaining) == ("RESTORING", 1)
        await retention.restore(second.conversation_id, second.id, until=until)
        with pytest.raises(GenesysApiError) as refused:  # the quota is spent: a clear 400, nothing restored
            await retention.restore(third.conversation_id, third.id, until=until)
        assert refused.value.status == 400 and "restorations" in str(refused.value)
        fake_clock.advance(61)
        meta = await product.recordings.metadata(first.conversation_id)
        assert next(m for m in meta if m.recording_id == first.id).file_state == "RESTORED"
        ids = [first.conversation_id, third.conversation_id]
        assert await retention.protect(ids, protect=True) == 1
        protected = await product.transport.api(
            "POST",
            "/api/v2/recordings/deletionprotection",
            family="recording.protection",
            json={"conversationIds": ids},
        )
        assert {p["id"] for p in protected.json()} == set(ids)
        await retention.protect([third.conversation_id], protect=False)
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
        await retention.expiring(2, page_size=50)

    exchanges = Product(sandbox, fake_clock).run(scenario)
    _assert_covered(exchanges, "retention")
    assert sandbox.org.retention.protected() == {first.conversation_id}


def test_a_sweep_deletes_all_but_the_protected_and_a_restore_needs_its_permission(
    sandbox_factory, fake_clock
):
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=50)
    conversations = sandbox.org.conversations_for_day(YESTERDAY)
    kept, swept = conversations[0], conversations[1]
    sandbox.org.retention.protect([kept.id], True)
    result = sandbox.state.retention_sweep([kept.id, swept.id])
    assert set(result.deleted) == {r.id for r in swept.recordings if r.file_state != "DELETED"}
    assert set(result.kept_protected) == {r.id for r in kept.recordings}
    now = int(fake_clock.time() * 1000)
    assert {r.file_state_at(now) for r in swept.recordings} <= {"DELETED"}
    assert {r.file_state_at(now) for r in kept.recordings} == {r.file_state for r in kept.recordings}
    limited = sandbox_factory(
        clock=fake_clock, conversations_per_day=300, permissions=ALL_PERMISSIONS - {RESTORE}
    )
    archived = _archived(limited.org, 1)[0]

    async def denied(product: Product) -> None:
        with pytest.raises(PermissionDeniedError, match=RESTORE):
            await Retention(product.transport).restore(
                archived.conversation_id, archived.id, until=datetime(2027, 1, 1, tzinfo=timezone.utc)
            )

    _assert_no_breach(Product(limited, fake_clock).run(denied))
