"""The fault matrix end to end: every sandbox fault alone, then all of them together, over a small day.

Each scenario gets its own sandbox (fault tallies start fresh; same seed, so the same org) and fresh
buckets, and runs the ``archive_day`` job twice in a worker process (``execute_in_process`` there, with
the scenario's own environment). Scenarios run side by side in a small process pool.

After the first run, from S3 and the sandbox's truth (never from what the run says about itself):
- every truth recording has exactly one manifest row (and one outcome row) in an explicit state, and a
  failed or quarantined one says why;
- states agree with the truth: fileState ARCHIVED -> archived_in_genesys, DELETED -> deleted;
- nothing sits under a final key without being the recording's true bytes (every object under
  recordings/ is downloaded here and hashed against the sandbox), its ``sha256`` metadata and SSE;
  final-key objects are exactly the archived rows;
- bad bytes only under quarantine/ (and they are not the true bytes), nothing else in the bucket;
- every quarantined recording's manifest row points at its one evidence object, and every evidence
  object is pointed at by exactly one row (the S3 listing, read here, against the manifest), capped at
  the configured size with the whole download's size and SHA-256 in its metadata;
- the fault really fired (sandbox counters, quarantine evidence, look-ups).

Then, when the first run left anything behind (and always in the long mode), the faults are turned into
what a later run meets (first-attempt faults stay on: they do not fire
twice for a recording; persistent corruption, denied permissions and a short URL lifetime are gone) and
the second run must archive every AVAILABLE recording, including each one the first run failed or
quarantined.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

import pytest

from recording_assets.archive.sidecar_keys import is_sidecar_key
from recording_assets.pipeline.config import ArchiveConfig
from recording_assets.sandbox import Faults
from recording_assets.sandbox.config import RECORDING_VIEW, VIEW_SENSITIVE
from recording_assets.settings import FORCE_QUARANTINED
from recording_assets_tests.reliability import reliability_support as rs

SMALL = 30  # conversations per day: about 35 recordings
PAGED = 110  # more than one 100-row details page: pagination drift bites, the first page settles nothing
LONG_SMALL = 150
FIRST = 0.35  # share of recordings a per-recording fault picks
# A data lake 35 days behind holds none of the days pick_day chooses (2..33 days back): discovery reads the
# day through the details query, whose pages pagination drift shifts (a day the lake holds is read by a
# details job, which the drift does not touch).
QUERY_ROUTE = {"data_lag_s": 35 * 86_400.0}


@dataclass(frozen=True)
class Scenario:
    name: str
    faults: Faults
    later: Faults | None = None  # the second run's faults; None = the same faults again
    sandbox: dict = field(default_factory=dict)  # SandboxConfig extras for the first run
    later_sandbox: dict | None = None  # a new sandbox (same seed, same org) for the second run
    conversations: int = SMALL
    first_run_fails: bool = False  # the whole first run is refused (not one recording)
    later_env: dict = field(default_factory=dict)  # settings of the second run (e.g. force_quarantined)


# Every Faults field at once. A short URL lifetime is its own row: with it every URL of the day has expired
# before it is used (all 96 media GETs of a run refused, measured), which would hide the other faults.
ALL_TOGETHER = Faults(
    burst_429_every=9,
    burst_429_length=2,
    burst_retry_after_s=1,
    error_5xx_every=7,
    reset_mid_body_rate=0.15,
    truncate_body_rate=0.15,
    wrong_content_type_rate=0.15,
    corrupt_magic_rate=0.15,
    corrupt_magic_persistent=True,
    revoke_tokens_every=12,  # every 5 with 8 concurrent look-ups outruns the 3 renewals a request may make
    deny_permissions=frozenset({VIEW_SENSITIVE}),
    deleted_status=410,
    batch_error_rate=0.2,
    slow_response_s=0.1,
    pagination_drift=True,
)

FORCED = {FORCE_QUARANTINED: "true"}

SCENARIOS = [
    Scenario("burst_429_every", Faults(burst_429_every=6, burst_429_length=2, burst_retry_after_s=1)),
    Scenario("error_5xx_every", Faults(error_5xx_every=5)),
    Scenario("reset_mid_body_rate", Faults(reset_mid_body_rate=FIRST)),
    Scenario("truncate_body_rate", Faults(truncate_body_rate=FIRST)),
    Scenario("wrong_content_type_rate", Faults(wrong_content_type_rate=FIRST)),
    Scenario("corrupt_magic_rate", Faults(corrupt_magic_rate=FIRST)),
    Scenario(
        "corrupt_magic_persistent",
        Faults(corrupt_magic_rate=FIRST, corrupt_magic_persistent=True),
        later=Faults(),
        # The same bad bytes twice are what Genesys holds: only a forced run downloads them again.
        later_env=FORCED,
    ),
    Scenario("revoke_tokens_every", Faults(revoke_tokens_every=3)),
    Scenario(
        "deny_permissions (viewSensitiveData)",
        Faults(deny_permissions=frozenset({VIEW_SENSITIVE})),
        later=Faults(),
    ),
    Scenario(
        "deny_permissions (recording:view)",
        Faults(deny_permissions=frozenset(RECORDING_VIEW)),
        later=Faults(),
        first_run_fails=True,
    ),
    Scenario("deleted_status=410", Faults(deleted_status=410)),
    Scenario("batch_error_rate", Faults(batch_error_rate=FIRST)),
    # The day's one job answers 503 to every poll: its recordings are failed, not the day; the next run
    # (the job healthy again) archives them.
    Scenario("failed_batch_job", Faults(failed_batch_job=1), later=Faults()),
    Scenario("slow_response_s", Faults(slow_response_s=0.25)),
    Scenario("pagination_drift", Faults(pagination_drift=True), sandbox=QUERY_ROUTE, conversations=PAGED),
    Scenario("url_ttl_s=2", Faults(), sandbox={"url_ttl_s": 2}, later_sandbox={}),
    # The lake holds the day, but its availability date does not parse: the day goes to the details query.
    # More than one query page, so the first page does not settle the day before the date is read.
    Scenario("availability_answer=malformed", Faults(availability_answer="malformed"), conversations=PAGED),
    # The day's details job ends FAILED: discovery falls back to the details query.
    Scenario("details_job_ends=FAILED", Faults(details_job_ends="FAILED"), conversations=PAGED),
    # Rate-limit headers that do not parse: the run goes on by its own budget.
    Scenario("rate_limit_headers=malformed", Faults(rate_limit_headers="malformed")),
    Scenario(
        "all together",
        ALL_TOGETHER,
        later=Faults(**{**ALL_TOGETHER.to_json(), "corrupt_magic_persistent": False, "deny_permissions": []}),
        later_env=FORCED,
        sandbox=QUERY_ROUTE,
        conversations=PAGED,
    ),
]


@dataclass
class Outcome:
    scenario: str
    day: str
    recordings: int = 0
    available: int = 0
    fired: dict = field(default_factory=dict)
    first_states: dict = field(default_factory=dict)
    first_failure: str | None = None
    quarantine_objects: int = 0
    archived_after_bad_download: int = 0  # archived rows naming the evidence of a bad earlier download
    second_states: dict = field(default_factory=dict)
    retried_and_archived: int = 0
    first_failed_reasons: dict = field(default_factory=dict)
    first_s: float = 0.0
    second_s: float = 0.0
    problems: list[str] = field(default_factory=list)


def pick_day(server) -> str:
    """A recent day whose recordings include a sensitive, a DELETED and an ARCHIVED one, so every fault that
    depends on them has something to bite on. Recent: within the 35-day look-back of the details query (the
    sandbox and the run use the real clock), so discovery can page through the query (on a sandbox whose data
    lake does not yet hold the day, ``QUERY_ROUTE``) and pagination drift bites; an older day would be
    discovered through the jobs API. At SMALL conversations about one day in six
    qualifies, so 32 candidates leave well under a 1% chance of none."""
    today = datetime.now(timezone.utc).date()
    for back in range(2, 34):
        day = (today - timedelta(days=back)).isoformat()
        recs = rs.truth(server, day).values()
        states = Counter(r.file_state for r in recs)
        sensitive = any(r.sensitive and r.file_state == "AVAILABLE" for r in recs)
        if states["DELETED"] and states["ARCHIVED"] and sensitive:
            return day
    raise AssertionError("no day with sensitive, deleted and archived recordings; change the seed")


class Run:
    """One scenario's state between its two runs."""

    def __init__(self, scenario: Scenario, s3: rs.S3Server, day: str, conversations: int) -> None:
        self.scenario = scenario
        self.s3 = s3
        self.day = day
        self.servers = [
            rs.sandbox(conversations_per_day=conversations, faults=scenario.faults, **scenario.sandbox)
        ]
        self.buckets = s3.fresh_buckets("fm")
        self.truth = rs.truth(self.server, day)
        self.outcome = Outcome(scenario.name, day, len(self.truth), len(rs.available(self.truth)))
        self.first_rows: list[dict] = []
        self.second = False

    @property
    def server(self):
        return self.servers[-1]

    def env(self) -> dict[str, str]:
        extra = self.scenario.later_env if self.second else {}
        return {**rs.run_env(self.s3, self.server, self.buckets), **extra}

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    # -- after the first run ----------------------------------------------------------------------------

    def inspect_first(self, result: rs.RunResult) -> None:
        out, client = self.outcome, self.s3.client()
        out.first_s = result.wall_s
        out.first_failure = result.failure
        stats = self.server.stats()
        archive = rs.Archive.read(client, self.buckets[0])
        quarantine = archive.under("quarantine")
        out.quarantine_objects = len(quarantine)
        gets = rs.media_gets(stats["log"])
        out.fired = {
            "429": stats["statuses"].get("429", 0),
            "5xx": sum(stats["statuses"].get(s, 0) for s in ("502", "503", "504")),
            "403_media": sum(1 for e in stats["log"] if e["family"] == "media" and e["status"] == 403),
            "media_refetched": sum(1 for n in gets.values() if n > 1),
            "tokens_issued": stats["tokens_issued"],
            "metadata_lookups": stats["requests"].get("recording.metadata", 0),
            "batch_submits": stats["requests"].get("recording.batch.submit", 0),
            "analytics_pages": stats["requests"].get("analytics.query", 0),
            "analytics_jobs": stats["requests"].get(
                "analytics.jobs", 0
            ),  # availability, submit, poll, results
            "quarantined_objects": len(quarantine),
        }
        problems = out.problems
        problems += [f"first run: {p}" for p in rs.integrity_violations(archive, self.truth)]
        stray = set(archive.objects) - set(archive.under("recordings")) - set(quarantine)
        if stray or archive.open_uploads:
            problems.append(f"first run left {sorted(stray)} and open uploads {archive.open_uploads}")
        sha_by_id = {rid: rec.sha256 for (_, rid), rec in self.truth.items()}
        for key, obj in quarantine.items():
            rid = obj.metadata.get("recording-id")
            if rid not in sha_by_id or obj.sha256 == sha_by_id[rid]:
                problems.append(f"{key}: quarantined bytes are not a bad copy of a recording of the day")

        if self.scenario.first_run_fails:
            if result.success or "Preflight failed" not in (result.failure or ""):
                problems.append(
                    f"expected a clean preflight failure, got success={result.success}: {result.failure}"
                )
            elif not any(p in (result.failure or "") for p in RECORDING_VIEW):
                problems.append(f"the failure does not name the missing permission: {result.failure}")
            if archive.objects:
                problems.append(f"a refused run wrote {sorted(archive.objects)}")
            return
        if not result.success:
            problems.append(f"first run failed: {result.failure}")
            return
        rows = rs.manifest_rows(client, self.buckets[1], self.day)
        outcomes = rs.outcome_rows(client, self.buckets[1], self.day)
        self.first_rows = rows
        out.first_states = dict(sorted(Counter(r["state"] for r in rows).items()))
        out.first_failed_reasons = dict(Counter(r["reason"] for r in rows if r["state"] == "failed"))
        out.archived_after_bad_download = sum(
            1 for r in rows if r["state"] == "archived" and r["quarantine_uri"]
        )
        problems += self._row_problems(rows, outcomes, archive, "first run")

    def _row_problems(self, rows, outcomes, archive, label) -> list[str]:
        problems = []
        keys = Counter((r["conversation_id"], r["recording_id"]) for r in rows)
        if set(keys) != set(self.truth) or any(n > 1 for n in keys.values()):
            problems.append(f"{label}: {len(rows)} manifest rows for {len(self.truth)} truth recordings")
        if Counter((r["conversation_id"], r["recording_id"]) for r in outcomes) != Counter(set(self.truth)):
            problems.append(f"{label}: outcome rows do not match the truth one to one")
        problems += [
            f"{label}: outcome state {r['state']!r}" for r in outcomes if r["state"] not in rs.STATES
        ]
        denied_sensitive = VIEW_SENSITIVE in self.server.faults.deny_permissions
        final_uris = {
            f"s3://{self.buckets[0]}/{key}" for key in archive.under("recordings") if not is_sidecar_key(key)
        }
        archived_uris = set()
        for row in rows:
            rec = self.truth.get((row["conversation_id"], row["recording_id"]))
            state, what = row["state"], f"{label}: {row['recording_id']} ({row['state']})"
            if rec is None:
                continue
            if state not in rs.MANIFEST_STATES:
                problems.append(f"{what}: not an explicit state")
            if state in ("failed", "quarantined", "excluded") and not row["reason"]:
                problems.append(f"{what}: no reason")
            expected = {"ARCHIVED": {"archived_in_genesys"}, "DELETED": {"deleted"}}.get(rec.file_state)
            if expected is None:
                expected = {"archived", "failed", "quarantined"}
                if denied_sensitive and rec.sensitive:
                    expected.add("excluded")
            if state not in expected:
                sensitive = " (sensitive)" if rec.sensitive else ""
                problems.append(f"{what}: truth says {rec.file_state}{sensitive}")
            if state == "archived":
                archived_uris.add(row["storage_uri"])
                if row["sha256"] != rec.sha256:
                    problems.append(f"{what}: sha256 {row['sha256']} is not the recording's {rec.sha256}")
        if archived_uris != final_uris:
            problems.append(
                f"{label}: final-key objects without an archived row {sorted(final_uris - archived_uris)}, "
                f"archived rows without an object {sorted(archived_uris - final_uris)}"
            )
        return problems + evidence_pointer_problems(rows, archive, label)

    # -- between the runs and after the second --------------------------------------------------------

    def needs_second(self) -> bool:
        """Anything left for a later run: a refused or failed run, or recordings not archived."""
        leftover = {"failed", "quarantined", "excluded"}
        return bool(
            self.scenario.first_run_fails
            or self.outcome.problems
            or leftover & set(self.outcome.first_states)
        )

    def prepare_second(self) -> None:
        self.second = True
        if self.scenario.later_sandbox is not None:
            config = self.server.config
            self.servers.append(
                rs.sandbox(
                    conversations_per_day=config.conversations_per_day,
                    faults=self.scenario.later or config.faults,
                    **self.scenario.later_sandbox,
                )
            )
        elif self.scenario.later is not None:
            self.server.set_faults(self.scenario.later)

    def inspect_second(self, result: rs.RunResult) -> None:
        out, client = self.outcome, self.s3.client()
        out.second_s = result.wall_s
        if not result.success:
            out.problems.append(f"second run failed: {result.failure}")
            return
        archive = rs.Archive.read(client, self.buckets[0])
        rows = rs.manifest_rows(client, self.buckets[1], self.day)
        outcomes = rs.outcome_rows(client, self.buckets[1], self.day)
        out.second_states = dict(sorted(Counter(r["state"] for r in rows).items()))
        out.problems += self._row_problems(rows, outcomes, archive, "second run")
        out.problems += [f"second run: {p}" for p in rs.integrity_violations(archive, self.truth)]
        by_key = {(r["conversation_id"], r["recording_id"]): r for r in rows}
        for key in rs.available(self.truth):
            if by_key.get(key, {}).get("state") != "archived":
                state = by_key.get(key, {}).get("state")
                out.problems.append(f"second run: {key[1]} is {state}, not archived")
        retried = [r for r in self.first_rows if r["state"] in ("failed", "quarantined", "excluded")]
        out.retried_and_archived = sum(
            1
            for r in retried
            if by_key[(r["conversation_id"], r["recording_id"])]["run_outcome"] == "archived"
        )
        if out.retried_and_archived != len(retried):
            out.problems.append(
                f"second run re-archived {out.retried_and_archived} of {len(retried)} left over"
            )


