"""The day's run state, in one place: the conversations found so far, what the archive already held, the one
outcome of each recording, the evidence kept of its bad downloads, the conversations whose recordings could
not be listed, and the counters of the report.

Every change goes through a named method; readers get read-only views. The stages either return their
outcomes to the caller, which finishes them here, or (the download workers, deep in the stream) finish them
here themselves. All of it runs on the event loop: the S3 threads never touch the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType

from recording_assets.genesys.models import ConversationSummary, RecordingMetadata
from recording_assets.pipeline.outcome import ArchiveReport, Key, Outcome

# What a recordingmetadata item says of its recording: Outcome's media_subtype, session_id,
# recording_start, recording_end.
Description = tuple[str | None, str | None, datetime | None, datetime | None]


class Ledger:
    def __init__(self) -> None:
        self._conversations: dict[str, ConversationSummary] = {}
        # Settled for good when the run began: under their final keys, or erased from the archive.
        self._existing: dict[Key, Outcome] = {}
        self._outcomes: dict[Key, Outcome] = {}
        self._evidence: dict[Key, str] = {}  # the one evidence object of a recording's bad downloads
        self._unsettled: set[str] = set()  # conversations whose recordings could not be listed
        self._batch_rounds = 0
        self._lookups = 0
        self._downloads = 0
        self._uploads = 0
        self._uploaded_bytes = 0
        self._url_refreshes = 0
        self._quarantined_attempts = 0
        self._restorations = 0
        self._protection: dict[str, int] = {}  # what deletion protection did: protected, lifted, kept
        self._strays: list[str] = []  # keys under the day's prefix that are not a recording's
        # Only for the recordings a run looked up (this one or an earlier one): most have none.
        self._descriptions: dict[Key, Description] = {}

    # -- the day's conversations, as discovery's pages arrive

    def add_conversations(self, page: Iterable[ConversationSummary]) -> dict[str, ConversationSummary]:
        """Take the conversations of ``page`` not seen before; return those (a page may repeat one)."""
        fresh = {c.conversation_id: c for c in page if c.conversation_id not in self._conversations}
        self._conversations.update(fresh)
        return fresh

    @property
    def conversations(self) -> Mapping[str, ConversationSummary]:
        return MappingProxyType(self._conversations)

    # -- outcomes

    def found_in_archive(self, outcomes: Iterable[Outcome]) -> None:
        """Objects earlier runs stored under their final keys: each is its recording's outcome. Two objects of
        one recording (under two queues or extensions): the first found stands."""
        for outcome in outcomes:
            self._outcomes[outcome.key] = self._existing.setdefault(outcome.key, outcome)

    def found_erased(self, outcomes: Iterable[Outcome]) -> None:
        """Recordings an erasure removed from the archive (``State.ERASED`` in the previous outcomes): each is
        its recording's outcome and counts as settled before the run (``existing``), so no batch result or
        look-up of this run turns it into a download again."""
        for outcome in outcomes:
            self._outcomes[outcome.key] = self._existing.setdefault(outcome.key, outcome)

    def found_strays(self, keys: Iterable[str]) -> None:
        """Keys under the day's prefix that are not ours: skipped, and reported."""
        self._strays += keys

    def finish(self, outcome: Outcome) -> None:
        """``outcome`` is its recording's: a recording is never recorded twice, and a second outcome for one
        replaces the first (last wins). The run relies on that: a restoration replaces the classification it
        follows (``restore.py``); and should a batch answer one recording twice, once with a URL and once
        with an error, its download, landing after the look-up failed the errored copy, wins over that
        failure (``classify.look_up``)."""
        self._outcomes[outcome.key] = outcome

    def finish_all(self, outcomes: Iterable[Outcome]) -> None:
        """``finish`` each of ``outcomes``, in order."""
        for outcome in outcomes:
            self.finish(outcome)

    @property
    def outcomes(self) -> Mapping[Key, Outcome]:
        """Every recording's outcome so far (the archive's objects included), read-only."""
        return MappingProxyType(self._outcomes)

    @property
    def existing(self) -> Mapping[Key, Outcome]:
        """What the archive held under final keys when the run began, and what erasures removed from it
        (never downloaded again), read-only."""
        return MappingProxyType(self._existing)

    def keep_evidence(self, key: Key, uri: str) -> str:
        """``uri`` is evidence of a bad download of recording ``key``, unless it has some already: the first
        kept stands (one object per recording). Returns the recording's evidence."""
        return self._evidence.setdefault(key, uri)

    def evidence_of(self, key: Key) -> str | None:
        return self._evidence.get(key)

    def mark_unsettled(self, conversation_id: str) -> None:
        """What the conversation holds is unknown (its look-up failed): it is asked for again next run."""
        self._unsettled.add(conversation_id)

    def is_unsettled(self, conversation_id: str) -> bool:
        return conversation_id in self._unsettled

    def described_before(self, outcomes: Iterable[Outcome]) -> None:
        """The descriptions earlier runs wrote (the previous outcomes): kept when this run asks no more."""
        for outcome in outcomes:
            description = _description_of(outcome)
            if any(value is not None for value in description):
                self._descriptions[outcome.key] = description

    def describe(self, conversation_id: str, found: Iterable[RecordingMetadata]) -> None:
        """What the look-up of ``conversation_id`` said of each recording it listed: the recording's outcome
        carries it, whatever its state."""
        for meta in found:
            description = (meta.media_subtype, meta.session_id, meta.start_time, meta.end_time)
            self._descriptions[(conversation_id, meta.recording_id)] = description

    # -- counters

    @property
    def uploaded_bytes(self) -> int:
        return self._uploaded_bytes

    def count_batch_round(self) -> None:
        self._batch_rounds += 1

    def count_lookups(self, conversations: int) -> None:
        self._lookups += conversations

    def count_download_attempt(self) -> None:
        self._downloads += 1

    def count_upload(self, size: int) -> None:
        self._uploads += 1
        self._uploaded_bytes += size

    def count_url_refreshes(self, recordings: int) -> None:
        self._url_refreshes += recordings

    def count_quarantined_attempt(self) -> None:
        self._quarantined_attempts += 1

    def count_restoration(self) -> None:
        self._restorations += 1

    def count_protected(self, conversations: int) -> None:
        self._protection["protected"] = self._protection.get("protected", 0) + conversations

    def count_protection_lifted(self, *, lifted: int, kept: int) -> None:
        """After the run: protection lifted from ``lifted`` conversations, kept on ``kept``."""
        self._protection["lifted"] = lifted
        self._protection["kept"] = kept

    # -- the report

    def final(self, key: Key) -> Outcome:
        """Recording ``key``'s outcome as the report gives it: pointing at its evidence, with its description."""
        return self._described(self._with_evidence(self._outcomes[key]))

    def report(self, conversations: Iterable[dict] = ()) -> ArchiveReport:
        """The run's report so far: every outcome, by key, and the counters; ``conversations``: the rows of
        the conversations table the run leaves (``settled.settled_rows``)."""
        return ArchiveReport(
            outcomes=sorted((self.final(key) for key in self._outcomes), key=lambda o: o.key),
            batch_rounds=self._batch_rounds,
            lookups=self._lookups,
            uploads=self._uploads,
            uploaded_bytes=self._uploaded_bytes,
            downloads=self._downloads,
            url_refreshes=self._url_refreshes,
            quarantined_attempts=self._quarantined_attempts,
            restorations=self._restorations,
            protection=dict(self._protection),
            conversations=list(conversations),
            stray_keys=list(self._strays),
        )

    def _with_evidence(self, outcome: Outcome) -> Outcome:
        """``outcome`` pointing at its recording's evidence, whatever its state: a quarantined recording at
        its bad bytes, an archived one at the bad download a later one replaced (a reader sees that it had
        one), a failed one at the bad download before its failure; and at nothing this run did not keep or
        find listed (a carried-forward pointer whose object is gone is dropped, never left false)."""
        uri = self._evidence.get(outcome.key)
        return outcome if outcome.quarantine_uri == uri else replace(outcome, quarantine_uri=uri)

    def _described(self, outcome: Outcome) -> Outcome:
        description = self._descriptions.get(outcome.key)
        if description is None or description == _description_of(outcome):
            return outcome
        subtype, session_id, start, end = description
        return replace(
            outcome, media_subtype=subtype, session_id=session_id, recording_start=start, recording_end=end
        )


def _description_of(outcome: Outcome) -> Description:
    return (outcome.media_subtype, outcome.session_id, outcome.recording_start, outcome.recording_end)
