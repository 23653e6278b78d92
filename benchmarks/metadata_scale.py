"""The metadata path at 100,000 recordings, and what Dagster itself costs for an empty day.

(1) A day of 89,200 conversations (≈100,000 recordings) in the sandbox (own process). A fresh child
    process runs, timed step by step while a thread samples its RSS:
      discovery    ``discover_day`` through the sandbox (details query, window splits, every page);
                   the client is not paced here, so this is our CPU cost: at the default 270/min
                   the same requests would take requests ÷ 270 minutes, also printed;
      metadata     ``metadata_table`` → Parquet bytes (the recording_metadata step);
      read_back    Parquet → ``conversations_from_table`` (what the recording_audio step reads);
      outcomes     one ``Outcome`` per recording the analytics counts promise (synthetic: archived,
                   with sha256, size, URI — downloads are skipped) → the OUTCOMES table → Parquet;
      manifest     ``manifest_parts(metadata, outcomes)`` → Parquet, a part at a time → the columns its
                   counts and checks read, and the sidecars' rows (what the recording_manifest step does).
    Each step keeps only what the real step would pass on (Parquet bytes); RSS is sampled per step.
(2) The archive_day job for a day with no conversations, materialised in-process three times:
    Dagster's own overhead plus the fixed requests (preflight) of a run.

    .venv/bin/python benchmarks/metadata_scale.py [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import time
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import _common as c


def worker(url: str, day_text: str) -> None:
    c.quiet()
    from recording_assets.runtime import setup_process

    setup_process()  # as the code location does, before anything imports pyarrow
    import pyarrow  # noqa: F401

    from recording_assets.allocator import release_free_memory
    from recording_assets.genesys import GenesysClient
    from recording_assets.genesys.secret import Secret
    from recording_assets.pipeline import manifest as m
    from recording_assets.pipeline.archiver import Outcome
    from recording_assets.pipeline.discovery import conversations_from_table, discover_day, metadata_table
    from recording_assets.pipeline.outcome import outcomes_table
    from recording_assets.pipeline.sidecars import SIDECAR_COLUMNS, sidecar_rows
    from recording_assets.pipeline.states import State
    from recording_assets.pipeline.table_io import ParquetColumns
    from recording_assets.pipeline.tables import (
        MANIFEST,
        from_parquet_bytes,
        parquet_parts,
        parts_to_parquet_bytes,
        to_parquet_bytes,
    )
    from recording_assets.pipeline.window import day_window

    day = date.fromisoformat(day_text)
    timings: dict[str, float] = {}
    sizes: dict[str, int] = {}
    steps: dict[str, dict[str, int]] = {}
    baseline = c.RssSampler().start_rss
    overall = c.RssSampler().__enter__()

    # step 1, as recording_metadata: discovery → metadata table → Parquet (only the bytes survive)
    with c.RssSampler() as sampler:

        async def discover():
            client = GenesysClient(
                api_base_url=url,
                login_base_url=url,
                client_id=c.SANDBOX_CLIENT[0],
                client_secret=Secret(c.SANDBOX_CLIENT[1]),
                requests_per_minute=None,
            )
            async with client:
                found = await discover_day(client, day_window(day, "UTC"))
                return found, client.stats.api_requests

        t = time.perf_counter()
        discovery, requests = asyncio.run(discover())
        timings["discovery"] = time.perf_counter() - t
        t = time.perf_counter()
        metadata_blob = to_parquet_bytes(metadata_table(discovery.conversations, sessions=discovery.sessions))
        sizes["metadata_parquet"] = len(metadata_blob)
        timings["metadata"] = time.perf_counter() - t
        discovered = len(discovery.conversations)
        windows, pages, complete = discovery.windows, discovery.pages, discovery.complete
        del discovery
    steps["recording_metadata"] = {"start": sampler.start_rss, "peak": sampler.peak_rss}
    gc.collect()

    # step 2, as recording_audio around its downloads (skipped): read the metadata back, one Outcome per
    # recording the analytics counts promise (synthetic: archived, with sha256, size, URI), OUTCOMES table
    with c.RssSampler() as sampler:
        t = time.perf_counter()
        conversations = conversations_from_table(from_parquet_bytes(metadata_blob))
        timings["read_back"] = time.perf_counter() - t
        t = time.perf_counter()
        run_id = "bench-run"
        archived_at = datetime.now(timezone.utc)
        outcomes_list = []
        for conv in conversations:
            for n in range(conv.recorded_sessions):
                rid = f"{conv.conversation_id[:-4]}{n:04d}"
                outcomes_list.append(
                    Outcome(
                        conversation_id=conv.conversation_id,
                        recording_id=rid,
                        state=State.ARCHIVED,
                        sha256=hashlib.sha256(rid.encode()).hexdigest(),
                        size_bytes=480_044,
                        content_type="audio/ogg",
                        container="ogg",
                        storage_uri=f"s3://recording-archive/recordings/x/{conv.conversation_id}/{rid}.ogg",
                        attempts=1,
                        archived_at=archived_at,
                        archived_run_id=run_id,
                        checksum_verified_by="s3-checksum",
                    )
                )
        outcomes = outcomes_table(outcomes_list, run_id)  # as recording_audio builds it
        recordings = outcomes.num_rows
        outcomes_blob = to_parquet_bytes(outcomes)
        sizes["outcomes_parquet"] = len(outcomes_blob)
        timings["outcomes"] = time.perf_counter() - t
        del conversations, outcomes_list, outcomes
    steps["recording_audio (tables only)"] = {"start": sampler.start_rss, "peak": sampler.peak_rss}
    gc.collect()

    # step 3, as recording_manifest: both tables read back a column at a time → the manifest built and
    # written a part at a time → its Parquet document → the checks' columns, and the sidecars' parts
    with c.RssSampler() as sampler:
        release_free_memory()  # as the asset does first
        t = time.perf_counter()
        document = parts_to_parquet_bytes(
            m.manifest_parts(
                ParquetColumns(metadata_blob), ParquetColumns(outcomes_blob), manifest_run_id="bench-manifest"
            ),
            MANIFEST,
        )
        sizes["manifest_parquet"] = len(document)
        manifest = from_parquet_bytes(document, m.CHECKED_COLUMNS)
        # the asset's counts and checks, in Arrow; the archived URIs stand in for its S3 listing, in pages
        states = m.state_counts(manifest)
        m.archived_bytes(manifest), m.duplicate_keys(manifest)
        uris = manifest["storage_uri"].drop_null()
        listing = (u for i in range(0, len(uris), 1000) for u in uris.slice(i, 1000).to_pylist())  # as pages
        missing = m.missing_objects(manifest, listing)
        # the sidecars' rows, as write_sidecars reads them (here none is written: every one is listed)
        for part in parquet_parts(document, SIDECAR_COLUMNS, rows=m.PART_ROWS):
            for _rows in sidecar_rows(part):
                pass
        manifest_rows = manifest.num_rows
        timings["manifest"] = time.perf_counter() - t
        del uris, manifest, document
    steps["recording_manifest"] = {"start": sampler.start_rss, "peak": sampler.peak_rss}
    overall.__exit__()
    print(
        json.dumps(
            {
                "conversations": discovered,
                "recordings": recordings,
                "manifest_rows": manifest_rows,
                "manifest_states": states,
                "manifest_missing": len(missing),
                "discovery_requests": requests,
                "discovery_windows": windows,
                "discovery_pages": pages,
                "discovery_complete": complete,
                "steps": steps,
                "timings": {k: round(v, 2) for k, v in timings.items()},
                "sizes": sizes,
                "baseline_rss": baseline,
                "peak_rss": overall.peak_rss,
                "ru_maxrss": c.ru_maxrss_bytes(),
            }
        )
    )


def main() -> None:
    parser = c.parser_for(__doc__)
    parser.add_argument("--worker", nargs=2, metavar=("URL", "DAY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    c.quiet()
    day = c.bench_day()
    conversations = 2_000 if args.smoke else 89_200
    empty_runs = 1 if args.smoke else 3
    config: dict[str, Any] = dict(
        conversations_per_day=conversations, rate_limit_per_minute=c.EFFECTIVELY_UNLIMITED, live_calls=0
    )
    c.header(
        "metadata_scale",
        args.smoke,
        {
            "day": f"{day}: {conversations:,} conversations (≈{conversations * 1.121:,.0f} recordings)",
            "sandbox": config,
            "measured": "child process: discovery (unpaced) + metadata table + synthetic outcomes + manifest table",
            "empty day": f"archive_day job in-process on a 0-conversation day, {empty_runs} run(s)",
        },
    )
    with c.Servers(s3=False, **config) as servers:
        result = c.run_worker(Path(__file__), [servers.sandbox_url, day.isoformat()], timeout_s=900)
    truth = c.day_truth(day, **config)
    paced_s = result["discovery_requests"] / 270 * 60
    print()
    print(
        f"day: {result['conversations']:,} conversations discovered (truth {truth['conversations']:,}), "
        f"{result['recordings']:,} recordings by the analytics counts (truth {truth['recordings']:,})"
    )
    print(
        f"discovery: {result['discovery_requests']:,} requests, {result['discovery_windows']} windows, "
        f"{result['discovery_pages']} pages, complete={result['discovery_complete']}; "
        f"{result['timings']['discovery']:.1f} s unpaced (at 270/min the requests alone take {paced_s:.0f} s)"
    )
    for step in ("metadata", "read_back", "outcomes", "manifest"):
        print(f"{step:10} {result['timings'][step]:7.2f} s")
    print(
        "memory by step (RSS at its start → its peak; steps run one after another in one process, as an "
        "in-process run does):"
    )
    for step, m in result["steps"].items():
        print(f"  {step:30} {c.mb(m['start']):>10} → {c.mb(m['peak']):>10}")
    print("parquet sizes: " + ", ".join(f"{k} {c.mb(v)}" for k, v in result["sizes"].items()))
    print(
        f"memory: baseline {c.mb(result['baseline_rss'])}, peak {c.mb(result['peak_rss'])} "
        f"(+{c.mb(result['peak_rss'] - result['baseline_rss'])}), ru_maxrss {c.mb(result['ru_maxrss'])}"
    )

    # (2) Dagster's own overhead: an empty day
    empty: dict[str, Any] = dict(
        conversations_per_day=0, rate_limit_per_minute=c.EFFECTIVELY_UNLIMITED, live_calls=0
    )
    runs = []
    with c.Servers(**empty) as servers:
        servers.export()
        for _ in range(empty_runs):
            servers.reset_stats()
            job = c.run_archive_job(day)
            job["api_requests"] = c.api_requests(servers.stats()["requests"])
            runs.append(job)
    print()
    print("empty day (0 conversations), archive_day in-process:")
    for n, job in enumerate(runs, 1):
        print(
            f"  run {n}: {job['wall_s']:.2f} s, success={job['success']}, {job['api_requests']} API requests, "
            f"steps {job['step_s']}"
        )
    empty_s = c.median([j["wall_s"] for j in runs])
    print(f"  median {empty_s:.2f} s")
    c.summary(
        "metadata_scale",
        args.smoke,
        {
            "conversations": result["conversations"],
            "recordings": result["recordings"],
            "discovery_requests": result["discovery_requests"],
            "discovery_s": result["timings"]["discovery"],
            "discovery_paced_s": round(paced_s, 1),
            "metadata_s": result["timings"]["metadata"],
            "read_back_s": result["timings"]["read_back"],
            "outcomes_s": result["timings"]["outcomes"],
            "manifest_s": result["timings"]["manifest"],
            "peak_rss": result["peak_rss"],
            "baseline_rss": result["baseline_rss"],
            "empty_day_job_s": round(empty_s, 2),
            "empty_day_api_requests": runs[0]["api_requests"],
            "empty_day_success": all(j["success"] for j in runs),
        },
    )


if __name__ == "__main__":
    main()
