"""Downloading found recordings, each checked against its manifest row on the way, like
``rclone check --download``: the bytes are streamed through SHA-256 into ``{name}.part`` and renamed to
their final name only when hash and size are the manifest's, so no unverified file ever carries a
recording's name. A mismatch is reported (the partial file removed), never a crash; a file already at the
final name is verified, never overwritten.

Local names come from the object key parsed by ``keys.parse_recording_key`` (its ids checked against the
key alphabet), so a manifest cannot name a path outside the directory: ``{dir}/{conversation}/{recording}{ext}``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from recording_assets.archive.errors import ArchiveError
from recording_assets.archive.keys import parse_recording_key
from recording_assets.pipeline.states import State

CHUNK = 1024 * 1024


@dataclass
class DownloadReport:
    verified: list[Path] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)  # "uri: what differs"
    skipped: int = 0  # rows not in the archive (no object to fetch)

    @property
    def passed(self) -> bool:
        return not self.mismatches


def download_verified(
    s3_client: Any, bucket: str, rows: Iterable[Mapping], directory: Path
) -> DownloadReport:
    """Fetch the object of every ``archived`` row from ``bucket`` into ``directory``, verifying each."""
    report = DownloadReport()
    for row in rows:
        if row.get("state") != State.ARCHIVED.value or not row.get("storage_uri"):
            report.skipped += 1
            continue
        uri = row["storage_uri"]
        problem = _download_one(s3_client, bucket, row, directory, report)
        if problem is not None:
            report.mismatches.append(f"{uri}: {problem}")
    return report


def _download_one(
    s3_client: Any, bucket: str, row: Mapping, directory: Path, report: DownloadReport
) -> str | None:
    prefix = f"s3://{bucket}/"
    uri: str = row["storage_uri"]
    if not uri.startswith(prefix):
        return f"not in the archive bucket s3://{bucket}"
    key = uri[len(prefix) :]
    try:
        parts = parse_recording_key(key)
    except ArchiveError as error:
        return f"not a recording key ({error})"
    target = directory / parts.conversation_id / f"{parts.recording_id}{parts.ext}"
    expected_sha, expected_size = row.get("sha256"), row.get("size_bytes")
    if target.exists():
        sha, size = _hash_file(target)
        if (sha, size) != (expected_sha, expected_size):
            return f"{target} already exists with other bytes (sha256 {sha}, {size} bytes); not overwritten"
        report.verified.append(target)
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        sha, size = _fetch(s3_client, bucket, key, partial)
    except (ClientError, BotoCoreError, OSError) as error:
        partial.unlink(missing_ok=True)
        return f"download failed: {type(error).__name__}: {error}"[:300]
    if (sha, size) != (expected_sha, expected_size):
        partial.unlink(missing_ok=True)
        return f"sha256 {sha} ({size} bytes), the manifest says {expected_sha} ({expected_size} bytes)"
    os.replace(partial, target)
    report.verified.append(target)
    return None


def _fetch(s3_client: Any, bucket: str, key: str, path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    body = s3_client.get_object(Bucket=bucket, Key=key)["Body"]
    with open(path, "wb") as out:
        for chunk in body.iter_chunks(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


def _hash_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
