"""A sandbox day's ids get their names from the org's directory, cheaply: users and queues asked by id in
bulk, wrap-up codes and divisions listed, all kept in dimension tables that the next run reuses (a re-run
of the day asks Genesys nothing). What cannot be named (a deleted user, a deleted queue or wrap-up code, a
name that is not text, a refused permission) stays an id with a null name and its reason, never an error."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from recording_assets.genesys.names import DIVISIONS, QUEUES, USERS, WRAP_UP_CODES
from recording_assets.pipeline.discovery import discover_day, metadata_table
from recording_assets.pipeline.names import REFRESH_DAYS, day_names, ids_of, names_key, with_names
from recording_assets.pipeline.table_io import read_table
from recording_assets.pipeline.window import day_window
from recording_assets.sandbox.config import ALL_PERMISSIONS, QUEUE_VIEW, WRAPUP_VIEW
from recording_assets.sandbox.org import DELETED_QUEUE, DELETED_WRAPUP
from recording_assets_tests.pipeline.support import DAY, genesys_client, stores

NAME_PATHS = ("/api/v2/users", "/api/v2/routing/queues", "/api/v2/routing/wrapupcodes")


def _name_requests(sandbox) -> list[dict]:
    paths = (*NAME_PATHS, "/api/v2/authorization/divisions")
    return [e for e in sandbox.stats()["log"] if e["path"] in paths]


def _named_day(sandbox, clock, store, *, now=None):
    async def go():
        async with genesys_client(sandbox, clock) as client:
            discovery = await discover_day(client, day_window(DAY, "UTC"))
            ids = ids_of(discovery.conversations)
            names = await day_names(client.transport, store, ids, now=now or datetime(2026, 1, 1, tzinfo=UTC))
            return with_names(metadata_table(discovery.conversations), names), names

    return asyncio.run(go())


@pytest.mark.parametrize("deleted_users", ["absent", "listed"])
def test_every_row_carries_the_names_the_sandbox_knows(
    sandbox_factory, fake_clock, s3_client, bucket_names, deleted_users
):
    sandbox = sandbox_factory(
        clock=fake_clock, conversations_per_day=120, divisions=3, deleted_users=deleted_users
    )
    _, store = stores(s3_client, bucket_names)
    table, names = _named_day(sandbox, fake_clock, store)
    directory = sandbox.org.directory
    agents = {a.id: a for a in directory.agents}
    queues = {q.id: (i, q.name) for i, q in enumerate(directory.queues)}
    wrapups = {w.id: (i, w.name) for i, w in enumerate(directory.wrapups)}
    divisions = {d.id: d.name for d in directory.divisions}
    rows = table.to_pylist()
    seen_deleted = False
    for row in rows:
        for agent_id, name, email in zip(
            row["agent_ids"], row["agent_names"], row["agent_emails"], strict=True
        ):
            agent = agents[agent_id]
            if directory.agent_deleted(agent) and deleted_users == "absent":
                seen_deleted = True
                assert (name, email) == (None, None)
                assert "not in the answer" in names.unresolved()[USERS][agent_id]
            else:
                assert (name, email) == (agent.name, directory.email_of(agent))
        for queue_id, name in zip(row["queue_ids"], row["queue_names"], strict=True):
            index, expected = queues[queue_id]
            assert name == (None if index == DELETED_QUEUE else expected)
        for code, name in zip(row["wrap_up_codes"], row["wrap_up_names"], strict=True):
            index, expected = wrapups[code]
            assert name == (None if index == DELETED_WRAPUP else expected)
        assert row["division_names"] == [divisions[d] for d in row["division_ids"]]
    assert seen_deleted == (deleted_users == "absent")
    assert any(row["agent_names"] for row in rows) and any(row["wrap_up_names"] for row in rows)
    # Users and queues asked by id (one request each for a day's few ids), the listings read once each.
    asked = _name_requests(sandbox)
    assert sorted(e["path"] for e in asked) == sorted((*NAME_PATHS, "/api/v2/authorization/divisions"))
    assert all("pageSize=100" in e["query"] for e in asked)


def test_a_rerun_asks_for_no_name_it_holds_and_a_stale_name_is_asked_again(
    sandbox_factory, fake_clock, s3_client, bucket_names
):
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=80)
    _, store = stores(s3_client, bucket_names)
    first, _ = _named_day(sandbox, fake_clock, store)
    sandbox.reset_stats()
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)  # within a day: the unnamed ids are not asked again either
    again, names = _named_day(sandbox, fake_clock, store, now=now)
    assert _name_requests(sandbox) == [] and names.requests == {}
    assert again.select(["agent_names", "queue_names"]) == first.select(["agent_names", "queue_names"])
    held = read_table(store, names_key(USERS))
    assert held is not None and set(held["id"].to_pylist()) >= {
        i for ids in first["agent_ids"].to_pylist() for i in ids
    }
    sandbox.reset_stats()
    _named_day(sandbox, fake_clock, store, now=now + timedelta(days=REFRESH_DAYS))
    assert {e["path"] for e in _name_requests(sandbox)} >= {"/api/v2/users", "/api/v2/routing/queues"}


def test_a_refused_permission_and_a_malformed_name_are_reasons_never_errors(
    sandbox_factory, fake_clock, s3_client, bucket_names
):
    sandbox = sandbox_factory(
        clock=fake_clock,
        conversations_per_day=80,
        permissions=ALL_PERMISSIONS - {QUEUE_VIEW},
        malformed_names=True,
    )
    _, store = stores(s3_client, bucket_names)
    table, names = _named_day(sandbox, fake_clock, store)
    assert names.refused[QUEUES].startswith("permission missing (403: routing:queue:view")
    assert all(name is None for row in table["queue_names"].to_pylist() for name in row)
    assert read_table(store, names_key(QUEUES)) is None  # a refusal is not kept: a grant counts next run
    assert any(name for row in table["agent_names"].to_pylist() for name in row)
    assert set(names.names) == {USERS, QUEUES, WRAP_UP_CODES, DIVISIONS}
    # With the permission back, the first queue's name arrives as a number: that id's reason.
    granted = sandbox_factory(clock=fake_clock, conversations_per_day=80, malformed_names=True)
    _, later = _named_day(granted, fake_clock, store)
    first_queue = granted.org.directory.queues[0].id
    assert later.names[QUEUES][first_queue].name is None
    assert "not usable text" in (later.names[QUEUES][first_queue].reason or "")


def test_the_preflight_warns_never_refuses_without_the_name_permissions(sandbox_factory, fake_clock):
    without = ALL_PERMISSIONS - {QUEUE_VIEW, WRAPUP_VIEW}
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=5, permissions=without)

    async def go():
        async with genesys_client(sandbox, fake_clock) as client:
            return await client.preflight(("recording",), (), ())

    report = asyncio.run(go())
    named = [w for w in report.warnings if "(optional)" in w]
    assert len(named) == 2 and any(QUEUE_VIEW in w for w in named) and any(WRAPUP_VIEW in w for w in named)
    granted = sandbox_factory(clock=fake_clock, conversations_per_day=5)

    async def again():
        async with genesys_client(granted, fake_clock) as client:
            return await client.preflight(("recording",), (), ())

    assert [w for w in asyncio.run(again()).warnings if "(optional)" in w] == []
