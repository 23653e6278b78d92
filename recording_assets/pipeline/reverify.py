"""Re-verify an archived day from S3 against its manifest, any time after it was written.

Like ``restic check --read-data-subset``: a random sample of the day's archived objects is read back in
full; each object's SHA-256 must equal the manifest's, and its leading bytes must be the
container the manifest records (``archive/sniff.py``). Reading everything is ``fraction=1.0``.
"""

from __future__ import annotations

import math
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from recording_assets.archive.errors import ArchiveError
from recording_assets.archive.protocol import ArchiveReader
from recording_assets.archive.sniff import HEAD_BYTES, check_container

DEFAULT_FRACTION = 0.02
DEFAULT_MINIMUM = 5


@dataclass
class Reverification:
    archived: int  # archived rows in the manifest
    sampled: list[str] = field(default_factory=list)  # recording ids read back
    problems: list[dict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def sample(rows: list[dict], *, fraction: float, minimum: int, rng: random.Random) -> list[dict]:
    """``fraction`` of the archived rows (rounded up), at least ``minimum``, at most all of them."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction={fraction}: use a share above 0 and at most 1 (1.0 reads every object)")
    if minimum < 0:
        raise ValueError(f"minimum={minimum}: use 0 or more objects")
    archived = [r for r in rows if r["state"] == "archived"]
    size = min(len(archived), max(minimum, math.ceil(fraction * len(archived))))
    return rng.sample(archived, size)


def reverify(
    store: ArchiveReader,
    rows: list[dict],
    *,
    fraction: float = DEFAULT_FRACTION,
    minimum: int = DEFAULT_MINIMUM,
    rng: random.Random | None = None,
    workers: int = 8,
) -> Reverification:
    chosen = sample(rows, fraction=fraction, minimum=minimum, rng=rng or random.Random())
    prefix = f"s3://{store.bucket}/"

    def check(row: dict) -> dict | None:
        uri = row["storage_uri"] or ""
        problem = {"recording_id": row["recording_id"], "uri": uri}
        if not uri.startswith(prefix):
            return {**problem, "problem": f"not in the archive bucket {store.bucket}"}
        key = uri[len(prefix) :]
        try:
            if store.head(key) is None:
                return {**problem, "problem": "object missing"}
            digest, head = store.read_back_sample(key, HEAD_BYTES)
        except ArchiveError as error:
            return {**problem, "problem": f"unreadable: {error}"}
        if digest != row["sha256"]:
            return {**problem, "problem": f"sha256 {digest} differs from the manifest's {row['sha256']}"}
        verdict = check_container(row["content_type"], head, row["size_bytes"] or 0)
        if verdict.container != row["container"]:
            said = row["container"]
            return {**problem, "problem": f"bytes are {verdict.container}, the manifest says {said}"}
        if not verdict.ok:
            return {**problem, "problem": verdict.reason}
        return None

    with ThreadPoolExecutor(max_workers=workers) as pool:
        problems = [p for p in pool.map(check, chosen) if p]
    archived = sum(1 for r in rows if r["state"] == "archived")
    return Reverification(archived=archived, sampled=[r["recording_id"] for r in chosen], problems=problems)
