"""Re-verify what the archive holds for a day, from S3 itself rather than from the run's memory.

- checksums: each archived object's HEAD must carry the sha256 the download streamed, the same size
  and server-side encryption (``read_back=True`` re-hashes every byte instead of trusting metadata);
- containers: the first bytes of each object must be the container its content type claims.
"""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from recording_assets.archive.protocol import ArchiveReader
from recording_assets.archive.sniff import check_container
from recording_assets.pipeline.states import State

HEAD_BYTES = 64


@dataclass
class Verification:
    checked: int = 0
    problems: list[dict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def _key_of(uri: str, bucket: str) -> str:
    prefix = f"s3://{bucket}/"
    if not uri.startswith(prefix):
        raise ValueError(f"{uri} is not in bucket {bucket}")
    return uri[len(prefix) :]


def _archived(outcomes: list[dict]) -> list[dict]:
    return [o for o in outcomes if State(o["state"]).in_archive]


def verify_checksums(
    store: ArchiveReader, outcomes: list[dict], *, read_back: bool = False, workers: int = 16
) -> Verification:
    rows = _archived(outcomes)

    def check(o: dict) -> dict | None:
        key = _key_of(o["storage_uri"], store.bucket)
        head = store.head(key)
        if head is None:
            return {"recording_id": o["recording_id"], "problem": "object missing", "key": key}
        recorded = head.metadata.get("sha256")
        if recorded != o["sha256"]:
            return {"recording_id": o["recording_id"], "problem": "sha256 metadata differs", "key": key}
        if head.size != o["size_bytes"]:
            return {"recording_id": o["recording_id"], "problem": f"size {head.size} != {o['size_bytes']}", "key": key}
        if not head.server_side_encryption:
            return {"recording_id": o["recording_id"], "problem": "not encrypted at rest", "key": key}
        checksum = head.checksum_sha256
        if checksum and "-" not in checksum:
            # Single-part object: S3's own full-object SHA-256 must equal ours.
            if base64.b64decode(checksum).hex() != o["sha256"]:
                return {"recording_id": o["recording_id"], "problem": "S3 checksum differs", "key": key}
        elif not checksum or read_back:
            if store.read_back_sha256(key) != o["sha256"]:
                return {"recording_id": o["recording_id"], "problem": "read-back sha256 differs", "key": key}
        return None

    with ThreadPoolExecutor(max_workers=workers) as pool:
        problems = [p for p in pool.map(check, rows) if p]
    return Verification(checked=len(rows), problems=problems)


def verify_containers(store: ArchiveReader, outcomes: list[dict], *, workers: int = 16) -> Verification:
    rows = _archived(outcomes)

    def check(o: dict) -> dict | None:
        key = _key_of(o["storage_uri"], store.bucket)
        head = store.read_prefix(key, HEAD_BYTES)
        verdict = check_container(o["content_type"], head, o["size_bytes"] or 0)
        if not verdict.ok:
            return {"recording_id": o["recording_id"], "problem": verdict.reason, "key": key}
        return None

    with ThreadPoolExecutor(max_workers=workers) as pool:
        problems = [p for p in pool.map(check, rows) if p]
    return Verification(checked=len(rows), problems=problems)
