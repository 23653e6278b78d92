"""The org's divisions: listed and paged as the SDK's get_authorization_divisions says, conversations
spread over them, analytics answering only the divisions the client's role is granted in, and the grant in
all divisions (``*``) shown either way the sources leave open (``Dialect.all_divisions_grant``)."""

from __future__ import annotations

import pytest

from recording_assets.sandbox.dialect import Dialect
from recording_assets_tests.sandbox.test_sandbox_support import YESTERDAY, Api, day_interval


def _conversations(api: Api) -> list[dict]:
    found: list[dict] = []
    number = 1
    while True:
        body = {"interval": day_interval(YESTERDAY), "paging": {"pageSize": 100, "pageNumber": number}}
        page = api.query(body).json().get("conversations") or []
        found += page
        if len(page) < 100:
            return found
        number += 1


def test_divisions_are_listed_page_by_page_without_a_permission(sandbox_factory):
    sandbox = sandbox_factory(conversations_per_day=0, divisions=30, permissions=frozenset())
    api = Api(sandbox)
    first = api.get("/api/v2/authorization/divisions").json()  # SDK default page size: 25
    second = api.get("/api/v2/authorization/divisions", params={"pageNumber": 2}).json()
    assert (len(first["entities"]), len(second["entities"])) == (25, 5)
    assert first["pageCount"] == 2 and first["total"] == 30 and "nextUri" in first and "nextUri" not in second
    ids = [d["id"] for d in first["entities"] + second["entities"]]
    assert ids == [d.id for d in sandbox.org.directory.divisions] and len(set(ids)) == 30
    assert [d["homeDivision"] for d in first["entities"][:2]] == [True, False]


def test_conversations_are_spread_over_the_divisions_and_all_are_seen_by_default(sandbox_factory, fake_clock):
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=60, divisions=3)
    seen = {c["divisionIds"][0] for c in _conversations(Api(sandbox))}
    assert seen == {d.id for d in sandbox.org.directory.divisions}


def test_analytics_answers_only_the_divisions_the_role_is_granted_in(sandbox_factory, fake_clock):
    full = sandbox_factory(clock=fake_clock, conversations_per_day=60, divisions=3)
    part = sandbox_factory(clock=fake_clock, conversations_per_day=60, divisions=3, covered_divisions=1)
    everything, visible = _conversations(Api(full)), _conversations(Api(part))
    home = part.org.directory.division.id
    assert visible and {c["divisionIds"][0] for c in visible} == {home}
    assert [c["conversationId"] for c in visible] == [
        c["conversationId"] for c in everything if c["divisionIds"] == [home]
    ]
    client = Api(part).get(f"/api/v2/oauth/clients/{part.config.client_id}").json()
    assert [rd["divisionId"] for rd in client["roleDivisions"]] == [home]


@pytest.mark.parametrize("reading", ["star", "expanded"])
def test_a_grant_in_all_divisions_shows_as_either_reading(sandbox_factory, fake_clock, reading):
    sandbox = sandbox_factory(
        clock=fake_clock,
        conversations_per_day=30,
        divisions=3,
        wildcard_grant=True,
        dialect=Dialect(all_divisions_grant=reading),
    )
    api = Api(sandbox)
    client = api.get(f"/api/v2/oauth/clients/{sandbox.config.client_id}").json()
    shown = [rd["divisionId"] for rd in client["roleDivisions"]]
    assert shown == (["*"] if reading == "star" else [d.id for d in sandbox.org.directory.divisions])
    assert len({c["divisionIds"][0] for c in _conversations(api)}) == 3


@pytest.mark.parametrize("listing", ["malformed", "forbidden"])
def test_an_unusable_divisions_answer_can_be_played(sandbox_factory, listing):
    response = Api(sandbox_factory(conversations_per_day=0, division_listing=listing)).get(
        "/api/v2/authorization/divisions"
    )
    if listing == "forbidden":
        assert response.status_code == 403
    else:
        assert response.status_code == 200 and not isinstance(response.json()["entities"], list)
