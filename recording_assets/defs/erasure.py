"""``erase_subject``: erasure that follows Genesys (GDPR), opt in, one run per data subject.

Run config (Launchpad)::

    ops:
      erase_subject_op:
        config:
          gdpr_request_id: 3f1c...        # a Genesys GDPR_DELETE request (its subject's phone numbers and
                                          # e-mail addresses), OR, instead, the operator's identifiers:
          phone_numbers: []               # e.g. ["+15550001111"]
          email_addresses: []
          conversation_ids: []
          reason: "GDPR art. 17 request 2026-41"
          first_day: null                 # YYYY-MM-DD .. last_day, within the partitions; both null:
          last_day: null                  # every day that has a manifest

The library does the work (``pipeline/erasure.py``); this module validates the config, reads the GDPR
request (preflight: ``gdpr:request:view``) and turns the report into metadata. Identifiers never reach
the log or the metadata: counts, object URIs and the request id do.
"""

import asyncio
import re
from datetime import date

import dagster as dg
from pydantic import Field

from recording_assets.defs.common import launched_by
from recording_assets.defs.names import ERASE_JOB
from recording_assets.defs.partitions import daily_partitions
from recording_assets.defs.resources import ArchiveResource, GenesysCloudResource
from recording_assets.genesys.errors import GenesysError
from recording_assets.genesys.gdpr import GDPR_VIEW
from recording_assets.pipeline.erasure import ErasureOrder, ErasureReport, checked_reason, erase_subject
from recording_assets.pipeline.subjects import Subject, SubjectError
from recording_assets.settings import Settings

_MANIFEST_DAY = re.compile(r"manifests/date=(\d{4}-\d{2}-\d{2})/manifest\.parquet")


class EraseSubjectConfig(dg.Config):
    gdpr_request_id: str | None = Field(default=None, description="a Genesys GDPR_DELETE request id")
    phone_numbers: list[str] = Field(default=[], description="instead of a request: the subject's numbers")
    email_addresses: list[str] = Field(default=[], description="instead of a request: e-mail addresses")
    conversation_ids: list[str] = Field(default=[], description="instead of a request: conversation ids")
    reason: str = Field(description="why (kept in the erasure audit trail)")
    first_day: str | None = Field(default=None, description="first day to search, YYYY-MM-DD")
    last_day: str | None = Field(default=None, description="last day to search, YYYY-MM-DD")


def _fail(problem: str) -> dg.Failure:
    return dg.Failure(description=f"{problem}. Nothing was erased.", allow_retries=False)


def days_to_search(
    partition_keys: list[str], first: str | None, last: str | None, present: set[str]
) -> list[date]:
    """The operator's range (both ends within the partitions) or every partition day with a manifest."""
    if (first is None) != (last is None):
        raise ValueError("give both first_day and last_day, or neither (every day with a manifest)")
    if first is None or last is None:
        return [date.fromisoformat(key) for key in partition_keys if key in present]
    for name, value in (("first_day", first), ("last_day", last)):
        if value not in partition_keys:
            raise ValueError(f"{name} must be a partition day, {partition_keys[0]} .. {partition_keys[-1]}")
    if first > last:
        raise ValueError("first_day is after last_day")
    return [date.fromisoformat(key) for key in partition_keys if first <= key <= last]


@dg.op(description="Erase a data subject's archived recordings, each audited first.", tags={"kind": "s3"})
def erase_subject_op(
    context: dg.OpExecutionContext,
    config: EraseSubjectConfig,
    genesys: GenesysCloudResource,
    archive: ArchiveResource,
) -> dg.Output[dict]:
    try:
        reason = checked_reason(config.reason)
        operator = config.phone_numbers or config.email_addresses or config.conversation_ids
        if bool(config.gdpr_request_id) == bool(operator):
            raise ValueError("give a gdpr_request_id or the subject's identifiers, not both and not neither")
        subject = (
            None
            if config.gdpr_request_id
            else Subject.of(
                phone_numbers=config.phone_numbers,
                email_addresses=config.email_addresses,
                conversation_ids=config.conversation_ids,
            )
        )
    except (ValueError, SubjectError) as exc:
        raise _fail(f"Run config error: {exc}") from None
    request_id = None
    if config.gdpr_request_id:
        subject, request_id = _from_request(genesys, config.gdpr_request_id.strip())
    manifests = archive.manifest_store()
    keys = list(daily_partitions(Settings.from_env().partitions).get_partition_keys())
    present = set()
    if config.first_day is None:
        present = {
            m[1] for item in manifests.list_day("manifests/") if (m := _MANIFEST_DAY.fullmatch(item.key))
        }
    try:
        days = days_to_search(keys, config.first_day, config.last_day, present)
    except ValueError as exc:
        raise _fail(f"Run config error: {exc}") from None
    assert subject is not None
    context.log.info(f"erasing {subject.describe()} over {len(days)} day(s)")
    order = ErasureOrder(subject, reason, request_id, launched_by(context), context.run_id)
    report = erase_subject(
        order,
        days=days,
        manifests=manifests,
        s3_client=archive.s3_client(),
        archive_bucket=archive.archive_bucket,
    )
    metadata = _metadata(report, request_id)
    if report.failed:
        raise dg.Failure(description=f"{len(report.failed)} object(s) could not be erased", metadata=metadata)
    return dg.Output({"erased": len(report.erased), "held": len(report.held)}, metadata=metadata)


def _from_request(genesys: GenesysCloudResource, request_id: str) -> tuple[Subject, str]:
    async def read():
        async with genesys.client() as client:
            await client.preflight(families=(), permissions=(GDPR_VIEW,))
            return await client.gdpr.get(request_id)

    try:
        request = asyncio.run(read())
    except GenesysError as exc:
        raise _fail(f"GDPR request {request_id!r} could not be read: {exc}") from None
    if not request.is_delete:
        raise _fail(f"GDPR request {request.request_id} is {request.request_type}, not GDPR_DELETE")
    if request.status == "ERROR":
        raise _fail(f"GDPR request {request.request_id} ended in ERROR in Genesys")
    try:
        return Subject.of(
            phone_numbers=request.phone_numbers, email_addresses=request.email_addresses
        ), request.request_id
    except SubjectError as exc:
        raise _fail(f"GDPR request {request.request_id}: {exc}") from None


def _metadata(report: ErasureReport, request_id: str | None) -> dict:
    held = [
        f"{f.storage_uri} until {f.held_until.isoformat() if f.held_until else 'unknown'}"
        for f in report.held
    ]
    return {
        "gdpr_request_id": request_id or "",
        "days_searched": report.days_searched,
        "matched_rows": report.matched_rows,
        "erased": len(report.erased),
        "held": len(report.held),
        "failed": len(report.failed),
        "held_objects": dg.MetadataValue.json(held),
        "erased_objects": dg.MetadataValue.json([f.storage_uri for f in report.erased]),
        "audit_parts": dg.MetadataValue.json(report.audit_uris),
        "manifests_rewritten": dg.MetadataValue.json(report.manifests_rewritten),
    }


@dg.job(
    name=ERASE_JOB,
    description="Erase one data subject's archived recordings (a Genesys GDPR_DELETE request, or the "
    "operator's identifiers): an audit row under erasure/ first, then every version deleted, then the "
    "day's manifest and outcomes rows marked erased.",
    tags={"recording_assets/kind": "erasure"},
)
def erase_subject_job():
    erase_subject_op()


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[erase_subject_job])
