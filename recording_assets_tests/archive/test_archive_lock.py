"""Object Lock on the create-only write, against moto in server mode (it enforces retention and legal holds
on delete). moto 5.2's ``GetObjectRetention`` is broken in server mode (it answers with the body), so the
retention is read from ``HeadObject``, which reports ``ObjectLockMode`` and ``ObjectLockRetainUntilDate``."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from recording_assets.archive.errors import IntegrityError
from recording_assets.archive.lock import ObjectLock, ObjectLockNotEnabledError
from recording_assets_tests.archive.test_archive_store import (
    KEY,
    LARGE,
    SMALL,
    flip_a_bit_on_the_wire,
    make_store,
    sha256_hex,
    spool_of,
)

UNTIL = datetime(2036, 11, 20, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def locked_bucket(s3_client):
    name = f"locked-{uuid.uuid4().hex[:10]}"
    s3_client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


@pytest.mark.parametrize("mode", ["GOVERNANCE", "COMPLIANCE"])
def test_a_new_object_is_created_locked_and_s3_refuses_deleting_it(s3_client, locked_bucket, mode):
    store = make_store(s3_client, locked_bucket)
    with spool_of(SMALL) as spool:
        stored = store.put_new(
            KEY, spool, content_type="audio/wav", metadata={}, lock=ObjectLock(mode, UNTIL)
        )
    head = s3_client.head_object(Bucket=locked_bucket, Key=KEY)
    assert (head["ObjectLockMode"], head["ObjectLockRetainUntilDate"]) == (mode, UNTIL)
    info = store.head(KEY)
    assert (info.lock_mode, info.retain_until) == (mode, UNTIL)
    with pytest.raises(ClientError, match="AccessDenied"):
        s3_client.delete_object(Bucket=locked_bucket, Key=KEY, VersionId=stored.version_id)
    assert store.read_back_sha256(KEY) == sha256_hex(SMALL)


def test_an_unverified_compliance_write_is_reported_as_remaining_not_as_removed(s3_client, locked_bucket):
    # The bytes change on the wire; reading back catches it; COMPLIANCE refuses the delete: the error must
    # say the object stays, locked, rather than claim that nothing is left under the key.
    store = make_store(s3_client, locked_bucket, verify_by_read_back=True)
    flipped = flip_a_bit_on_the_wire(s3_client, "PutObject")
    lock = ObjectLock("COMPLIANCE", UNTIL)
    with spool_of(SMALL) as spool, pytest.raises(IntegrityError) as raised:
        store.put_new(KEY, spool, content_type="audio/wav", metadata={}, lock=lock)
    assert flipped
    assert raised.value.cleaned_up is False
    assert "Object Lock COMPLIANCE until 2036-11-20T09:30:00+00:00" in raised.value.detail
    assert store.head(KEY) is not None  # S3 kept it, as the error says: the flipped bytes themselves
    with pytest.raises(IntegrityError, match="stored checksum does not match"):
        store.read_back_sha256(KEY)


def test_an_unverified_governance_write_is_deleted_with_the_bypass_for_its_own_version(
    s3_client, locked_bucket
):
    store = make_store(s3_client, locked_bucket, verify_by_read_back=True)
    flipped = flip_a_bit_on_the_wire(s3_client, "PutObject")
    with spool_of(SMALL) as spool, pytest.raises(IntegrityError) as raised:
        store.put_new(KEY, spool, content_type="audio/wav", metadata={}, lock=ObjectLock("GOVERNANCE", UNTIL))
    assert flipped and raised.value.cleaned_up is True
    versions = s3_client.list_object_versions(Bucket=locked_bucket, Prefix=KEY)
    assert versions.get("Versions", []) == [] and versions.get("DeleteMarkers", []) == []


def test_a_bucket_without_object_lock_is_named_with_the_fix(s3_client, bucket_names, locked_bucket):
    plain = bucket_names[0]
    with pytest.raises(ObjectLockNotEnabledError) as raised:
        make_store(s3_client, plain).require_object_lock(setting="RECORDING_OBJECT_LOCK_MODE")
    message = str(raised.value)
    assert f"s3://{plain} does not have Object Lock enabled" in message
    assert "RECORDING_OBJECT_LOCK_MODE" in message and "put-object-lock-configuration" in message
    configuration = make_store(s3_client, locked_bucket).require_object_lock(setting="X")
    assert configuration["ObjectLockEnabled"] == "Enabled"


def test_a_legal_hold_blocks_the_delete_until_it_is_cleared(s3_client, locked_bucket):
    store = make_store(s3_client, locked_bucket)
    with spool_of(SMALL) as spool:
        stored = store.put_new(KEY, spool, content_type="audio/wav", metadata={})  # no retention at all
    store.set_legal_hold(KEY, on=True)
    with pytest.raises(ClientError, match="AccessDenied"):
        s3_client.delete_object(Bucket=locked_bucket, Key=KEY, VersionId=stored.version_id)
    store.set_legal_hold(KEY, on=False)
    s3_client.delete_object(Bucket=locked_bucket, Key=KEY, VersionId=stored.version_id)
    assert store.head(KEY) is None


def test_the_policy_counts_from_the_conversation_start_and_skips_an_ended_retention():
    from recording_assets.pipeline.config import InvalidConfigError, ObjectLockPolicy

    start = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)
    policy = ObjectLockPolicy("COMPLIANCE", 3653)
    lock = policy.lock_for(start, now=start + timedelta(days=400))
    assert lock == ObjectLock("COMPLIANCE", start + timedelta(days=3653))
    assert policy.lock_for(start, now=start + timedelta(days=3653)) is None  # S3 refuses a past date
    fraction = policy.lock_for(start + timedelta(microseconds=91_000), now=start)
    assert fraction is not None and fraction.retain_until == lock.retain_until + timedelta(seconds=1)
    with pytest.raises(InvalidConfigError, match="GOVERNANCE or COMPLIANCE"):
        ObjectLockPolicy("LEGAL", 10)
    with pytest.raises(InvalidConfigError, match="object_lock days"):
        ObjectLockPolicy("GOVERNANCE", 0)


def test_a_multipart_upload_asks_for_the_lock_when_it_is_created(s3_client, locked_bucket):
    # moto ignores the lock headers of CreateMultipartUpload (AWS applies them), so the request is what is
    # checked here: the lock rides on the create, before any part is sent.
    sent: dict[str, str] = {}

    def note(request, **_):
        sent.update(
            {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}
        )

    s3_client.meta.events.register("before-send.s3.CreateMultipartUpload", note)
    store = make_store(s3_client, locked_bucket)
    with spool_of(LARGE) as spool:
        store.put_new(KEY, spool, content_type="audio/wav", metadata={}, lock=ObjectLock("COMPLIANCE", UNTIL))
    assert sent["x-amz-object-lock-mode"] == "COMPLIANCE"
    assert sent["x-amz-object-lock-retain-until-date"].startswith("2036-11-20T09:30:00")
    assert store.read_back_sha256(KEY) == sha256_hex(LARGE)
