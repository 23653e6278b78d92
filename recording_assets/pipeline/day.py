"""One day's archive, the use case whole: what earlier runs left, the stream of batches and downloads, the
annotations (opt in), the day's tables written, and the verdicts of the blocking checks, as data.

The Dagster wing (``defs/day.py``) only turns resources into these arguments and a ``DayResult`` into a
materialisation and check results.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterable, Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date

import pyarrow as pa

from recording_assets.archive.keys import conversations_key, outcomes_key, recording_day_prefix
from recording_assets.archive.protocol import DocumentStore, RecordingStore
from recording_assets.clock import Clock
from recording_assets.genesys import GenesysClient
from recording_assets.genesys.listing import Rejected
from recording_assets.genesys.models import ConversationSummary
from recording_assets.genesys.preflight import PreflightReport
from recording_assets.pipeline.annotations import annotations_key, annotations_table, collect, known
from recording_assets.pipeline.archiver import DayArchiver
from recording_assets.pipeline.audit import AuditTrail
from recording_assets.pipeline.config import ArchiveConfig
from recording_assets.pipeline.names import DayNames
from recording_assets.pipeline.outcome import ArchiveReport, outcomes_from_rows, outcomes_table
from recording_assets.pipeline.progress import Meter, Tell, reporting
from recording_assets.pipeline.settled import conversations_from_rows
from recording_assets.pipeline.table_io import read_table, write_table
from recording_assets.pipeline.tables import CONVERSATIONS, to_table
from recording_assets.pipeline.verify import Verification, verify_checksums, verify_containers

# Schema metadata of the outcomes table: what the run did, for the manifest step to report.
SENSITIVE_CHECK_KEY = b"recording_assets.sensitive_check"
PROTECTION_KEY = b"recording_assets.deletion_protection"
# JSON list of {id, name}: the divisions the client's roles do not cover (genesys/divisions.py)
DIVISIONS_KEY = b"recording_assets.divisions_not_covered"


@dataclass(frozen=True)
class DayStores:
    archive: RecordingStore  # the recordings
    manifests: DocumentStore  # the day's tables and audit trail


@dataclass(frozen=True)
class DayResult:
    report: ArchiveReport
    sensitive_check: str  # lookup or trust: how recordings a batch leaves out were looked for
    sensitive_permission: bool | None
    protection: str  # what deletion protection did, in words
    states: Counter  # recordings per state
    outcomes: pa.Table
    outcomes_uri: str
    day_uri: str  # where the day's recordings are
    audit_uri: str
    audit_events: int
    checksums: Verification
    containers: Verification
    # (id, name) of the divisions the client's roles do not cover: their conversations were not seen
    divisions_not_covered: tuple[tuple[str, str], ...] = ()
    division_coverage: str = "unknown"  # complete, partial or unknown (genesys/divisions.py)


def rows_of(table: pa.Table | None) -> Iterator[dict]:
    """The rows of ``table`` (none for no table), a record batch at a time: a 100,000-row table never
    becomes 100,000 row dicts at once."""
    for batch in table.to_batches(max_chunksize=8192) if table is not None else ():
        yield from batch.to_pylist()


async def archive_day(
    client: GenesysClient,
    stores: DayStores,
    day: date,
    config: ArchiveConfig,
    preflight: PreflightReport,
    *,
    run_id: str,
    launched_by: str,
    clock: Clock,
    conversations: Sequence[ConversationSummary] = (),
    pages: AsyncIterable[Sequence[ConversationSummary]] | None = None,
    rejected: Callable[[], Sequence[Rejected]] | None = None,
    progress: Tell | None = None,
    names: asyncio.Future[DayNames] | None = None,
) -> DayResult:
    """Archive ``conversations`` (or ``pages`` of them, as discovery finds them) and write the day's tables.
    ``rejected``: the conversations discovery left out, asked for once the pages are exhausted.
    ``progress``: where the progress lines go, every ``config.progress_interval_s`` (``progress.py``).
    ``names``: the day's names, once discovery has ended; with them the archived recordings' sidecars are
    written beside the downloads (``sidecar_feed.py``), else the manifest step writes them all.

    The audit trail is flushed whatever happens. The outcomes and conversations tables are written once the
    stream has classified every recording, or, when a day-level error ends the run, with what it did and
    every conversation it asked about unsettled (``DayArchiver.report_so_far``), before the error goes on."""
    manifests = stores.manifests
    previous = read_table(manifests, outcomes_key(day=day))
    settled = read_table(manifests, conversations_key(day=day))
    audit = AuditTrail(store=manifests, day=day, run_id=run_id, launched_by=launched_by, clock=clock)
    archiver = DayArchiver(
        client=client,
        store=stores.archive,
        day=day,
        conversations=conversations,
        previous=outcomes_from_rows(rows_of(previous)),
        conversation_rows=conversations_from_rows(rows_of(settled)),
        run_id=run_id,
        audit=audit,
        config=config,
        preflight=preflight,
        names=names,
    )
    del previous, settled  # read into the archiver: the tables need not stay for the run
    try:
        meter = Meter(archiver.ledger, client.stats)
        async with reporting(meter, every_s=config.progress_interval_s, tell=progress):
            report = await archiver.run(pages, rejected)
    except BaseException:
        _write_tables_after_crash(manifests, day, archiver.report_so_far(), run_id)
        raise
    finally:
        audit.flush()
    if config.retention.annotations:  # a request per recording archived since the last run
        spent = await _collect_annotations(client, manifests, day, report, concurrency=config.concurrency)
        report = replace(report, annotation_requests=spent)
    mode = config.sensitive_check_for(preflight.sensitive_data)
    protection = protection_note(config)
    outcomes = outcomes_table(report.outcomes, run_id).replace_schema_metadata(
        {
            SENSITIVE_CHECK_KEY: mode,
            PROTECTION_KEY: protection,
            DIVISIONS_KEY: json.dumps([{"id": i, "name": n} for i, n in preflight.divisions_not_covered]),
        }
    )
    outcomes_uri = write_table(manifests, outcomes_key(day=day), outcomes)
    write_table(manifests, conversations_key(day=day), to_table(report.conversations, CONVERSATIONS))
    bucket = stores.archive.bucket
    return DayResult(
        report=report,
        sensitive_check=mode,
        sensitive_permission=preflight.sensitive_data,
        protection=protection,
        states=Counter(o.state.value for o in report.outcomes),
        outcomes=outcomes,
        outcomes_uri=outcomes_uri,
        day_uri=f"s3://{bucket}/{recording_day_prefix(prefix=config.key_prefix, day=day)}",
        audit_uri=f"s3://{manifests.bucket}/{audit.prefix}",
        audit_events=audit.events,
        checksums=verify_checksums(outcomes, bucket=bucket),
        containers=verify_containers(outcomes, bucket=bucket),
        divisions_not_covered=preflight.divisions_not_covered,
        division_coverage=preflight.division_coverage,
    )


def _write_tables_after_crash(
    manifests: DocumentStore, day: date, report: ArchiveReport, run_id: str
) -> None:
    """Record what a failed run did; the run's own error is what is raised, even if S3 refuses this too."""
    try:
        write_table(manifests, outcomes_key(day=day), outcomes_table(report.outcomes, run_id))
        write_table(manifests, conversations_key(day=day), to_table(report.conversations, CONVERSATIONS))
    except Exception:  # S3 unreachable or denied is likely the error itself: nothing more can be kept
        pass


async def _collect_annotations(
    client, manifests: DocumentStore, day: date, report: ArchiveReport, *, concurrency
) -> int:
    """Collect and write the annotations of the recordings ``report`` archived; the requests spent."""
    key = annotations_key(day=day)
    earlier = known(read_table(manifests, key))
    archived = [o.key for o in report.outcomes if o.state.in_archive]
    found, spent = await collect(client, archived, earlier, concurrency=concurrency)
    write_table(manifests, key, annotations_table(found))
    return spent


def protection_note(config: ArchiveConfig) -> str:
    """Deletion protection is the expiry radar's (``protection.py``): a day's run places and lifts none."""
    return "by the expiry radar (see its metadata)" if config.retention.protect_until_archived else "off"
