"""Peak memory (RSS) of our process while it archives a day, against the size of what it moves.

Scenarios, each a fresh sandbox + moto (separate processes: moto keeps every object in memory, so
its RSS must not be counted as ours) and a fresh child process that materialises the ``archive_day``
job in-process while a thread samples its RSS every 5 ms (``ru_maxrss`` is reported too):

  (a) a day holding one giant recording (``giant_recording_bytes``), at two sizes, 64 MiB and
      2 GiB: the peak should not move with the file size;
  (b) a 10,000-recording day (9,000 conversations, small media).

Goal: peak RSS ≤ 300 MB, independent of file size. The client's pacing is raised for these runs
(memory does not depend on it, and the runs stay short); everything else is the default path.

    .venv/bin/python benchmarks/memory.py [--smoke]
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import _common as c

GOAL_BYTES = 250 * 1000 * 1000  # peak RSS, benchmark 3 in the README
MiB = 1024 * 1024
FAST_PACING = 6000.0  # requests/minute for the client; the sandbox limit is out of reach


def scenario(name: str, day: date, config: dict, timeout_s: float) -> dict:
    print(f"\n-- {name}: sandbox {config}")
    with c.Servers(**config) as servers:
        servers.export()
        started = time.perf_counter()
        result = c.run_worker(
            Path(__file__), ["--day", day.isoformat(), "--rpm", str(FAST_PACING)], timeout_s
        )
        result["elapsed_s"] = round(time.perf_counter() - started, 1)
        import psutil

        assert servers.s3_proc is not None and servers.sandbox_proc is not None  # both started
        result["moto_rss"] = psutil.Process(servers.s3_proc.pid).memory_info().rss
        result["sandbox_rss"] = psutil.Process(servers.sandbox_proc.pid).memory_info().rss
    result["name"] = name
    print(
        f"   job success={result['success']} in {result['wall_s']:.1f} s, {result['uploaded_objects']} objects, "
        f"{c.mb(result['uploaded_bytes'] or 0)} uploaded"
    )
    print(
        f"   our process: baseline (after imports) {c.mb(result['baseline_rss'])}, peak {c.mb(result['peak_rss'])} "
        f"(+{c.mb(result['peak_rss'] - result['baseline_rss'])}), ru_maxrss {c.mb(result['ru_maxrss'])}"
    )
    peaks = ", ".join(f"{step} {c.mb(v)}" for step, v in result.get("step_peaks", {}).items() if v)
    print(f"   peak by step: {peaks}")
    print(
        f"   for comparison: moto holds {c.mb(result['moto_rss'])}, the sandbox {c.mb(result['sandbox_rss'])}"
    )
    return result


def main() -> None:
    parser = c.parser_for(__doc__)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--day", help=argparse.SUPPRESS)
    parser.add_argument("--rpm", type=float, default=FAST_PACING, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        c.sampled_archive_job(args.day, args.rpm)
        return
    c.quiet()
    day = c.bench_day()
    common = dict(
        rate_limit_per_minute=c.EFFECTIVELY_UNLIMITED,
        live_calls=0,
        batch_latency_s=0.5 if args.smoke else 2.0,
    )
    if args.smoke:
        giants = [24 * MiB]
        day_config = None
    else:
        giants = [64 * MiB, 2048 * MiB]
        day_config = dict(conversations_per_day=9000, media_scale=0.01, **common)
    c.header(
        "memory",
        args.smoke,
        {
            "day": str(day),
            "giant scenarios": ", ".join(f"{g // MiB} MiB" for g in giants)
            + " (one recording of that size in a "
            "30-conversation day)",
            "many-recordings scenario": (
                f"{day_config['conversations_per_day']:,} conversations, "
                f"media_scale {day_config['media_scale']}"
            )
            if day_config
            else "none (smoke)",
            "measured": "RSS of the child process running the job (psutil every 5 ms, and ru_maxrss); "
            "sandbox and moto in their own processes",
            "client pacing": f"{FAST_PACING:g}/min (raised from the default 270/min: memory does not depend on it)",
            "goal": f"peak ≤ {c.mb(GOAL_BYTES)}, independent of file size",
        },
    )
    results = []
    for giant in giants:
        config = dict(conversations_per_day=30, media_scale=0.02, giant_recording_bytes=giant, **common)
        results.append(scenario(f"giant {giant // MiB} MiB", day, config, timeout_s=900))
    if day_config:
        truth = c.day_truth(day, **day_config)
        results.append(scenario(f"{truth['recordings']:,}-recording day", day, day_config, timeout_s=1500))

    print()
    print(
        f"{'scenario':28} {'uploaded':>12} {'baseline':>10} {'peak RSS':>10} {'peak-base':>10} {'wall s':>7}"
    )
    for r in results:
        print(
            f"{r['name']:28} {c.mb(r['uploaded_bytes'] or 0):>12} {c.mb(r['baseline_rss']):>10} "
            f"{c.mb(r['peak_rss']):>10} {c.mb(r['peak_rss'] - r['baseline_rss']):>10} {r['wall_s']:>7.1f}"
        )
    peak = max(r["peak_rss"] for r in results)
    print()
    print(
        f"largest peak: {c.mb(peak)} (goal ≤ {c.mb(GOAL_BYTES)}) — {'meets' if peak <= GOAL_BYTES else 'MISSES'} the goal"
    )
    growth = None
    if len(giants) > 1:
        small, large = results[0], results[1]
        growth = large["peak_rss"] - small["peak_rss"]
        size_growth = (large["uploaded_bytes"] or 0) - (small["uploaded_bytes"] or 0)
        print(
            f"file size {giants[0] // MiB} MiB → {giants[1] // MiB} MiB moved the peak by {c.mb(growth)} "
            f"for {c.mb(size_growth)} more bytes ({growth / size_growth * 100 if size_growth else 0:.2f} % of the growth)"
        )
    c.summary(
        "memory",
        args.smoke,
        {
            "scenarios": [
                {
                    k: r[k]
                    for k in (
                        "name",
                        "peak_rss",
                        "baseline_rss",
                        "ru_maxrss",
                        "uploaded_bytes",
                        "wall_s",
                        "success",
                        "step_peaks",
                    )
                }
                for r in results
            ],
            "peak_rss_max": peak,
            "giant_peak_growth_bytes": growth,
            "goal_bytes": GOAL_BYTES,
            "meets_goal": peak <= GOAL_BYTES and all(r["success"] for r in results),
        },
    )


if __name__ == "__main__":
    main()
