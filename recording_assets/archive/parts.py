"""The parts of multipart uploads, sent in parallel with no copy of their bytes in memory.

Each object keeps up to ``per_object`` parts in flight; all objects of a store together send at most
``slots`` parts at once (a slot is taken before a part is hashed and given back when S3 has answered).
A part is not read into memory: it goes out as a ``PartBody``, a seekable window on the spool that the
HTTP client reads a few KiB at a time (botocore rewinds it to re-send the part whole on a retry). Holding
4 parts of 16 MiB as ``bytes`` cost 64 MiB of RSS per giant recording (benchmarks/memory.py).

Each part declares a SHA-256 that S3 checks, refusing a part whose bytes differ from it. When the spool kept
each part's hash as the bytes arrived (``MediaSpool.part_sha256s``) those are declared, so S3 refuses a part
whose bytes changed since the download and nothing is read or hashed here. Otherwise the uploading thread
reads each part once before sending it and hashes it twice in that pass: the part's SHA-256 (declared) and
the whole object's (compared with the download-time hash by the caller).
"""

from __future__ import annotations

import base64
import hashlib
import io
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, BinaryIO

from recording_assets.archive.spool import UploadSource

PARTS_IN_FLIGHT = 4
"""Per object, and the default for the whole store (parts are streamed from the spool, not held)."""

HASH_CHUNK = 1024 * 1024  # read size of the hashing pass over each part


@dataclass(frozen=True)
class SentParts:
    completed: list[dict[str, Any]]  # for CompleteMultipartUpload, in part order
    digests: list[bytes]  # each part's SHA-256, for the composite checksum
    size: int  # bytes read from the spool and sent
    sha256_hex: str | None  # of those bytes, to compare with the download-time hash; None when the parts
    # declared the download-time part hashes (S3 compares each part with them)


class PartBody:
    """Bytes ``start .. start + size`` of a shared spool file, as a file of their own (what botocore sends,
    reads for its payload hash and ``seek(0)``s to re-send on a retry). Reads take the spool's lock, so
    the parts in flight share one file position safely."""

    def __init__(self, source: BinaryIO, lock: threading.Lock, *, start: int, size: int) -> None:
        self._source, self._lock = source, lock
        self.start, self.size = start, size
        self._position = 0

    def read(self, size: int | None = -1) -> bytes:
        left = self.size - self._position
        wanted = left if size is None or size < 0 else min(size, left)
        if wanted <= 0:
            return b""
        with self._lock:
            self._source.seek(self.start + self._position)
            data = self._source.read(wanted)
        self._position += len(data)
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative position {base + offset} in a part of {self.size} bytes")
        self._position = base + offset
        return self._position

    def tell(self) -> int:
        return self._position

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True


SendPart = Callable[[int, PartBody, bytes], dict[str, Any]]
"""``(part_number, body, sha256 digest) -> {"PartNumber", "ETag", "ChecksumSHA256"}``; raises on failure."""


class PartPump:
    def __init__(self, *, per_object: int = PARTS_IN_FLIGHT, slots: int = PARTS_IN_FLIGHT) -> None:
        if per_object < 1 or slots < 1:
            raise ValueError(f"parts in flight must be >= 1, got per_object={per_object}, slots={slots}")
        self.per_object = per_object
        self.slots = slots
        self._free = threading.BoundedSemaphore(slots)
        self._pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="s3-part")

    def send_all(self, spool: UploadSource, *, part_size: int, send: SendPart) -> SentParts:
        """``send`` ``spool`` part by part, each with its SHA-256; on any failure wait for the parts in flight
        (so none lands after the caller's abort) and raise the first error."""
        source, lock = spool.reader(), threading.Lock()
        kept = _download_time_digests(spool, part_size)
        # S3 has no full-object SHA-256 for multipart uploads (only composites of the part checksums). Part
        # hashes kept at download tie the parts to the download by themselves; parts hashed here are tied to
        # it by hashing the whole in the same pass.
        whole = hashlib.sha256() if kept is None else None
        pending: set[Future] = set()
        results: dict[int, dict[str, Any]] = {}
        digests: dict[int, bytes] = {}
        sent = number = 0
        try:
            while sent < spool.size:
                if len(pending) >= self.per_object:
                    pending = self._collect(pending, results, FIRST_COMPLETED)
                body = PartBody(source, lock, start=sent, size=min(part_size, spool.size - sent))
                digest = self._digest_in_a_slot(body, whole, kept[number] if kept is not None else None)
                if not body.size:
                    break
                number += 1
                sent += body.size
                digests[number] = digest
                pending.add(self._submit(send, number, body, digest))
            self._collect(pending, results, None)
        except BaseException:
            for future in pending:
                future.cancel()
            wait(pending)
            raise
        numbers = sorted(results)
        whole_hex = whole.hexdigest() if whole is not None else None
        return SentParts([results[n] for n in numbers], [digests[n] for n in numbers], sent, whole_hex)

    def _digest_in_a_slot(self, body: PartBody, whole, kept: bytes | None) -> bytes:
        """The part's SHA-256: ``kept`` at download, or taken here with ``whole`` updated from the same bytes
        and the body cut to what the spool held (a short spool shows as a short upload, which the caller
        refuses). The slot is kept unless the part is empty."""
        self._free.acquire()
        if kept is not None:
            return kept
        try:
            digest, length = hashlib.sha256(), 0
            while chunk := body.read(HASH_CHUNK):
                digest.update(chunk)
                whole.update(chunk)
                length += len(chunk)
            body.size = length
            body.seek(0)
        except BaseException:
            self._free.release()
            raise
        if not length:
            self._free.release()
        return digest.digest()

    def _submit(self, send: SendPart, number: int, body: PartBody, digest: bytes) -> Future:
        try:
            future = self._pool.submit(send, number, body, digest)
        except BaseException:
            self._free.release()
            raise
        future.add_done_callback(lambda _: self._free.release())
        return future

    @staticmethod
    def _collect(pending: set[Future], results: dict, return_when: str | None) -> set[Future]:
        done, still = wait(pending, return_when=return_when or "ALL_COMPLETED")
        for future in done:
            completed = future.result()  # raises the part's error
            results[completed["PartNumber"]] = completed
        return still


def _download_time_digests(spool: UploadSource, part_size: int) -> list[bytes] | None:
    """The part hashes the spool kept as the bytes arrived, one per part of ``part_size``; None when it kept
    none (or not for this part size): the parts are then hashed here."""
    kept = getattr(spool, "part_sha256s", None)  # optional: a source may keep no part hashes
    digests = kept(part_size) if kept is not None else None
    if digests is None or len(digests) != -(-spool.size // part_size):
        return None
    return digests


def read_up_to(reader, size: int) -> bytes:
    first = reader.read(size)
    if len(first) == size or not first:
        return first
    buffer = bytearray(first)
    while len(buffer) < size:
        chunk = reader.read(size - len(buffer))
        if not chunk:
            break
        buffer += chunk
    return bytes(buffer)


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")
