"""Evidence of bad downloads: one capped copy per recording under ``quarantine/``, pointed at by its rows.

When downloaded bytes are not the container the API claims, their first ``quarantine_evidence_kib`` KiB
are kept under ``quarantine/`` (never the final key), the key ending in the download's SHA-256 and the
object's metadata holding the download's full size and SHA-256 (``download-size``, ``download-sha256``),
so a 2 GiB error page costs the quarantine at most that cap.

One evidence object per recording, ever: its first bad download's. Later bad downloads of the recording
(this run or a later one) are described in the audit trail (``quarantined`` events: SHA-256, size,
reason) and not stored again. Evidence is kept even when a later download of the same recording is
verified and archived, and that recording's outcome and manifest row point at it (``quarantine_uri``):
a compliance reader then sees that the archived copy followed a bad download and can inspect what was
served, and nothing under ``quarantine/`` is left that no row points at. Dropping it instead would need
a delete in the quarantine (refused under Object Lock, racy with a crash) and would hide the bad first
download from the manifest.

Each run starts from S3, not from what earlier runs said: the day's ``quarantine/`` listing names the
evidence already kept (a run killed after keeping some still points at it), and the report points each
outcome at what the ledger holds (``Ledger.keep_evidence``), so a pointer never names a missing object.
"""

from __future__ import annotations

from collections.abc import Mapping

from recording_assets.archive.errors import InvalidIdentifierError, ObjectExistsError
from recording_assets.archive.keys import parse_quarantine_key, quarantine_day_prefix
from recording_assets.archive.spool import MediaSpool
from recording_assets.pipeline.context import ArchiveContext, DownloadTask
from recording_assets.pipeline.outcome import Key

EVIDENCE_CONTENT_TYPE = "application/octet-stream"  # never the claimed type: the bytes are not that


async def find_kept(ctx: ArchiveContext) -> dict[Key, str]:
    """The evidence earlier runs kept for the day, by recording (one S3 listing): the earliest object of
    each recording, should there be several (written before one per recording was the rule)."""
    prefix = ctx.config.key_prefix
    listing = await ctx.s3(
        lambda: list(ctx.store.list_day(quarantine_day_prefix(prefix=prefix, day=ctx.day)))
    )
    kept: dict[Key, str] = {}
    for item in sorted(listing, key=lambda listed: (listed.last_modified, listed.key)):
        try:
            parts = parse_quarantine_key(item.key, prefix=prefix)
        except InvalidIdentifierError:
            continue  # not a key this archive writes: not evidence of any recording, left alone
        kept.setdefault((parts.conversation_id, parts.recording_id), ctx.uri(item.key))
    return kept


async def keep(
    ctx: ArchiveContext, task: DownloadTask, spool: MediaSpool, *, key: str, metadata: Mapping[str, str]
) -> str:
    """``task``'s evidence: the object already kept for its recording, else the first bytes of ``spool``
    stored create-only under ``key`` (``metadata`` describes the recording). Returns its ``s3://`` URI."""
    kept = ctx.ledger.evidence_of(task.key)
    if kept is not None:
        return kept
    described = {**metadata, "download-sha256": spool.sha256_hex, "download-size": str(spool.size)}
    try:
        await ctx.s3(
            ctx.store.put_new, key, spool.prefix(), content_type=EVIDENCE_CONTENT_TYPE, metadata=described
        )
    except ObjectExistsError:
        pass  # these very bytes (the key names their SHA-256) are kept already
    return ctx.ledger.keep_evidence(task.key, ctx.uri(key))
