"""What the run queue and run monitoring are told about our runs: run tags stated once, and the numbers
deploy/dagster.yaml and deploy/values.yaml must agree with (recording_assets_tests/ops/test_ops_run_queue.py
holds them together). The reasoning is in docs/operations.md, "The run queue"."""

MAX_RUNTIME_TAG = "dagster/max_runtime"  # seconds; run monitoring fails a run that runs longer
PRIORITY_TAG = "dagster/priority"  # the queued run coordinator starts higher numbers first
# archive_daily's runs (yesterday and its re-sweeps): above a backfill's runs, which carry no priority (0),
# so tonight's days start before a queued year and claim genesys_api slots before it (Dagster orders both the
# run queue and a pool's pending steps by this tag). Below the expiry radar's days ("10").
SCHEDULED_PRIORITY = "5"
MAX_RETRIES_TAG = "dagster/max_retries"  # run retries (runRetries in deploy/values.yaml) per run

ARCHIVE_MAX_RUNTIME_S = 4 * 3600
"""Twice the worst case of one day's archive run in the default mode: a 100,000-recording day (ten times the
benchmarked 10,083) costs about 8,600 API requests, 64 minutes at a run's 135 requests/minute (pool limit 2),
while its 33 GB move in about 27 minutes at 20 MB/s beside them; doubled for 429 pauses and a slow store.
A run stopped at this bound loses nothing: the next run of the day keeps what landed and does the rest."""

CONTROL_MAX_RUNTIME_S = 10 * 60  # a control action is a few requests; a stuck one must not hold its slot
CONTROL_PRIORITY = "20"  # above the expiry radar's days ("10"): a paused card payment goes first
CONTROL_MAX_RETRIES = (
    "0"  # a control action is for a live call: relaunched later, it acts on the wrong moment
)
