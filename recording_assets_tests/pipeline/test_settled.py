"""What is settled before a run asks Genesys anything: the archive's objects, final previous outcomes, and
the conversations table that lets a re-run of a complete day spend no batch request or look-up."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from recording_assets.archive.keys import recording_key
from recording_assets.archive.objects import ObjectInfo
from recording_assets.archive.spool import MediaSpool
from recording_assets.pipeline import settled
from recording_assets.pipeline.config import ArchiveConfig
from recording_assets.pipeline.outcome import Outcome
from recording_assets.pipeline.states import State
from recording_assets.pipeline.tables import CONVERSATIONS
from recording_assets_tests.pipeline.support import DAY, stores
from recording_assets_tests.pipeline.test_classify import START, context, conversation

PERMITTED = ArchiveConfig(), True  # the configuration, and the sensitive-data permission confirmed


def previous_of(rows: dict) -> dict:
    """Previous outcome rows by key, read as the archiver reads them (``Outcome.from_row``)."""
    return {
        key: Outcome.from_row({"conversation_id": key[0], "recording_id": key[1], **row})
        for key, row in rows.items()
    }


def table_of(rows: dict) -> dict:
    """Conversations table rows by conversation, read as the archiver reads them."""
    return {
        cid: settled.ConversationRow.from_row({"conversation_id": cid, **row}) for cid, row in rows.items()
    }


def with_work(conversations, existing=(), previous=None, table=None, options=PERMITTED):
    pending = settled.unfinished(existing, previous_of(previous or {}), *options)
    return settled.conversations_with_work(conversations, pending, table_of(table or {}))


# -- which conversations have work (pure)


def test_a_conversation_no_finished_run_settled_has_work_flagged_or_not():
    # Unflagged ones too: the flag is documented for audio only, and chats hold transcripts.
    assert with_work({"c1": conversation("c1", 0), "c2": conversation("c2", 2)}) == ["c1", "c2"]
    # A run cut off mid-day stored one recording of c1 and wrote no table: c1 may hold more.
    assert with_work({"c1": conversation("c1", 2)}, existing=[("c1", "r1")]) == ["c1"]


def test_a_settled_conversation_needs_no_request_until_analytics_flags_more_sessions():
    conversations = {"c1": conversation("c1", 2), "c2": conversation("c2", 3), "c3": conversation("c3", 1)}
    table = {
        "c1": {"settled": True, "recorded_sessions": 2},
        "c2": {"settled": True, "recorded_sessions": 2},  # a session flagged since: a late recording
        "c3": {"settled": False, "recorded_sessions": 1},  # its batch or a look-up did not answer
    }
    assert with_work(conversations, table=table) == ["c2", "c3"]


def test_flags_are_never_compared_with_recordings():
    # Two flagged sessions, one recording (a stereo call flagged on both sides): nothing to ask again.
    conversations = {"c1": conversation("c1", 2)}
    settled_once = {"c1": {"settled": True, "recorded_sessions": 2}}
    assert with_work(conversations, existing=[("c1", "r1")], table=settled_once) == []


def test_failed_last_time_means_work_and_excluded_is_final_only_without_the_permission():
    conversations = {"c1": conversation("c1", 1), "c2": conversation("c2", 1)}
    previous = {("c1", "r1"): {"state": "failed"}, ("c2", "r1"): {"state": "excluded"}}
    table = {cid: {"settled": True, "recorded_sessions": 1} for cid in conversations}
    for permission in (None, False):
        options = ArchiveConfig(), permission
        assert with_work(conversations, previous=previous, table=table, options=options) == ["c1"]
    # With the permission now granted, an excluded recording is worth asking for again.
    assert with_work(conversations, previous=previous, table=table) == ["c1", "c2"]


def test_a_lasting_quarantine_is_final_unless_forced():
    conversations = {"c1": conversation("c1", 1), "c2": conversation("c2", 1)}
    previous = {
        ("c1", "r1"): {"state": "quarantined", "quarantine_repeats": 2},
        ("c2", "r1"): {"state": "quarantined", "quarantine_repeats": 1},  # once: it may have been a glitch
    }
    table = {cid: {"settled": True, "recorded_sessions": 1} for cid in conversations}
    assert with_work(conversations, previous=previous, table=table) == ["c2"]
    forced = ArchiveConfig(force_quarantined=True), True
    assert with_work(conversations, previous=previous, table=table, options=forced) == ["c1", "c2"]


def test_an_existing_object_outranks_a_previous_failure():
    conversations = {"c1": conversation("c1", 1)}
    table = {"c1": {"settled": True, "recorded_sessions": 1}}
    previous = {("c1", "r1"): {"state": "failed"}}
    assert with_work(conversations, existing=[("c1", "r1")], previous=previous, table=table) == []
    assert with_work(conversations, previous=previous, table=table) == ["c1"]


def test_a_row_that_says_archived_but_whose_object_is_gone_means_work():
    assert with_work({"c1": conversation("c1", 1)}, previous={("c1", "r1"): {"state": "archived"}}) == ["c1"]


def test_carried_forward_keeps_previous_states_and_a_quarantines_one_copy():
    conversations = {"c1": conversation("c1", 3)}
    uri = "s3://a/quarantine/x.wav.abc"
    previous = {
        ("c1", "r1"): {"state": "deleted", "reason": "fileState DELETED", "file_state": "DELETED"},
        ("c1", "r2"): {"state": "failed", "reason": "old"},
        ("c1", "r3"): {
            "state": "quarantined",
            "reason": "bad",
            "sha256": "abc",
            "quarantine_uri": uri,
            "quarantine_repeats": 2,
        },
        ("gone", "r9"): {"state": "excluded"},  # no longer in the day's conversations
    }
    carried = settled.carried_forward(conversations, previous_of(previous), done=[("c1", "r2")])
    assert carried == [
        Outcome("c1", "r1", State.DELETED, reason="fileState DELETED", file_state="DELETED", attempts=0),
        Outcome(
            "c1",
            "r3",
            State.QUARANTINED,
            reason="bad",
            sha256="abc",
            quarantine_uri=uri,
            quarantine_repeats=2,
        ),
    ]


def test_settled_rows_after_a_run():
    ctx = context(
        [conversation("c1", 2), conversation("c2", 1), conversation("c3", 0), conversation("c4", 1)]
    )
    ctx.ledger.finish(Outcome("c1", "r1", State.ARCHIVED))
    ctx.ledger.finish(Outcome("c2", "r1", State.FAILED))
    ctx.ledger.mark_unsettled("c4")  # its look-up failed
    rows = {r["conversation_id"]: r for r in settled.settled_rows(ctx, ["c1", "c2", "c3", "c4"], {})}
    assert {cid: r["settled"] for cid, r in rows.items()} == {
        "c1": True,
        "c2": False,
        "c3": True,
        "c4": False,
    }
    assert (rows["c1"]["recordings"], rows["c1"]["recorded_sessions"], rows["c3"]["recordings"]) == (1, 2, 0)


def test_a_conversations_row_is_typed_both_ways():
    row = settled.ConversationRow("c1", recorded_sessions=2, recordings=1, settled=True, run_id="run-1")
    assert list(row.row()) == CONVERSATIONS.names
    assert settled.ConversationRow.from_row(row.row()) == row
    assert settled.ConversationRow.from_row({"conversation_id": "c2", "recorded_sessions": None}) == (
        settled.ConversationRow("c2", recorded_sessions=0, recordings=0, settled=False, run_id=None)
    )
    assert settled.conversations_from_rows(
        [{"conversation_id": None}, {"conversation_id": ""}, row.row()]
    ) == [row]


def test_a_conversation_not_asked_keeps_its_settled_row():
    ctx = context([conversation("c1", 1)])
    rows = settled.settled_rows(ctx, [], table_of({"c1": {"settled": True, "recorded_sessions": 2}}))
    assert (rows[0]["settled"], rows[0]["recorded_sessions"]) == (True, 2)


# -- what the archive holds (moto)


def test_existing_outcome_from_an_objects_metadata():
    key = recording_key(
        prefix="p/", day=DAY, queue_id=None, conversation_id="c1", recording_id="r1", ext=".oga"
    )
    metadata = {"sha256": "ab", "archived-at": START.isoformat(), "run-id": "run-1"}
    head = ObjectInfo("b", key, 10, "e", START, "audio/ogg", metadata, "AES256", None, None, None)
    outcome = settled.existing_outcome(key, head, prefix="p/", uri=f"s3://b/{key}")
    assert outcome == Outcome(
        "c1",
        "r1",
        State.ALREADY_ARCHIVED,
        sha256="ab",
        size_bytes=10,
        content_type="audio/ogg",
        container="oga",  # none in the metadata: from the key's extension
        storage_uri=f"s3://b/{key}",
        archived_at=START,
        archived_run_id="run-1",
        checksum_verified_by="earlier-run",
    )


def test_load_existing_lists_heads_and_aborts_stale_uploads(s3_client, bucket_names, fake_clock):
    store, manifest_store = stores(s3_client, bucket_names)
    key, stale = (
        recording_key(prefix="", day=DAY, queue_id="q1", conversation_id="c1", recording_id=rid, ext=".wav")
        for rid in ("r1", "r2")
    )
    with MediaSpool() as spool:
        spool.write(b"RIFF")
        store.put_new(key, spool, content_type="audio/wav", metadata={"run-id": "run-1", "container": "wav"})
    s3_client.create_multipart_upload(Bucket=store.bucket, Key=stale)
    with ThreadPoolExecutor(max_workers=2) as executor:
        ctx = context(store=store, executor=executor)
        existing = asyncio.run(settled.load_existing(ctx))
        ctx.ledger.found_in_archive(existing.outcomes)  # as the archiver does
    assert existing.strays == []
    assert list(ctx.ledger.existing) == [("c1", "r1")] and ctx.ledger.outcomes == ctx.ledger.existing
    found = ctx.ledger.existing[("c1", "r1")]
    assert (found.state, found.size_bytes, found.archived_run_id, found.container) == (
        State.ALREADY_ARCHIVED,
        4,
        "run-1",
        "wav",
    )
    assert s3_client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []


def test_keys_under_the_day_that_are_not_ours_are_strays_not_recordings_nor_errors(
    s3_client, bucket_names, fake_clock
):
    store, _ = stores(s3_client, bucket_names)
    ours = recording_key(
        prefix="", day=DAY, queue_id="q1", conversation_id="c1", recording_id="r1", ext=".wav"
    )
    with MediaSpool() as spool:
        spool.write(b"RIFF")
        store.put_new(ours, spool, content_type="audio/wav", metadata={"run-id": "run-1", "container": "wav"})
    day_prefix = ours.split("queue=")[0]
    strays = [
        day_prefix,  # a folder marker
        f"{day_prefix}README.txt",
        f"{day_prefix}queue=q1/c1/",  # a folder marker deeper down
        f"{day_prefix}queue=q1/notes",  # no conversation segment
        f"{day_prefix}queue=q1/c1/r1",  # no extension
        f"{day_prefix}queue=q 1/c1/r1.wav",  # a queue that is not an identifier
    ]
    for key in strays:
        s3_client.put_object(Bucket=store.bucket, Key=key, Body=b"not ours")
    with ThreadPoolExecutor(max_workers=2) as executor:
        existing = asyncio.run(settled.load_existing(context(store=store, executor=executor)))
    assert [o.key for o in existing.outcomes] == [("c1", "r1")]
    assert sorted(existing.strays) == sorted(strays)


# -- erased recordings are final for good


def test_erased_is_final_under_every_setting():
    erased = Outcome("c1", "r1", State.ERASED, reason="erasure")
    for config in (ArchiveConfig(), ArchiveConfig(force_quarantined=True)):
        for permission in (None, False, True):
            assert settled.is_final(erased, config, permission)


def test_a_rerun_never_downloads_an_erased_recording_even_when_its_conversation_is_asked_again(
    sandbox_factory, fake_clock, s3_client, bucket_names
):
    """The erasure removed the object and left ``erased`` in the outcomes; the conversation is asked again
    (no conversations table: nothing settled) and its batch answers the recording with a URL, as Genesys
    still may: the rerun keeps it erased and spends no download on it."""
    from recording_assets_tests.pipeline.support import archive_day, requests_by_family

    archive, manifest = stores(s3_client, bucket_names)
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=12, media_scale=0.002)
    report, _, _ = archive_day(sandbox, fake_clock, archive, manifest)
    target = next(o for o in report.outcomes if o.state is State.ARCHIVED)
    key = target.storage_uri.removeprefix(f"s3://{archive.bucket}/")
    s3_client.delete_object(Bucket=archive.bucket, Key=key)
    rows = [o.row("run-1") for o in report.outcomes]
    for row in rows:
        if (row["conversation_id"], row["recording_id"]) == target.key:
            row.update(state="erased", reason="erased: test", storage_uri=None)
    media_before = requests_by_family(sandbox)["media"]

    rerun, _, _ = archive_day(sandbox, fake_clock, archive, manifest, previous=rows, run_id="run-2")

    states = {o.key: o.state for o in rerun.outcomes}
    assert states[target.key] is State.ERASED
    assert rerun.batch_rounds == 1  # the conversations were asked again: the erased one came back listed
    assert requests_by_family(sandbox)["media"] == media_before and rerun.uploads == 0
    assert "Contents" not in s3_client.list_objects_v2(Bucket=archive.bucket, Prefix=key)
