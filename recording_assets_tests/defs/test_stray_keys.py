"""Objects under the day's recordings prefix that are not ours (a folder marker, a README, keys that do not
parse): the run skips them with a warning and names them in ``recording_audio``'s metadata, never fails on
them, and leaves them untouched (moto, the sandbox, the real asset graph in-process)."""

from __future__ import annotations

from datetime import date

from recording_assets.archive.keys import recording_day_prefix
from recording_assets.tools.local import DEMO_ARCHIVE_BUCKET
from recording_assets_tests.defs.test_assets_e2e import DAY, assert_day_archived, manifest, materialise


def test_stray_keys_under_the_day_are_skipped_named_in_the_metadata_and_left_alone(local_stack, capfd):
    local = local_stack(conversations_per_day=20)
    prefix = recording_day_prefix(prefix="", day=date.fromisoformat(DAY))
    strays = [prefix, f"{prefix}README.txt", f"{prefix}queue=q1/", f"{prefix}queue=q1/conv/no-extension"]
    s3 = local.s3_client()
    for key in strays:
        s3.put_object(Bucket=DEMO_ARCHIVE_BUCKET, Key=key, Body=b"someone else's")
    result, checks, meta = materialise()
    assert result.success and all(checks.values())
    audio = meta["recording_audio"]
    assert audio["stray_keys"].value == len(strays)
    assert sorted(audio["stray_keys_first"].value) == sorted(strays)
    logged = capfd.readouterr().err  # the run's console log
    assert f"WARNING - archive_day - {result.run_id} - recording_day - {len(strays)} key(s) under" in logged
    assert_day_archived(local, manifest(local))
    for key in strays:  # never read as ours, never removed
        assert s3.get_object(Bucket=DEMO_ARCHIVE_BUCKET, Key=key)["Body"].read() == b"someone else's"