def evidence_pointer_problems(rows: list[dict], archive: rs.Archive, label: str) -> list[str]:
    """Every quarantined row points at its one evidence object, every object under quarantine/ (listed and
    read back here) is pointed at by exactly one row of its own recording, and each is capped, with the
    whole download's size and SHA-256 in its metadata."""
    problems = []
    objects = {f"s3://{archive.bucket}/{key}": obj for key, obj in archive.under("quarantine").items()}
    pointers = Counter(r["quarantine_uri"] for r in rows if r["quarantine_uri"])
    for row in rows:
        uri, what = row["quarantine_uri"], f"{label}: {row['recording_id']} ({row['state']})"
        if row["state"] == "quarantined" and uri is None:
            problems.append(f"{what}: quarantined, and its row names no evidence")
        if uri is None:
            continue
        obj = objects.get(uri)
        if obj is None:
            problems.append(f"{what}: names evidence {uri} that is not in the bucket")
        elif (obj.metadata.get("conversation-id"), obj.metadata.get("recording-id")) != (
            row["conversation_id"],
            row["recording_id"],
        ):
            problems.append(f"{what}: names evidence {uri} of another recording")
    unnamed = sorted(set(objects) - set(pointers))
    shared = sorted(uri for uri, n in pointers.items() if n > 1)
    if unnamed or shared:
        problems.append(f"{label}: evidence no row names {unnamed}, evidence named by several rows {shared}")
    cap = ArchiveConfig().quarantine_evidence_bytes
    for uri, obj in objects.items():
        whole, whole_sha = obj.metadata.get("download-size", ""), obj.metadata.get("download-sha256")
        if obj.size > cap or not whole.isdigit() or int(whole) < obj.size or not whole_sha:
            problems.append(
                f"{uri}: {obj.size} bytes (cap {cap}), download-size {whole!r}, sha256 {whole_sha}"
            )
        elif int(whole) == obj.size and whole_sha != obj.sha256:
            problems.append(f"{uri}: whole download kept, yet its download-sha256 is not its bytes' hash")
    return problems


