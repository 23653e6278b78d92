"""Preflight compares the org's divisions with those the client's viewing roles are granted in: full
coverage or a grant in all divisions (``*``, under both readings of how it shows) is silent; partial
coverage warns naming exactly the uncovered divisions (a bounded list) and the fix; a divisions answer
that cannot be used (refused, malformed) is a warning that says so, never a failed preflight."""

from __future__ import annotations

import asyncio

import pytest

from recording_assets.genesys.divisions import NAMED_MAX
from recording_assets.genesys.preflight import PreflightReport
from recording_assets.sandbox import Faults
from recording_assets.sandbox.dialect import Dialect
from recording_assets_tests.pipeline.support import genesys_client


def _preflight(sandbox_factory, clock, **config) -> tuple[PreflightReport, object]:
    sandbox = sandbox_factory(clock=clock, conversations_per_day=5, **config)

    async def go():
        async with genesys_client(sandbox, clock) as client:
            return await client.preflight(("recording",), (), ())

    return asyncio.run(go()), sandbox


def _division_warnings(report: PreflightReport) -> list[str]:
    return [w for w in report.warnings if "division" in w]


def test_a_role_granted_in_every_division_gives_no_warning(sandbox_factory, fake_clock):
    report, _ = _preflight(sandbox_factory, fake_clock, divisions=4)
    assert report.divisions_not_covered == () and _division_warnings(report) == []
    assert report.division_coverage == "complete"


def test_partial_coverage_warns_naming_exactly_the_uncovered_divisions(sandbox_factory, fake_clock):
    report, sandbox = _preflight(sandbox_factory, fake_clock, divisions=4, covered_divisions=2)
    left_out = sandbox.org.directory.divisions[2:]
    assert report.divisions_not_covered == tuple((d.id, d.name) for d in left_out)
    assert report.division_coverage == "partial"
    (warning,) = _division_warnings(report)
    assert "2 of the org's 4 divisions" in warning and "(*)" in warning
    for division in sandbox.org.directory.divisions:
        assert (division.id in warning) == (division in left_out)
    assert PreflightReport.from_json(report.to_json()) == report


def test_the_warning_names_a_bounded_number_of_divisions(sandbox_factory, fake_clock):
    report, sandbox = _preflight(sandbox_factory, fake_clock, divisions=40, covered_divisions=1)
    assert len(report.divisions_not_covered) == 39  # the report keeps them all; the warning names a few
    (warning,) = _division_warnings(report)
    named = [d for d in sandbox.org.directory.divisions if d.id in warning]
    assert len(named) == NAMED_MAX and f"and {39 - NAMED_MAX} more" in warning


@pytest.mark.parametrize("reading", ["star", "expanded"])
def test_a_grant_in_all_divisions_gives_no_warning_under_either_reading(sandbox_factory, fake_clock, reading):
    report, _ = _preflight(
        sandbox_factory,
        fake_clock,
        divisions=4,
        wildcard_grant=True,
        dialect=Dialect(all_divisions_grant=reading),
    )
    assert report.divisions_not_covered == () and _division_warnings(report) == []
    assert report.division_coverage == "complete"


@pytest.mark.parametrize(("listing", "why"), [("forbidden", "(403)"), ("malformed", "no list of entities")])
def test_unreadable_divisions_are_a_warning_saying_so(sandbox_factory, fake_clock, listing, why):
    report, _ = _preflight(
        sandbox_factory, fake_clock, divisions=4, covered_divisions=2, division_listing=listing
    )
    (warning,) = _division_warnings(report)
    assert warning.startswith("could not read the org's divisions") and why in warning
    assert report.divisions_not_covered == () and report.division_coverage == "unknown"
    assert report.families == ("recording",)


def test_unreadable_roles_leave_coverage_unknown_without_reading_the_divisions(sandbox_factory, fake_clock):
    report, sandbox = _preflight(
        sandbox_factory,
        fake_clock,
        divisions=4,
        covered_divisions=2,
        faults=Faults(deny_permissions=frozenset({"oauth:client:view"})),
    )
    assert report.divisions_not_covered == () and report.division_coverage == "unknown"
    paths = [entry["path"] for entry in sandbox.state.stats.snapshot()["log"]]
    assert f"/api/v2/oauth/clients/{sandbox.config.client_id}" in paths  # asked, refused
    assert "/api/v2/authorization/divisions" not in paths
