"""A 100,000-recording day end to end: discovery, batches, media, uploads, tables and the manifest in one run.

A sandbox day of 89,200 conversations (about 100,000 recordings) with tiny media, served at Genesys'
budget (the sandbox enforces it) with a shared media bandwidth cap, archived by the ``archive_day`` job
of the real code location (``recording_day``: metadata and audio in one step, then
``recording_manifest`` and the checks), materialised in a fresh child process while a thread samples its
RSS every 5 ms. Then the same day again in another fresh process: a complete day's re-run is discovery
(and the preflight) only, and its request count is printed.

Figures, beside their goals (benchmark 7 in the README):
- every recording of the day (the sandbox's own ground truth) has a manifest row in one explicit state;
- peak RSS of the run's process ≤ 300 MB;
- wall time ≤ 1.15 × the bound, max(the run's API requests ÷ the budget, media bytes ÷ the bandwidth),
  as benchmarks/wall_time_at_budget.py computes it (our client paces at 90 % of the budget).

    .venv/bin/python benchmarks/scale_day.py [--smoke] [--conversations N] [--budget PER_MINUTE]

``--conversations`` sizes the day (89,200 by default, about 100,000 recordings); ``--budget`` is the
sandbox's enforced requests per minute (300 by default, Genesys' own; the client paces at 90 % of it).
"""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import _common as c

RSS_GOAL = 300 * 1000 * 1000
WALL_GOAL = 1.15  # wall ÷ bound
PACED_SHARE = 0.9  # the client's default share of the budget


def run_once(servers: c.Servers, day: date, rpm: float, timeout_s: float) -> dict[str, Any]:
    servers.reset_stats()
    result = c.run_worker(Path(__file__), ["--day", day.isoformat(), "--rpm", str(rpm)], timeout_s)
    stats = servers.stats()
    result["requests"] = c.api_requests(stats["requests"])
    result["families"] = {k: v for k, v in sorted(stats["requests"].items()) if k not in ("token", "media")}
    result["media_bytes"] = stats["media_bytes"]
    result["rate_limited"] = stats["rate_limited"]
    return result


