"""Seed 000's download engine beside ours on a day with 429 bursts and the 300/minute limit.

Each engine gets a fresh sandbox (same seed, same day, same recordings) that enforces 300 requests
per minute per token and injects bursts of 429s (every Nth API request starts a burst with a fixed
``Retry-After``):

- seed: ``_baselines.seed_flow`` — the seed's engine rebuilt on httpx with its exact semantics
  (semaphore 15, 3 attempts, ``Retry-After`` on 429 else ``2**attempt``, no pacing, one request per
  recording on the real single-recording endpoint), enumerating recordings with the details query and
  ``recordingmetadata`` under the same semantics. Media go to a SHA-256 sink (it does not upload).
- ours: the ``archive_day`` job in-process with its defaults (pacing at 270/min, every caller pausing on
  a 429's ``Retry-After``, up to 10 rate-limited retries per request), uploading verified objects to moto.

Figures: share of the downloadable recordings each archived, and wall time.

    .venv/bin/python benchmarks/seed_engine.py [--smoke]
"""

from __future__ import annotations

import asyncio
from typing import Any

import _common as c
from _baselines import seed_flow


def main() -> None:
    parser = c.parser_for(__doc__)
    args = parser.parse_args()
    c.quiet()
    if args.smoke:
        config: dict[str, Any] = dict(
            conversations_per_day=40,
            media_scale=0.01,
            rate_limit_per_minute=c.BUDGET_PER_MINUTE,
            batch_latency_s=0.5,
            live_calls=0,
        )
        faults = dict(burst_429_every=15, burst_429_length=3, burst_retry_after_s=1)
    else:
        config = dict(
            conversations_per_day=300,
            media_scale=0.02,
            rate_limit_per_minute=c.BUDGET_PER_MINUTE,
            batch_latency_s=2.0,
            live_calls=0,
        )
        faults = dict(burst_429_every=40, burst_429_length=5, burst_retry_after_s=5)
    day = c.bench_day()
    truth = c.day_truth(day, **config)
    c.header(
        "seed_engine",
        args.smoke,
        {
            "day": f"{day}: {truth['conversations']} conversations, {truth['recordings']} recordings, "
            f"{truth['available']} downloadable",
            "sandbox": config,
            "faults": f"{faults} (every Nth API request starts a burst of 429s with that Retry-After)",
            "limit": f"{c.BUDGET_PER_MINUTE}/min per token, a fixed 60 s window that counts refused requests too",
        },
    )
    results = {}
    for engine in ("seed", "ours"):
        with c.Servers(**config) as servers:
            servers.set_faults(**faults)
            servers.reset_stats()
            if engine == "seed":
                flow = asyncio.run(
                    seed_flow(
                        servers.sandbox_url, day, client_id=c.SANDBOX_CLIENT[0], secret=c.SANDBOX_CLIENT[1]
                    )
                )
                done = flow.downloaded & truth["available_keys"]
                wall = flow.wall_s
                detail: dict[str, Any] = {k: v for k, v in flow.failures.items()}
                phases = {k: round(v, 1) for k, v in flow.phases.items()}
            else:
                servers.export()
                job = c.run_archive_job(day)
                manifest = c.read_manifest(servers, day)
                done = {
                    (r["conversation_id"], r["recording_id"]) for r in manifest if r["state"] == "archived"
                }
                done &= truth["available_keys"]
                wall = job["wall_s"]
                states: dict = {}
                for r in manifest:
                    states[r["state"]] = states.get(r["state"], 0) + 1
                detail = {"job_success": job["success"], "manifest_states": states}
                phases = job["step_s"]
            stats = servers.stats()
        results[engine] = {
            "archived": len(done),
            "share": len(done) / truth["available"],
            "wall_s": wall,
            "api_requests": c.api_requests(stats["requests"]),
            "rate_limited": stats["rate_limited"],
            "detail": detail,
            "phases": phases,
        }
    print()
    print(
        f"{'engine':8} {'archived':>12} {'share':>7} {'wall s':>8} {'API requests':>13} {'of them 429':>12}"
    )
    for engine, r in results.items():
        print(
            f"{engine:8} {r['archived']:>5} / {truth['available']:<5} {r['share'] * 100:>6.1f}% {r['wall_s']:>8.1f} "
            f"{r['api_requests']:>13} {r['rate_limited']:>12}"
        )
    print()
    for engine, r in results.items():
        print(f"{engine}: phases {r['phases']}; {r['detail']}")
    c.summary(
        "seed_engine",
        args.smoke,
        {
            "downloadable": truth["available"],
            "seed_archived": results["seed"]["archived"],
            "seed_share": round(results["seed"]["share"], 4),
            "seed_wall_s": round(results["seed"]["wall_s"], 1),
            "seed_api_requests": results["seed"]["api_requests"],
            "seed_429": results["seed"]["rate_limited"],
            "ours_archived": results["ours"]["archived"],
            "ours_share": round(results["ours"]["share"], 4),
            "ours_wall_s": round(results["ours"]["wall_s"], 1),
            "ours_api_requests": results["ours"]["api_requests"],
            "ours_429": results["ours"]["rate_limited"],
        },
    )


if __name__ == "__main__":
    main()
