"""Re-verifying a day from S3 (moto) against its manifest rows: the sample's size, and what it catches."""

from __future__ import annotations

import random

import pytest

from recording_assets.archive.store import ArchiveStore
from recording_assets.pipeline.reverify import reverify, sample
from recording_assets_tests.archive.test_archive_sniff import wav_bytes
from recording_assets_tests.pipeline.test_verify import put

PREFIX = "recordings/year=2026/month=11/day=20/queue=q1/c1/"


def rows(n: int, state="archived") -> list[dict]:
    return [{"recording_id": f"r{i}", "state": state} for i in range(n)]


@pytest.mark.parametrize(
    "archived,fraction,minimum,expected",
    [
        (1000, 0.02, 5, 20),
        (100, 0.02, 5, 5),
        (101, 0.05, 5, 6),
        (3, 0.02, 5, 3),
        (40, 1.0, 5, 40),
        (0, 0.02, 5, 0),
    ],
)
def test_the_sample_is_the_share_rounded_up_at_least_the_minimum_at_most_all(
    archived, fraction, minimum, expected
):
    population = rows(archived) + rows(7, "deleted")
    chosen = sample(population, fraction=fraction, minimum=minimum, rng=random.Random(1))
    assert len(chosen) == expected and all(r["state"] == "archived" for r in chosen)
    assert len({r["recording_id"] for r in chosen}) == expected


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5])
def test_a_share_outside_0_to_1_is_refused_naming_it(fraction):
    with pytest.raises(ValueError, match=f"fraction={fraction}"):
        sample(rows(10), fraction=fraction, minimum=5, rng=random.Random(1))


@pytest.fixture
def store(s3_client, bucket_names):
    return ArchiveStore(s3_client, bucket=bucket_names[0])


def manifest_row(store, name: str, data: bytes) -> dict:
    return {**put(store, PREFIX + name, data), "container": "wav"}


def test_intact_objects_pass_and_every_kind_of_damage_is_named(store, s3_client):
    good = [manifest_row(store, f"r{i}.wav", wav_bytes(frames=100 * (i + 1))) for i in range(4)]
    assert reverify(store, good, fraction=1.0).passed

    swapped = manifest_row(store, "swapped.wav", wav_bytes())
    # Bytes replaced behind the archive's back (same key): the read-back hash no longer matches.
    s3_client.put_object(Bucket=store.bucket, Key=PREFIX + "swapped.wav", Body=wav_bytes(frames=4000))
    wrong_container = {**manifest_row(store, "claims-ogg.wav", wav_bytes()), "container": "ogg"}
    missing = {**good[0], "recording_id": "gone", "storage_uri": f"s3://{store.bucket}/{PREFIX}gone.wav"}
    result = reverify(store, [*good, swapped, wrong_container, missing], fraction=1.0)
    problems = {p["recording_id"]: p["problem"] for p in result.problems}
    assert set(problems) == {swapped["recording_id"], "claims-ogg", "gone"}
    assert "sha256" in problems[swapped["recording_id"]]
    assert "bytes are wav, the manifest says ogg" in problems["claims-ogg"]
    assert problems["gone"] == "object missing"
    assert result.archived == 7 and len(result.sampled) == 7


def test_the_default_sample_reads_at_least_five(store):
    good = [manifest_row(store, f"r{i}.wav", wav_bytes(frames=100 * (i + 1))) for i in range(8)]
    result = reverify(store, good)
    assert result.passed and len(result.sampled) == 5 and result.archived == 8
