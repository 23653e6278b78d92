"""The demo: archive one real partition end to end on the embedded sandbox org and local S3."""

from __future__ import annotations

import tempfile
from collections import Counter
from datetime import date, datetime, timedelta, timezone

from recording_assets.tools.local import DEMO_MANIFEST_BUCKET, LocalStack


def yesterday_utc() -> str:
    return (datetime.now(timezone.utc).date() - timedelta(days=1)).isoformat()


def run_demo(*, day: str | None, conversations: int, media_scale: float) -> int:
    import dagster as dg

    from recording_assets.archive.keys import manifest_key
    from recording_assets.definitions import defs as code_location
    from recording_assets.pipeline.tables import from_parquet_bytes
    from recording_assets.tools.ui import python_logs

    day = day or yesterday_utc()
    with LocalStack(
        sandbox_config={"conversations_per_day": conversations, "media_scale": media_scale}
    ) as stack:
        stack.export()
        print(f"sandbox org     {stack.sandbox.base_url}  (Genesys Cloud Platform API subset)")
        print(f"local S3        {stack.s3_endpoint}  (moto, server mode)")
        print(f"partition       {day}  (UTC)")
        defs = code_location()
        job = defs.resolve_job_def("archive_day")
        with (
            tempfile.TemporaryDirectory() as home,
            dg.instance_for_test(temp_dir=home, overrides={"python_logs": python_logs()}) as instance,
        ):
            started = datetime.now()
            result = job.execute_in_process(
                partition_key=day,
                instance=instance,
                raise_on_error=False,
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            )
            elapsed = (datetime.now() - started).total_seconds()
            checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        client = stack.s3_client()
        key = manifest_key(day=date.fromisoformat(day))
        bucket = DEMO_MANIFEST_BUCKET
        manifest = from_parquet_bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read()).to_pylist()
        counts = Counter(row["state"] for row in manifest)
        print(f"run             {'succeeded' if result.success else 'FAILED'} in {elapsed:.1f}s")
        print(f"manifest        s3://{bucket}/{key}")
        print(f"recordings      {len(manifest)}  " + "  ".join(f"{s}={n}" for s, n in sorted(counts.items())))
        print(f"archived bytes  {sum(r['size_bytes'] or 0 for r in manifest if r['state'] == 'archived'):,}")
        print(
            "checks          "
            + "  ".join(f"{name}={'pass' if ok else 'FAIL'}" for name, ok in sorted(checks.items()))
        )
        return 0 if result.success else 1
