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

from recording_assets.archive.sniff import claim_problem
from recording_assets.pipeline.states import State

PROOFS = frozenset({"s3-checksum", "read-back", "earlier-run"})
"""``checksum_verified_by`` values that prove an object: S3's checksum or a read-back when this run stored
it, ``earlier-run`` when the run that stored it did (its own check passed on that proof)."""

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass
class Verification:
    checked: int = 0
    problems: list[dict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def _key_of(uri: str | None, bucket: str) -> str:
    prefix = f"s3://{bucket}/"
    if not uri or not uri.startswith(prefix):
        raise ValueError(f"{uri} is not in bucket {bucket}")
    return uri[len(prefix) :]


def _archived(outcomes: list[dict]) -> list[dict]:
    return [o for o in outcomes if State(o["state"]).in_archive]


def _checked(rows: list[dict], problem_of) -> Verification:
    problems = []
    for row in rows:
        problem = problem_of(row)
        if problem:
            problems.append({"recording_id": row["recording_id"], "problem": problem, "key": row["key"]})
    return Verification(checked=len(rows), problems=problems)


def verify_checksums(outcomes: list[dict], *, bucket: str) -> Verification:
    def problem_of(row: dict) -> str | None:
        proof = row.get("checksum_verified_by")
        if proof not in PROOFS:
            return f"no proof of the stored bytes recorded (checksum_verified_by={proof!r})"
        if not _SHA256_HEX.fullmatch(row.get("sha256") or ""):
            return f"no sha256 recorded ({row.get('sha256')!r})"
        if row.get("size_bytes") is None or row["size_bytes"] < 0:
            return f"no size recorded ({row.get('size_bytes')!r})"
        return None

    rows = [{**o, "key": _key_of(o.get("storage_uri"), bucket)} for o in _archived(outcomes)]
    return _checked(rows, problem_of)


def verify_containers(outcomes: list[dict], *, bucket: str) -> Verification:
    def problem_of(row: dict) -> str | None:
        container = row.get("container")
        if not container or container in ("unknown", "html"):
            return f"no media container sniffed ({container!r})"
        return claim_problem(row.get("content_type"), container)

    rows = [{**o, "key": _key_of(o.get("storage_uri"), bucket)} for o in _archived(outcomes)]
    return _checked(rows, problem_of)
