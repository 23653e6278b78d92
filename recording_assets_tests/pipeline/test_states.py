"""End states: which count as in the archive, and the manifest's view. (Which states the next run works on
again depends on the run's options: ``settled.is_final``, tested in test_settled.py.)"""

from __future__ import annotations

from recording_assets.pipeline.states import IN_ARCHIVE, State, manifest_state


def test_the_nine_states_and_their_values():
    assert [s.value for s in State] == [
        "archived",
        "already_archived",
        "archived_in_genesys",
        "restoring",  # restore_archived (opt in)
        "deleted",
        "excluded",
        "quarantined",
        "failed",
        "erased",  # an erasure (GDPR) removed it from the archive
    ]
    assert State("failed") is State.FAILED


def test_only_archived_and_already_archived_are_in_the_archive():
    assert {s for s in State if s.in_archive} == {State.ARCHIVED, State.ALREADY_ARCHIVED}
    assert IN_ARCHIVE == ("archived", "already_archived")


def test_manifest_state_is_the_archive_view():
    assert manifest_state(State.ALREADY_ARCHIVED) == "archived"
    assert manifest_state(State.ARCHIVED) == "archived"
    assert manifest_state(State.DELETED) == "deleted"
    assert manifest_state(State.QUARANTINED) == "quarantined"
