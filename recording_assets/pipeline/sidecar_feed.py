"""Sidecars written while the day still downloads, so the manifest step finds them already there.

The manifest step writes the sidecar of every archived recording that has none (``sidecars.py``). Left all
to it, a day of 10,000 recordings ended with 10,000 PUTs after its last download (a quarter of the run's
wall time, benchmarks/RESULTS.md); here they go out beside the downloads, which wait on bandwidth and the
request budget. A sidecar is built by the functions that build its manifest row (``manifest_table`` over
the recordings' outcomes and their conversations' metadata with the day's names), from the outcome the
run's report will hold, so the two say the same. So it is written only when that outcome is final:

- once the day's names are known (they are read when discovery ends; a run that has none writes none here);
- when no look-up of its conversation is pending (a look-up describes every recording it lists, an
  already downloaded one too: ``Ledger.describe``);

What is not written here (the names failed, a write failed, an outcome became final only at the end) the
manifest step writes, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pyarrow as pa

from recording_assets.genesys.session_log import SessionLog
from recording_assets.pipeline.context import ArchiveContext
from recording_assets.pipeline.discovery import metadata_table
from recording_assets.pipeline.manifest import manifest_table
from recording_assets.pipeline.names import DayNames, with_names
from recording_assets.pipeline.outcome import Key, Outcome, outcomes_table
from recording_assets.pipeline.sidecars import SidecarReport, sidecar_rows, write_sidecar

# Recordings a batch: small, so sidecars follow their downloads closely (a batch's tables cost about a
# millisecond to build), and a small test day writes most of its sidecars before the stream ends.
BATCH = 20
IN_FLIGHT = 4  # sidecar PUTs at once, on the run's S3 threads beside the uploads
# Batches built at once: a batch's tables are built only when its PUTs can start. When the writes fall
# behind the downloads (S3 slower than the media), the batches wait as keys, not as tables and rows.
BUILDING = 2


class SidecarFeed:
    """Takes the run's archived recordings as they are finished and writes their sidecars in batches."""

    def __init__(self, ctx: ArchiveContext, names: asyncio.Future[DayNames]) -> None:
        self._ctx = ctx
        self._names_source = names
        self._names: DayNames | None = None
        self._held: dict[str, list[Key]] = {}  # conversation -> its archived recordings, a look-up pending
        self._pending_lookups: set[str] = set()
        self._ready: list[Key] = []
        self._writes: set[asyncio.Task] = set()  # those still going
        self._no_names = False
        self._in_flight = asyncio.Semaphore(IN_FLIGHT)
        self._building = asyncio.Semaphore(BUILDING)
        self.report = SidecarReport()

    def look_up_pending(self, conversation_ids: Iterable[str]) -> None:
        """These conversations' recordings may still be described: hold their sidecars."""
        self._pending_lookups.update(conversation_ids)

    def looked_up(self, conversation_ids: Iterable[str]) -> None:
        """These conversations' look-ups have ended: their held recordings are final."""
        for cid in conversation_ids:
            self._pending_lookups.discard(cid)
            self._ready += self._held.pop(cid, [])
        self._flush_full()

    def archived(self, outcome: Outcome) -> None:
        """``outcome`` is in the archive (just uploaded, or adopted): its sidecar is due."""
        if not outcome.state.in_archive:
            return
        if outcome.conversation_id in self._pending_lookups:
            self._held.setdefault(outcome.conversation_id, []).append(outcome.key)
        else:
            self._ready.append(outcome.key)
        self._flush_full()

    async def drain(self) -> SidecarReport:
        """The stream has ended, so every outcome is final: write what is left, and wait for every write."""
        for keys in self._held.values():
            self._ready += keys
        self._held.clear()
        self._pending_lookups.clear()
        while self._ready:
            self._start(self._ready[:BATCH])
            del self._ready[:BATCH]
        await asyncio.gather(*self._writes)
        return self.report

    def cancel(self) -> None:
        """Stop every write still going (the run is ending without ``drain``)."""
        for task in list(self._writes):
            task.cancel()

    def _flush_full(self) -> None:
        while len(self._ready) >= BATCH:
            self._start(self._ready[:BATCH])
            del self._ready[:BATCH]

    def _start(self, keys: list[Key]) -> None:
        task = asyncio.ensure_future(self._write(keys))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write(self, keys: list[Key]) -> None:
        names = await self._day_names()
        if names is None:
            return  # the manifest step writes them
        async with self._building:
            await self._write_rows(keys, names)

    async def _write_rows(self, keys: list[Key], names: DayNames) -> None:
        try:
            table = self._rows(keys, names)
        except Exception as error:  # never the day's failure: the manifest step writes them
            self.report.failed.append(f"{len(keys)} sidecars left to the manifest step: {error!r}"[:500])
            return
        ctx = self._ctx

        async def one(row: dict) -> str | None:
            async with self._in_flight:
                try:
                    return await ctx.s3(write_sidecar, ctx.store, row, frozenset())
                except Exception as error:  # one sidecar's, never the day's: the manifest step tries again
                    return f"{row.get('storage_uri')}: {error!r}"[:500]

        for batch in sidecar_rows(table):
            self.report.count(await asyncio.gather(*(one(row) for row in batch)))

    def _rows(self, keys: list[Key], names: DayNames) -> pa.Table:
        """The manifest rows of ``keys``, as the manifest step will build them."""
        ledger, run_id = self._ctx.ledger, self._ctx.run_id
        outcomes = [ledger.final(key) for key in keys]
        conversations = {o.conversation_id: ledger.conversations[o.conversation_id] for o in outcomes}
        metadata = with_names(metadata_table(conversations.values(), sessions=SessionLog()), names)
        return manifest_table(metadata, outcomes_table(outcomes, run_id), manifest_run_id=run_id)

    async def _day_names(self) -> DayNames | None:
        if self._names is None and not self._no_names:
            try:
                self._names = await self._names_source
            except Exception:  # the step reports the names' failure itself; their sidecars wait for it
                self._no_names = True
        return self._names