def evidence_problems(scenario: Scenario, out: Outcome) -> list[str]:
    """Did the fault actually fire? (A matrix row that never met its fault proves nothing.)"""
    fired = out.fired
    checks = {
        "burst_429_every": fired["429"] > 0,
        "error_5xx_every": fired["5xx"] > 0,
        "reset_mid_body_rate": fired["media_refetched"] > 0,
        "truncate_body_rate": fired["media_refetched"] > 0,
        # First GET only: every error page is a bad download a retry cured, named by its archived row.
        "wrong_content_type_rate": fired["quarantined_objects"] == out.archived_after_bad_download > 0,
        "corrupt_magic_rate": fired["quarantined_objects"] > 0,
        # Quarantined once: one copy of the bad bytes per quarantined recording, whatever the attempts.
        "corrupt_magic_persistent": fired["quarantined_objects"]
        == out.first_states.get("quarantined", 0)
        > 0,
        "revoke_tokens_every": fired["tokens_issued"] > 2,
        "deny_permissions (viewSensitiveData)": out.first_states.get("excluded", 0) > 0,
        "deny_permissions (recording:view)": out.first_failure is not None,
        "deleted_status=410": out.first_states.get("deleted", 0) > 0,
        "batch_error_rate": fired["metadata_lookups"] > 0 and fired["batch_submits"] > 1,
        "failed_batch_job": (
            fired["5xx"] > 0
            and out.first_states.get("failed", 0) > 0
            and all(reason.startswith("batch job ") for reason in out.first_failed_reasons)
        ),
        "slow_response_s": out.first_s > 0,
        "pagination_drift": fired["analytics_pages"] > 2,
        # Every URL expires before use: each recording ends failed, saying so, after its attempts are spent.
        "url_ttl_s=2": (
            fired["403_media"] > 0
            and out.first_states.get("failed", 0) > 0
            and all("expir" in reason for reason in out.first_failed_reasons)
        ),
        # The availability read, no job, then the details query.
        "availability_answer=malformed": fired["analytics_jobs"] == 1 and fired["analytics_pages"] > 0,
        # The availability read, the job's submit and poll, then the details query.
        "details_job_ends=FAILED": fired["analytics_jobs"] > 2 and fired["analytics_pages"] > 0,
        "rate_limit_headers=malformed": out.first_failure is None and out.first_states.get("archived", 0) > 0,
        "all together": fired["429"] > 0 and fired["5xx"] > 0 and fired["quarantined_objects"] > 0,
    }
    return [] if checks[scenario.name] else [f"the fault never fired: {fired}"]


