"""The blocking checks of a day's archive, read from what the run recorded as each object landed.

Each object was proved as it landed (``ArchiveStore.put_new``: S3's checksum of the stored bytes, or a
read-back) and its container sniffed once from the bytes on their way in; the outcome row records both
(``checksum_verified_by``, ``container``). These checks read those records instead of reading every
object from S3 again:

- checksums: every row in the archive names its object in the bucket, its sha256 and size, and a proof
  the store gave (an object whose proof failed never reaches the archive: the store removes it);
- containers: every row in the archive carries a sniffed container that its content type allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import reduce

import pyarrow as pa
import pyarrow.compute as pc

from recording_assets.archive.sniff import claim_problem
from recording_assets.pipeline.states import IN_ARCHIVE

PROOFS = frozenset({"s3-checksum", "read-back", "earlier-run"})
"""``checksum_verified_by`` values that prove an object: S3's checksum or a read-back when this run stored
it, ``earlier-run`` when the run that stored it did (its own check passed on that proof)."""

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_IN_ARCHIVE = pa.array(IN_ARCHIVE)


@dataclass
class Verification:
    checked: int = 0
    problems: list[dict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def verify_checksums(outcomes: pa.Table, *, bucket: str) -> Verification:
    """``outcomes``: the run's OUTCOMES table. Tested column by column in Arrow; only the rows a test
    flags become Python rows, to be named (a 100,000-recording day holds no row dicts)."""

    def problem_of(row: dict) -> str | None:
        proof = row.get("checksum_verified_by")
        if proof not in PROOFS:
            return f"no proof of the stored bytes recorded (checksum_verified_by={proof!r})"
        if not _SHA256_HEX.fullmatch(row.get("sha256") or ""):
            return f"no sha256 recorded ({row.get('sha256')!r})"
        if row.get("size_bytes") is None or row["size_bytes"] < 0:
            return f"no size recorded ({row.get('size_bytes')!r})"
        return None

    archived = _archived(outcomes, bucket)
    proved = pc.is_in(archived["checksum_verified_by"], value_set=pa.array(sorted(PROOFS)))
    hashed = pc.match_substring_regex(archived["sha256"], f"^{_SHA256_HEX.pattern}$")
    sized = pc.greater_equal(archived["size_bytes"], 0)
    fine = reduce(pc.and_, [pc.fill_null(test, False) for test in (proved, hashed, sized)])
    return _checked(archived, pc.invert(fine), problem_of, bucket)


def verify_containers(outcomes: pa.Table, *, bucket: str) -> Verification:
    """``outcomes``: the run's OUTCOMES table; each (content type, container) pair is judged once."""

    def problem_of(row: dict) -> str | None:
        container = row.get("container")
        if not container or container in ("unknown", "html"):
            return f"no media container sniffed ({container!r})"
        return claim_problem(row.get("content_type"), container)

    archived = _archived(outcomes, bucket)
    claims = ["content_type", "container"]
    pairs = archived.select(claims).group_by(claims).aggregate([])
    suspect = pa.repeat(False, archived.num_rows)
    for pair in pairs.to_pylist():  # a day holds a handful of pairs
        if problem_of(pair):
            same = [_equals(archived[name], pair[name]) for name in ("content_type", "container")]
            suspect = pc.or_(suspect, pc.and_(*same))
    return _checked(archived, suspect, problem_of, bucket)


def _archived(outcomes: pa.Table, bucket: str) -> pa.Table:
    """The rows of objects in the archive; every one must name an object in ``bucket``."""
    archived = outcomes.filter(pc.is_in(outcomes["state"], value_set=_IN_ARCHIVE))
    inside = pc.fill_null(pc.starts_with(archived["storage_uri"], f"s3://{bucket}/"), False)
    outside = archived.filter(pc.invert(inside))["storage_uri"]
    if len(outside):
        raise ValueError(f"{outside[0].as_py()} is not in bucket {bucket}")
    return archived


def _checked(archived: pa.Table, suspect: pa.Array, problem_of, bucket: str) -> Verification:
    problems = []
    for row in archived.filter(suspect).to_pylist():
        problem = problem_of(row)
        if problem:
            key = row["storage_uri"][len(f"s3://{bucket}/") :]
            problems.append({"recording_id": row["recording_id"], "problem": problem, "key": key})
    return Verification(checked=archived.num_rows, problems=problems)


def _equals(column: pa.ChunkedArray, value) -> pa.ChunkedArray:
    """``column == value`` with null equal to null (Arrow's ``equal`` gives null for either)."""
    return pc.is_null(column) if value is None else pc.fill_null(pc.equal(column, value), False)
