"""A sidecar's key sits beside its recording and is told apart from recordings and strays."""

from __future__ import annotations

from datetime import date

import pytest

from recording_assets.archive.errors import InvalidIdentifierError
from recording_assets.archive.keys import parse_recording_key, recording_key
from recording_assets.archive.sidecar_keys import is_sidecar_key, sidecar_key

KEY = recording_key(
    prefix="tenant/",
    day=date(2026, 11, 23),
    queue_id="q1",
    conversation_id="c1",
    recording_id="r.1",
    ext=".wav",
)


def test_the_sidecar_is_beside_its_recording_named_as_genesys_names_it():
    assert sidecar_key(KEY) == "tenant/recordings/year=2026/month=11/day=23/queue=q1/c1/r.1_metadata.json"
    assert is_sidecar_key(sidecar_key(KEY)) and not is_sidecar_key(KEY)
    # Without this test a sidecar would parse as a recording ``r.1_metadata`` of extension ``.json``:
    assert parse_recording_key(sidecar_key(KEY)).recording_id == "r.1_metadata"


@pytest.mark.parametrize(
    "key",
    [
        "recordings/README_metadata.json",
        "tenant/recordings/year=2026/month=11/day=23/x_metadata.json",
        "",
        None,
    ],
)
def test_a_stray_is_not_a_sidecar(key):
    assert not is_sidecar_key(key)


def test_a_key_that_is_not_a_recording_has_no_sidecar():
    with pytest.raises(InvalidIdentifierError):
        sidecar_key("recordings/a.wav")