def main() -> None:
    parser = c.parser_for(__doc__)
    parser.add_argument("--conversations", type=int, default=None, help="conversations in the day")
    parser.add_argument("--budget", type=int, default=c.BUDGET_PER_MINUTE, help="requests per minute")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--day", help=argparse.SUPPRESS)
    parser.add_argument("--rpm", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        c.sampled_archive_job(args.day, args.rpm)
        return
    c.quiet()
    conversations = args.conversations or (40 if args.smoke else 89_200)
    bandwidth = 2_000_000 if args.smoke else 20_000_000
    config: dict[str, Any] = dict(
        conversations_per_day=conversations,
        # Tiny media (a few kB a recording, still whole containers): the scale is in the count.
        media_scale=0.05 if args.smoke else 0.002,
        media_bandwidth_bytes_per_s=bandwidth,
        rate_limit_per_minute=args.budget,
        batch_latency_s=0.5 if args.smoke else 2.0,
        live_calls=0,
    )
    rpm = args.budget * PACED_SHARE
    day = c.bench_day()
    truth = c.day_truth(day, **config)
    c.header(
        "scale_day",
        args.smoke,
        {
            "day": f"{day} (UTC): {truth['conversations']:,} conversations, {truth['recordings']:,} recordings, "
            f"{truth['available']:,} downloadable",
            "sandbox": config,
            "budget": f"{args.budget} requests/minute (enforced by the sandbox); the client paces at {rpm:g}/min",
            "ours": "the archive_day job of the real code location in a fresh child process (metadata, audio, "
            "manifest and the checks), RSS sampled every 5 ms; then a re-run of the complete day",
            "goals": f"every recording in an explicit state; peak RSS ≤ {c.mb(RSS_GOAL)}; wall ≤ {WALL_GOAL} × bound",
        },
    )
    timeout_s = 600 + truth["recordings"] * 0.1
    with c.Servers(**config) as servers:
        servers.export()
        first = run_once(servers, day, rpm, timeout_s)
        manifest = c.read_manifest(servers, day)
        rerun = run_once(servers, day, rpm, timeout_s)
        rerun_manifest = c.read_manifest(servers, day)

    explicit = {state.value for state in _states()}
    rows = {(r["conversation_id"], r["recording_id"]): r["state"] for r in manifest}
    states = Counter(rows.values())
    day_keys = truth["recording_keys"]
    missing = day_keys - rows.keys()
    unexplained = [k for k, state in rows.items() if state not in explicit]
    all_explicit = not missing and not unexplained and len(manifest) == len(rows)
    rerun_same = sorted(
        (r["conversation_id"], r["recording_id"], r["state"]) for r in rerun_manifest
    ) == sorted((k[0], k[1], s) for k, s in rows.items())
    bound_requests = first["requests"] / args.budget * 60
    bound_bytes = first["media_bytes"] / bandwidth
    bound = max(bound_requests, bound_bytes)
    ratio = first["wall_s"] / bound
    peak = first["peak_rss"]

    print()
    print(f"run: success={first['success']} in {first['wall_s']:.1f} s; steps {first['step_s']}")
    print(f"     checks: {first['checks']}")
    print(
        f"     {first['requests']:,} API requests ({first['rate_limited']} answered 429), "
        f"{c.mb(first['media_bytes'])} of media, {first['uploaded_objects']:,} objects uploaded"
    )
    print(f"     requests by family: {', '.join(f'{k}={v}' for k, v in first['families'].items())}")
    print(
        f"manifest: {len(manifest):,} rows for the day's {len(day_keys):,} recordings; "
        + ", ".join(f"{state} {n:,}" for state, n in states.most_common())
    )
    print(
        f"  every recording in an explicit state: {'yes' if all_explicit else 'NO'} "
        f"({len(missing)} without a row, {len(unexplained)} in another state)"
    )
    print(
        f"peak RSS {c.mb(peak)} (after imports {c.mb(first['baseline_rss'])}; ru_maxrss {c.mb(first['ru_maxrss'])}) "
        f"— goal ≤ {c.mb(RSS_GOAL)}: {'meets' if peak <= RSS_GOAL else 'MISSES'}"
    )
    peaks = ", ".join(f"{step} {c.mb(v)}" for step, v in first["step_peaks"].items() if v)
    print(f"  peak by step: {peaks}")
    print(
        f"bound: max({first['requests']:,} requests ÷ {args.budget}/min = {bound_requests:.1f} s, "
        f"{c.mb(first['media_bytes'])} ÷ {c.mb(bandwidth)}/s = {bound_bytes:.1f} s) = {bound:.1f} s "
        f"(at our {rpm:g}/min pacing the requests alone take {bound_requests / PACED_SHARE:.1f} s)"
    )
    print(
        f"wall {first['wall_s']:.1f} s ÷ bound = {ratio:.2f} — goal ≤ {WALL_GOAL}: "
        f"{'meets' if ratio <= WALL_GOAL else 'MISSES'}"
    )
    print(
        f"re-run of the complete day: {rerun['requests']:,} API requests "
        f"({', '.join(f'{k}={v}' for k, v in rerun['families'].items())}), "
        f"{rerun['uploaded_objects']} objects uploaded, {rerun['wall_s']:.1f} s, peak RSS {c.mb(rerun['peak_rss'])}; "
        f"manifest rows and states unchanged: {'yes' if rerun_same else 'NO'}"
    )
    c.summary(
        "scale_day",
        args.smoke,
        {
            "recordings": len(day_keys),
            "manifest_rows": len(manifest),
            "states": dict(states),
            "all_explicit": all_explicit,
            "job_success": bool(first["success"] and rerun["success"]),
            "wall_s": round(first["wall_s"], 1),
            "bound_s": round(bound, 1),
            "ratio": round(ratio, 3),
            "peak_rss": peak,
            "requests": first["requests"],
            "media_bytes": first["media_bytes"],
            "rerun_requests": rerun["requests"],
            "rerun_uploads": rerun["uploaded_objects"],
            "rerun_same_manifest": rerun_same,
            "meets_goal": all_explicit and peak <= RSS_GOAL and ratio <= WALL_GOAL,
        },
    )


def _states():
    from recording_assets.pipeline.states import State

    return list(State)


if __name__ == "__main__":
    main()
