"""``api_efficiency.py --retention``: the extra Genesys API requests each retention feature costs per 1,000
recordings, beside the default path on a day of the same size.

Each archive-run feature runs the ``archive_day`` job on its own sandbox day (same seed, same size) with only
that feature on; its extra cost is its requests per 1,000 recordings minus the default path's on its own
day, and, exactly, the requests of the families only it uses. Restore is measured twice: the run that
requests the restorations, and the run after Genesys restored them (which downloads them). The radar and the
orphans table are their own jobs: their whole cost is extra. The radar runs under both readings of
``retentionThresholdDays`` (the SDK's "retained for more days than" lists the org's retained history; the
other lists the horizon), and once more with deletion protection on (which the radar's run does).
"""

from __future__ import annotations

import time
from datetime import date, datetime, timezone
from typing import Any

import _common as c

RESTORE_LATENCY_S = 1.0
FEATURES = {  # the archive resource fields that turn each one on, and the families only it uses
    "restore": ({"restore_archived": True, "restore_cap": 100_000}, ("recording.restore",)),
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


def radar_row(servers: c.Servers) -> dict[str, Any]:
    families, radar = measured(servers, "expiry_radar", archive={"expiry_radar_days": 1})
    meta = radar["meta"].get("recording_expiry_radar", {})
    within = meta.get("recordings_within_horizon", 0)
    return {
        "api": c.api_requests(families),
        "pages": meta.get("retention_pages"),
        "entries_read": meta.get("retention_entries_read"),
        "recordings_within_horizon": within,
        "per_1000": per_1000(c.api_requests(families), within),
        "outcome": meta.get("outcome"),
        "success": radar["success"],
    }


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
            "radar": "expiry_radar job, horizon 1 day, under both readings of retentionThresholdDays; "
            "its pages are bounded by radar_max_pages (400)",
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
        results["radar"] = radar_row(servers)
        on = {"expiry_radar_days": 1, "protect_until_archived": True}
        protected_families, protected = measured(servers, "expiry_radar", archive=on)
        radar_meta = protected["meta"].get("recording_expiry_radar", {})
        results["protection"] = {
            "extra_api": c.api_requests(protected_families) - results["radar"]["api"],
            "own_requests": protected_families.get("recording.protection", 0),
            "note": radar_meta.get("deletion_protection"),
            "success": protected["success"],
        }
        orphan_families, orphans = measured(servers, "orphans_day", partition=days["default"])
        results["orphans"] = {
            "api": c.api_requests(orphan_families),
            "success": orphans["success"],
            "note": "per day, whatever the recordings: pages of the org's orphans",
        }
    with c.Servers(**config, dialect="retention_threshold=deleted_within") as servers:
        servers.export()
        results["radar_deleted_within"] = radar_row(servers)
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
    for name in ("radar", "radar_deleted_within"):
        row = results[name]
        print(
            f"{name}: {row['api']} requests, {row['pages']} pages, {row['entries_read']} entries read for "
            f"{row['recordings_within_horizon']} within the horizon ({row['per_1000']} per 1,000 within); "
            f"{row['outcome']}"
        )
    protection = results["protection"]
    print(
        f"protection (in the radar's run): {protection['extra_api']} extra requests "
        f"({protection['own_requests']} protection requests): {protection['note']}"
    )
    print(f"orphans table: {results['orphans']['api']} requests a day; settings: 1 request a run")
    c.summary(
        "api_efficiency_retention",
        smoke,
        {"results": results, "at": datetime.now(timezone.utc).isoformat(timespec="seconds")},
    )
