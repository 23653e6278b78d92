"""``api_efficiency.py --names``: the extra Genesys API requests naming the ids costs per 1,000 recordings.

The ``archive_day`` job runs on a first day (the names tables in the manifest bucket empty: every user and
queue of the day is asked for, the wrap-up codes and divisions listed once), then on the day before (its
agents and queues mostly known: only ids the tables lack are asked for), then on the first day again (a
re-run: nothing is asked). Each is counted at the sandbox, by path, over the four names endpoints (the
preflight's own divisions read, at its page size, is not the names' and is left out). The cost is a few
requests a day whatever its size, so per 1,000 recordings it shows at a day of about 1,000 recordings.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import _common as c

NAME_PATHS = (
    "/api/v2/users",
    "/api/v2/routing/queues",
    "/api/v2/routing/wrapupcodes",
    "/api/v2/authorization/divisions",
)
GOALS = {"first day": 15.0, "known day": 5.0, "re-run": 5.0}


def per_1000(requests: int, recordings: int) -> float:
    return round(1000.0 * requests / recordings, 1) if recordings else float("nan")


def names(smoke: bool) -> None:
    conversations = 200 if smoke else 1000
    config: dict[str, Any] = dict(
        conversations_per_day=conversations,
        media_scale=0.002,
        rate_limit_per_minute=c.EFFECTIVELY_UNLIMITED,
        batch_latency_s=0.2,
        live_calls=0,
        divisions=4,
    )
    first = c.bench_day()
    c.header(
        "api_efficiency --names",
        smoke,
        {"days": f"{first}, then {first - timedelta(days=1)}", "sandbox": config},
    )
    rows = []
    with c.Servers(**config) as servers:
        servers.export()
        for label, day in (("first day", first), ("known day", first - timedelta(days=1)), ("re-run", first)):
            servers.reset_stats()
            c.run_archive_job(day)
            # pageSize=100: the names' reads (the preflight's division coverage lists divisions at 25)
            log = [e for e in servers.full_log() if e["path"] in NAME_PATHS and "pageSize=100" in e["query"]]
            recordings = len(c.read_manifest(servers, day))
            by_path = {p.rsplit("/", 1)[-1]: sum(e["path"] == p for e in log) for p in NAME_PATHS}
            rows.append((label, len(log), recordings, by_path))
    print()
    print(f"{'run':12} {'name requests':>13} {'recordings':>10} {'per 1,000':>10} {'goal':>6}  by endpoint")
    for label, asked, recordings, by_path in rows:
        shown = ", ".join(f"{k}={v}" for k, v in by_path.items())
        print(
            f"{label:12} {asked:>13} {recordings:>10} {per_1000(asked, recordings):>10} {GOALS[label]:>6}  {shown}"
        )
    c.summary(
        "api_efficiency --names",
        smoke,
        {label: per_1000(asked, recordings) for label, asked, recordings, _ in rows},
    )
