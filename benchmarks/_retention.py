"""``api_efficiency.py --retention``: the extra Genesys API requests each issue-14 feature costs per 1,000
recordings, beside the default path on a day of the same size.

Each feature runs the ``archive_day`` job on its own sandbox day (same seed, same size) with only that
feature on; its extra cost is its requests per 1,000 recordings minus the default path's on its own day,
and, exactly, the requests of the families only it uses. Restore is measured twice: the run that requests
the restorations, and the run after Genesys restored them (which downloads them). The radar and the orphans
table are their own jobs: their whole cost is extra.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timezone
from typing import Any

import _common as c

RESTORE_LATENCY_S = 1.0
FEATURES = {  # the archive resource fields that turn each one on, and the families only it uses
    "restore": ({"restore_archived": True, "restore_cap": 100_000}, ("recording.restore",)),
    "protection": ({"protect_until_archived": True}, ("recording.protection",)),
    "annotations": ({"annotations": True}, ("recording.annotations",)),
}


def per_1000(requests: float, recordings: int) -> float:
    return round(1000.0 * requests / recordings, 1) if recordings else float("nan")


def run_job(
    name: str, *, partition: date | None = None, archive: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Materialise job ``name`` in this process (the environment points at the servers)."""
    import dagster as dg

    from recording_assets.definitions import defs as code_location

    config = {
        **(archive or {}),
        "archive_bucket": {"env": "RECORDING_ARCHIVE_BUCKET"},
        "manifest_bucket": {"env": "RECORDING_MANIFEST_BUCKET"},
    }
    run_config = {
        "loggers": {"console": {"config": {"log_level": "ERROR"}}},
        "resources": {"archive": {"config": config}},
    }
    job = code_location().resolve_job_def(name)
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            instance=instance,
            run_config=run_config,
            raise_on_error=False,
            partition_key=partition.isoformat() if partition else None,
        )
        meta = c.materialised_metadata(result)
    return {"success": result.success, "meta": meta}


def measured(servers: c.Servers, name: str, **kwargs: Any) -> tuple[dict[str, int], dict[str, Any]]:
    servers.reset_stats()
    job = run_job(name, **kwargs)
    return servers.stats()["requests"], job


def retention(smoke: bool) -> None:
    conversations = 60 if smoke else 2000
    config: dict[str, Any] = dict(
        conversations_per_day=conversations,
        media_scale=0.002,
        live_calls=0,
        rate_limit_per_minute=c.EFFECTIVELY_UNLIMITED,
        batch_latency_s=0.3,
        restore_latency_s=RESTORE_LATENCY_S,
    )
    days = {name: c.bench_day(3 + n) for n, name in enumerate(("default", *FEATURES))}
    truth = {name: c.day_truth(day, **config) for name, day in days.items()}
    c.header(
        "api_efficiency --retention",
        smoke,
        {
            "days": {
                name: f"{day} (UTC), {truth[name]['recordings']} recordings" for name, day in days.items()
            },
            "sandbox": config,
            "counted": "sandbox counters per family, excluding token and media",
            "radar": "expiry_radar job, horizon 1 day (linear: one retention-query page per 500 recordings)",
        },
    )
    results: dict[str, Any] = {}
    with c.Servers(**config) as servers:
        servers.export()
        base_families, base = measured(servers, "archive_day", partition=days["default"])
        base_rerun, _ = measured(servers, "archive_day", partition=days["default"])
        base_per_1000 = per_1000(c.api_requests(base_families), truth["default"]["recordings"])
        results["default"] = {
            "per_1000": base_per_1000,
            "rerun_api": c.api_requests(base_rerun),
            "success": base["success"],
        }
        for name, (fields, own) in FEATURES.items():
            recordings = truth[name]["recordings"]
            families, job = measured(servers, "archive_day", partition=days[name], archive=fields)
            row = {
                "per_1000": per_1000(c.api_requests(families), recordings),
                "own_requests": sum(families.get(f, 0) for f in own),
                "success": job["success"],
            }
            row["extra_per_1000"] = round(row["per_1000"] - base_per_1000, 1)
            row["own_per_1000"] = per_1000(row["own_requests"], recordings)
            if name == "restore":
                time.sleep(RESTORE_LATENCY_S + 0.5)  # Genesys restores them meanwhile
                after, job = measured(servers, "archive_day", partition=days[name], archive=fields)
                audio = job["meta"].get("recording_audio", {})
                row["completion_run_api"] = c.api_requests(after)
                row["completion_extra_per_1000"] = per_1000(
                    c.api_requests(after) - c.api_requests(base_rerun), recordings
                )
                row["restored_then_archived"] = audio.get("uploaded_objects")
            results[name] = row
        radar_families, radar = measured(servers, "expiry_radar", archive={"expiry_radar_days": 1})
        within = radar["meta"].get("recording_expiry_radar", {}).get("recordings_within_horizon", 0)
        results["radar"] = {
            "api": c.api_requests(radar_families),
            "recordings_within_horizon": within,
            "per_1000": per_1000(c.api_requests(radar_families), within),
            "success": radar["success"],
        }
        orphan_families, orphans = measured(servers, "orphans_day", partition=days["default"])
        results["orphans"] = {
            "api": c.api_requests(orphan_families),
            "success": orphans["success"],
            "note": "per day, whatever the recordings: pages of the org's orphans",
        }
    results["settings"] = {
        "api": 1,
        "note": "GET /api/v2/recording/settings once per preflight (in the default)",
    }
    print(
        f"\n{'feature':12} {'per 1,000':>9} {'extra per 1,000':>15} {'own requests':>12} {'own per 1,000':>13}"
    )
    for name, row in results.items():
        if "extra_per_1000" in row or name == "default":
            print(
                f"{name:12} {row['per_1000']:>9} {row.get('extra_per_1000', 0.0):>15} "
                f"{row.get('own_requests', 0):>12} {row.get('own_per_1000', 0.0):>13}"
            )
    restore = results["restore"]
    print(
        f"\nrestore, the run after Genesys restored them: {restore['completion_run_api']} requests "
        f"({restore['completion_extra_per_1000']} per 1,000 beyond a default re-run), "
        f"{restore['restored_then_archived']} archived"
    )
    print(
        f"radar: {results['radar']['api']} requests for {within} recordings within the horizon "
        f"({results['radar']['per_1000']} per 1,000); orphans table: {results['orphans']['api']} requests a day; "
        "settings: 1 request a run"
    )
    c.summary(
        "api_efficiency_retention",
        smoke,
        {"results": results, "at": datetime.now(timezone.utc).isoformat(timespec="seconds")},
    )
