"""Names end to end: the archive_day job on a sandbox day writes every manifest row with the names the
sandbox's directory knows, index by index with the ids, null where an id cannot be named, with the reason
in recording_metadata's materialisation; a re-run of the day asks the sandbox for no name."""

from __future__ import annotations

from recording_assets.genesys import divisions as coverage
from recording_assets.genesys import names
from recording_assets.sandbox.org import DELETED_QUEUE, DELETED_WRAPUP
from recording_assets_tests.defs.test_assets_e2e import manifest, materialise

NAME_PATHS = (
    "/api/v2/users",
    "/api/v2/routing/queues",
    "/api/v2/routing/wrapupcodes",
    "/api/v2/authorization/divisions",
)


def _name_requests(local) -> int:
    """The names' requests: the preflight's division coverage reads the divisions too, at its own page size."""
    assert coverage.PAGE_SIZE != names.PAGE_SIZE
    ours = f"pageSize={names.PAGE_SIZE}"
    return sum(e["path"] in NAME_PATHS and ours in e["query"] for e in local.sandbox.stats()["log"])


def test_manifest_rows_carry_the_names_and_a_rerun_asks_for_none(local_stack):
    local = local_stack(conversations_per_day=80)
    directory = local.sandbox.org.directory
    _, checks, meta = materialise()
    assert all(checks.values())
    rows = manifest(local)
    agents = {a.id: a for a in directory.agents}
    queues = {q.id: None if i == DELETED_QUEUE else q.name for i, q in enumerate(directory.queues)}
    wrapups = {w.id: None if i == DELETED_WRAPUP else w.name for i, w in enumerate(directory.wrapups)}
    unnamed = set()
    for row in rows:
        for agent_id, name, email in zip(
            row["agent_ids"], row["agent_names"], row["agent_emails"], strict=True
        ):
            agent = agents[agent_id]
            if directory.agent_deleted(agent):  # left out of the users answer: an id without a name
                assert (name, email) == (None, None)
                unnamed.add(agent_id)
            else:
                assert (name, email) == (agent.name, directory.email_of(agent))
        assert row["queue_names"] == [queues[q] for q in row["queue_ids"]]
        assert row["wrap_up_names"] == [wrapups[w] for w in row["wrap_up_codes"]]
        assert row["division_names"] == [directory.division.name] and row["division_ids"]
    assert rows and any(row["agent_names"] for row in rows)
    reasons = meta["recording_metadata"]["names_unresolved_reasons"].value
    assert set(reasons.get("users", {})) == unnamed
    assert _name_requests(local) > 0
    local.sandbox.reset_stats()
    materialise()
    assert _name_requests(local) == 0
    assert [r["agent_names"] for r in manifest(local)] == [r["agent_names"] for r in rows]
