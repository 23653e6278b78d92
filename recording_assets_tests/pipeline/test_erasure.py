"""The erasure library on moto: what a subject matches (and what not), every version deleted, an Object
Lock refusal reported ``held`` with its date (the row stays archived), the audit row stored first."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from recording_assets.archive.keys import manifest_key
from recording_assets.archive.store import ArchiveStore
from recording_assets.pipeline.erasure import ErasureOrder, checked_reason, erase_subject
from recording_assets.pipeline.subjects import Subject, SubjectError, email_key, phone_key
from recording_assets.pipeline.table_io import read_table, write_table
from recording_assets.pipeline.tables import MANIFEST, to_table

DAY = date(2026, 11, 20)


@pytest.mark.parametrize(
    ("given", "key"),
    [
        ("tel:+15550001111", "+15550001111"),
        ("TEL:+1 (555) 000-1111", "+15550001111"),
        ("+1.555.000.1111;ext=22", "+15550001111"),
        ("15550001111", "15550001111"),  # no +: kept apart, never guessed into a country
        ("1234", None),  # a short code or an extension would match strangers
        ("sip:ann@example.com", None),
        ("", None),
    ],
)
def test_phone_numbers_are_normalised_e164_ish(given, key):
    assert phone_key(given) == key


def test_what_a_subject_matches_and_what_not():
    subject = Subject.of(phone_numbers=["+1 555-000-1111"], email_addresses=["Ann@Mail.Example"])
    assert subject.matches("c1", ["tel:+15550001111", "tel:+18005550001"])
    assert (
        subject.matches("c2", ["mailto:ann@mail.example"])
        and email_key("ANN@mail.example ") == "ann@mail.example"
    )
    assert not subject.matches("c3", ["tel:15550001111"])  # without its +
    assert not subject.matches("c4", ["tel:+155500011112", "ann@mail.example.org", ""])
    assert not subject.matches("c5", None)  # a row written before addresses were recorded
    assert Subject.of(conversation_ids=["c5"]).matches("c5", None)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({}, "nothing to erase"),
        ({"phone_numbers": ["12"]}, "phone number 1: not one that can be matched"),
        ({"email_addresses": ["x\nBcc: y@z"]}, "e-mail address 1: control characters"),
        ({"conversation_ids": ["../../etc"]}, "conversation id 1"),
    ],
)
def test_bad_identifiers_are_named_by_position_not_value(kwargs, named):
    with pytest.raises(SubjectError) as refused:
        Subject.of(**kwargs)
    assert named in str(refused.value) and "Bcc" not in str(refused.value)


def test_a_reason_is_required_and_bounded():
    assert checked_reason("  GDPR art. 17 ") == "GDPR art. 17"
    for bad in ("", "   ", "x" * 501, "line\nbreak", None):
        with pytest.raises(ValueError, match="reason"):
            checked_reason(bad)


def _manifest(bucket: str, keys: list[str]) -> list[dict]:
    return [
        {
            "conversation_id": f"c{n}",
            "recording_id": f"r{n}",
            "state": "archived",
            "sha256": f"{n:02d}" * 32,
            "size_bytes": 3,
            "storage_uri": f"s3://{bucket}/{key}",
            "participant_addresses": ["tel:+15550001111"] if n < 2 else ["tel:+15559999999"],
            "run_outcome": "archived",
        }
        for n, key in enumerate(keys)
    ]


def _run(s3_client, archive_bucket, manifests, request_id="req-1"):
    order = ErasureOrder(Subject.of(phone_numbers=["+15550001111"]), "test", request_id, "user:dpo", "run-e")
    return erase_subject(
        order, days=[DAY], manifests=manifests, s3_client=s3_client, archive_bucket=archive_bucket
    )


def test_every_version_is_deleted_and_the_other_subjects_object_is_kept(s3_client, bucket_names):
    archive, manifest_bucket = bucket_names
    s3_client.put_bucket_versioning(Bucket=archive, VersioningConfiguration={"Status": "Enabled"})
    keys = ["recordings/a.wav", "recordings/b.wav", "recordings/c.wav"]
    for key in keys:
        s3_client.put_object(Bucket=archive, Key=key, Body=b"one")
    s3_client.put_object(Bucket=archive, Key=keys[0], Body=b"two")  # a second version
    s3_client.delete_object(Bucket=archive, Key=keys[1])  # a delete marker over the bytes
    manifests = ArchiveStore(s3_client, bucket=manifest_bucket)
    write_table(manifests, manifest_key(day=DAY), to_table(_manifest(archive, keys), MANIFEST))

    report = _run(s3_client, archive, manifests)

    assert [f.recording_id for f in report.erased] == ["r0", "r1"] and not report.held
    left = s3_client.list_object_versions(Bucket=archive)
    assert {v["Key"] for v in (*left.get("Versions", ()), *left.get("DeleteMarkers", ()))} == {keys[2]}
    rows = read_table(manifests, manifest_key(day=DAY)).to_pylist()
    assert [r["state"] for r in rows] == ["erased", "erased", "archived"]
    assert rows[2] == to_table(_manifest(archive, keys), MANIFEST).to_pylist()[2]


def test_an_object_lock_refusal_is_held_with_its_date_and_the_row_stays_archived(s3_client, bucket_names):
    _, manifest_bucket = bucket_names
    locked = f"locked-{uuid.uuid4().hex[:8]}"
    s3_client.create_bucket(Bucket=locked, ObjectLockEnabledForBucket=True)
    until = (datetime.now(timezone.utc) + timedelta(days=30)).replace(microsecond=0)
    s3_client.put_object(
        Bucket=locked,
        Key="recordings/a.wav",
        Body=b"one",
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=until,
    )
    manifests = ArchiveStore(s3_client, bucket=manifest_bucket)
    write_table(manifests, manifest_key(day=DAY), to_table(_manifest(locked, ["recordings/a.wav"]), MANIFEST))

    report = _run(s3_client, locked, manifests)

    assert not report.erased and [f.recording_id for f in report.held] == ["r0"]
    held = report.held[0]
    assert held.held_until == until and "AccessDenied" in (held.detail or "")
    assert s3_client.get_object(Bucket=locked, Key="recordings/a.wav")["Body"].read() == b"one"
    assert read_table(manifests, manifest_key(day=DAY)).to_pylist()[0]["state"] == "archived"
    parts = [read_table(manifests, uri.split("/", 3)[3]).to_pylist() for uri in report.audit_uris]
    assert [[r["event"] for r in part] for part in parts] == [["erasing"], ["held"]]
    assert parts[1][0]["held_until"] == until and parts[0][0]["sha256"] == "00" * 32