@pytest.mark.slow
@pytest.mark.reliability_long
def test_every_sandbox_fault_alone_and_all_together(request):
    long = rs.long_mode(request.config)
    probe = rs.sandbox(conversations_per_day=LONG_SMALL if long else SMALL)
    try:
        day = pick_day(probe)
    finally:
        probe.stop()
    s3 = rs.S3Server()  # after the day is picked: a failed pick must not leave moto running
    started = time.monotonic()
    runs: dict = {}
    try:
        with rs.worker_pool(int(os.environ.get("RELIABILITY_WORKERS", "3"))) as pool:
            pending = {}
            for scenario in SCENARIOS:
                size = max(scenario.conversations, LONG_SMALL) if long else scenario.conversations
                run = Run(scenario, s3, day, size)
                runs[scenario.name] = run
                pending[pool.submit(rs.materialise, run.env(), day)] = (run, 1)
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    run, number = pending.pop(future)
                    if number == 1:
                        run.inspect_first(future.result())
                        if long or run.needs_second():
                            run.prepare_second()
                            pending[pool.submit(rs.materialise, run.env(), day)] = (run, 2)
                    else:
                        run.inspect_second(future.result())
    finally:
        for run in runs.values():
            run.stop()
        s3.stop()
    outcomes = []
    for scenario in SCENARIOS:
        out = runs[scenario.name].outcome
        out.problems += evidence_problems(scenario, out)
        outcomes.append(out)
    rs.report("fault_matrix", [asdict(o) for o in outcomes])
    print(f"\nfault matrix over {day}: {len(outcomes)} scenarios in {time.monotonic() - started:.0f}s")
    for o in outcomes:
        print(
            f"  {o.scenario}: {o.first_states} -> {o.second_states}; fired {o.fired}; "
            f"{o.first_s}s + {o.second_s}s; problems {o.problems}"
        )
    assert {o.scenario: o.problems for o in outcomes} == {o.scenario: [] for o in outcomes}


