"""Client-only download of one large recording: peak memory is flat, not proportional to size.

For each size (20 MB and 200 MB), a fresh sandbox (its own process) holds a day whose first
downloadable voice recording has exactly that many bytes (``giant_recording_bytes``). A fresh child
process asks for its batch ``resultUrl`` with ``GenesysClient.recordings.run_batches``, then streams
it with ``GenesysClient.download`` into a sink that only hashes (SHA-256) and counts, while a thread
samples the child's RSS every 2 ms. The bytes' SHA-256 is checked against the sandbox's truth.

    .venv/bin/python benchmarks/download_memory.py [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import time
from pathlib import Path

import _common as c

MB = 1_000_000


def worker(url: str, conversation_id: str, recording_id: str, expected_sha256: str) -> None:
    c.quiet()
    import httpx  # noqa: F401

    from recording_assets.genesys import BatchItem, GenesysClient  # noqa: F401
    from recording_assets.genesys.secret import Secret

    async def run() -> dict:
        client = GenesysClient(
            api_base_url=url,
            login_base_url=url,
            client_id=c.SANDBOX_CLIENT[0],
            client_secret=Secret(c.SANDBOX_CLIENT[1]),
            requests_per_minute=None,
        )
        async with client:
            results = await client.recordings.run_batches([BatchItem(conversation_id, recording_id)])
            result_url = next(r.result_url for r in results if r.result_url)
            sink = hashlib.sha256()
            counted = [0]

            def write(chunk: bytes) -> None:
                sink.update(chunk)
                counted[0] += len(chunk)

            baseline = c.RssSampler().start_rss
            started = time.perf_counter()
            with c.RssSampler(interval_s=0.002) as sampler:
                download = await client.download(result_url, write)
            seconds = time.perf_counter() - started
        return {
            "bytes": counted[0],
            "content_length": download.content_length,
            "sha256_ok": sink.hexdigest() == expected_sha256 and download.size == counted[0],
            "seconds": round(seconds, 2),
            "baseline_rss": baseline,
            "peak_rss": sampler.peak_rss,
            "ru_maxrss": c.ru_maxrss_bytes(),
            "samples": sampler.samples,
        }

    print(json.dumps(asyncio.run(run())))


def measure(size: int, day) -> dict:
    config = dict(
        conversations_per_day=20,
        media_scale=0.02,
        giant_recording_bytes=size,
        live_calls=0,
        rate_limit_per_minute=c.EFFECTIVELY_UNLIMITED,
        batch_latency_s=0.2,
    )
    truth = c.day_truth(day, **config)
    giant = next(r for r in truth["available_recordings"] if r.giant_bytes)
    with c.Servers(s3=False, **config) as servers:
        expected = servers.recording_truth(giant.id)
        assert expected["size"] == size, expected
        result = c.run_worker(
            Path(__file__),
            [servers.sandbox_url, giant.conversation_id, giant.id, expected["sha256"]],
            timeout_s=600,
        )
    result["size"] = size
    return result


def main() -> None:
    parser = c.parser_for(__doc__)
    parser.add_argument("--worker", nargs=4, metavar=("URL", "CID", "RID", "SHA256"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    c.quiet()
    sizes = [5 * MB, 50 * MB] if args.smoke else [20 * MB, 200 * MB]
    day = c.bench_day()
    c.header(
        "download_memory",
        args.smoke,
        {
            "sizes": ", ".join(c.mb(s) for s in sizes) + " (one recording each, exact size)",
            "path": "GenesysClient.recordings.run_batches → GenesysClient.download(resultUrl, hashing sink)",
            "measured": "RSS of a fresh child process; baseline = just before the download, peak = sampled every 2 ms",
        },
    )
    results = [measure(size, day) for size in sizes]
    print()
    print(f"{'recording':>12} {'baseline RSS':>13} {'peak RSS':>10} {'growth':>9} {'MB/s':>7} {'sha256':>7}")
    for r in results:
        print(
            f"{c.mb(r['size']):>12} {c.mb(r['baseline_rss']):>13} {c.mb(r['peak_rss']):>10} "
            f"{c.mb(r['peak_rss'] - r['baseline_rss']):>9} {r['bytes'] / r['seconds'] / MB:>7.1f} "
            f"{'ok' if r['sha256_ok'] else 'BAD':>7}"
        )
    small, large = results
    growth_small = small["peak_rss"] - small["baseline_rss"]
    growth_large = large["peak_rss"] - large["baseline_rss"]
    flat = growth_large - growth_small < 0.05 * (large["size"] - small["size"])
    print()
    print(
        f"{large['size'] // small['size']}× the bytes moved the peak by {c.mb(growth_large - growth_small)} "
        f"({(growth_large - growth_small) / (large['size'] - small['size']) * 100:.2f} % of the extra bytes): "
        f"{'flat' if flat else 'NOT flat'}"
    )
    c.summary(
        "download_memory",
        args.smoke,
        {
            "results": [
                {k: r[k] for k in ("size", "bytes", "baseline_rss", "peak_rss", "seconds", "sha256_ok")}
                for r in results
            ],
            "peak_growth_small": growth_small,
            "peak_growth_large": growth_large,
            "flat": flat,
            "sha256_ok": all(r["sha256_ok"] for r in results),
        },
    )


if __name__ == "__main__":
    main()
