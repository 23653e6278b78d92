"""Preflight with the opt-in retention features: a permission they need and the roles lack fails the run at
once, naming it; with the roles unreadable it is a warning, never a guess. Screen recordings' permissions
are checked whenever screen recordings are in scope (they ride on voice and digital conversations); the
annotation permission only narrows what is kept (bookmarks), so its absence warns."""

from __future__ import annotations

import asyncio

import pytest

from recording_assets.genesys.errors import PermissionDeniedError
from recording_assets.genesys.retention import ANNOTATION_VIEW, RESTORE, SCREEN_RESTORE, SCREEN_VIEW
from recording_assets.pipeline.config import ArchiveConfig, RetentionConfig
from recording_assets.sandbox import Faults
from recording_assets_tests.pipeline.support import genesys_client

RESTORE_ON = RetentionConfig(restore_archived=True).extra_permissions()


def _preflight(sandbox_factory, clock, denied, permissions, wanted=()):
    sandbox = sandbox_factory(
        clock=clock, conversations_per_day=5, faults=Faults(deny_permissions=frozenset(denied))
    )

    async def go():
        async with genesys_client(sandbox, clock) as client:
            return await client.preflight(("recording",), permissions, wanted)

    return asyncio.run(go())


def test_restore_on_without_the_restore_permission_fails_naming_it(sandbox_factory, fake_clock):
    assert RESTORE_ON == (RESTORE,)
    with pytest.raises(PermissionDeniedError) as err:
        _preflight(sandbox_factory, fake_clock, {RESTORE}, RESTORE_ON)
    assert err.value.permission == RESTORE and RESTORE in str(err.value)


def test_the_permissions_found_are_confirmed_and_carried(sandbox_factory, fake_clock):
    needed = RetentionConfig(restore_archived=True, protect_until_archived=True).extra_permissions(
        screen=True
    )
    report = _preflight(sandbox_factory, fake_clock, set(), needed)
    assert report.confirmed == needed and len(needed) == 4 and SCREEN_RESTORE in needed
    assert type(report).from_json(report.to_json()) == report


def test_unreadable_roles_leave_them_unconfirmed_with_a_warning(sandbox_factory, fake_clock):
    report = _preflight(sandbox_factory, fake_clock, {"oauth:client:view"}, RESTORE_ON)
    assert report.confirmed == () and any(RESTORE in w for w in report.warnings)


@pytest.mark.parametrize(
    ("media_types", "in_scope"),
    [(None, True), (("voice",), True), (("chat", "email"), True), (("screenshare",), False)],
)
def test_screen_permissions_are_checked_whenever_screen_recordings_are_in_scope(
    sandbox_factory, fake_clock, media_types, in_scope
):
    config = ArchiveConfig(media_types=media_types, retention=RetentionConfig(restore_archived=True))
    needed = config.preflight_permissions()
    assert (SCREEN_VIEW in needed, SCREEN_RESTORE in needed) == (in_scope, in_scope)
    if in_scope:
        with pytest.raises(PermissionDeniedError) as err:
            _preflight(sandbox_factory, fake_clock, {SCREEN_RESTORE}, needed)
        assert err.value.permission == SCREEN_RESTORE


def test_annotations_without_their_permission_warn_and_the_run_goes_on(sandbox_factory, fake_clock):
    wanted = RetentionConfig(annotations=True).wanted_permissions
    assert wanted == (ANNOTATION_VIEW,) and RetentionConfig(annotations=True).extra_permissions() == ()
    report = _preflight(sandbox_factory, fake_clock, {ANNOTATION_VIEW}, (), wanted)
    assert any(ANNOTATION_VIEW in w and "bookmark" in w for w in report.warnings)