# ------------------------------------------------------------------------------- a URL that keeps expiring


def test_a_url_that_keeps_expiring_ends_failed_instead_of_crashing_the_day():
    """URLs that have always expired by the time they are used (a 1 s lifetime): the run completes, each
    available recording ends failed with the reason, after at most ``max_media_attempts`` media GETs.

    Once this crashed the whole audio step (``assert last is not None``: an expired attempt counted toward
    the attempts but sent the recording back for a fresh URL, and the next round had no attempt left)."""
    day = (datetime.now(timezone.utc).date() - timedelta(days=2)).isoformat()
    server = rs.sandbox(conversations_per_day=4, url_ttl_s=1)
    try:
        s3 = rs.S3Server()
    except BaseException:
        server.stop()
        raise
    try:
        buckets = s3.fresh_buckets("expiring")
        result = rs.materialise(rs.run_env(s3, server, buckets), day)
        truth = rs.truth(server, day)
        rows = rs.manifest_rows(s3.client(), buckets[1], day) if result.success else []
        archive = rs.Archive.read(s3.client(), buckets[0])
        gets = rs.media_gets(server.stats()["log"])
    finally:
        server.stop()
        s3.stop()
    assert result.success, result.failure
    available = rs.available(truth)
    assert available, "a day without an available recording proves nothing"
    by_key = {(r["conversation_id"], r["recording_id"]): r for r in rows}
    assert {key: by_key[key]["state"] for key in available} == {key: "failed" for key in available}
    assert all("expir" in by_key[key]["reason"] for key in available), [r["reason"] for r in rows]
    assert not archive.under("recordings"), "nothing lands when no download ever succeeded"
    assert gets and max(gets.values()) <= ArchiveConfig().max_media_attempts, gets
