"""The parts of multipart uploads, sent in parallel with bounded memory.

Each object keeps up to ``per_object`` parts in flight; all objects of a store together hold at most
``slots`` parts in memory (a slot is taken before a part is read from the spool and given back when S3
has answered), so memory stays at ``slots × part size`` however many large recordings upload at once.
The spool is read by the uploading thread alone, one part at a time; the pool's threads send (and hash,
when the spool kept no part hashes). Each part is an in-memory ``bytes``, so botocore's retry re-sends it
whole.

Each part declares a SHA-256 that S3 checks. When the spool kept each part's hash as the bytes arrived
(``MediaSpool.part_sha256s``) those are declared, so S3 refuses a part whose bytes changed since the
download and nothing is hashed here. Otherwise the parts are hashed as read, and the whole is hashed
again to compare with the download-time hash before the caller completes the upload.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from recording_assets.archive.spool import UploadSource

PARTS_IN_FLIGHT = 4
"""Per object, and the default for the whole store: 4 × 16 MiB = 64 MiB of parts at most."""


@dataclass(frozen=True)
class SentParts:
    completed: list[dict[str, Any]]  # for CompleteMultipartUpload, in part order
    digests: list[bytes]  # each part's SHA-256, for the composite checksum
    size: int  # bytes read from the spool and sent
    sha256_hex: str | None  # of those bytes, to compare with the download-time hash; None when the parts
    # declared the download-time part hashes (S3 compares each part with them)


SendPart = Callable[[int, bytes, bytes], dict[str, Any]]
"""``(part_number, data, sha256 digest) -> {"PartNumber", "ETag", "ChecksumSHA256"}``; raises on failure."""


class PartPump:
    def __init__(self, *, per_object: int = PARTS_IN_FLIGHT, slots: int = PARTS_IN_FLIGHT) -> None:
        if per_object < 1 or slots < 1:
            raise ValueError(f"parts in flight must be >= 1, got per_object={per_object}, slots={slots}")
        self.per_object = per_object
        self.slots = slots
        self._free = threading.BoundedSemaphore(slots)
        self._pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="s3-part")

    def send_all(self, spool: UploadSource, *, part_size: int, send: SendPart) -> SentParts:
        """Read ``spool`` part by part and ``send`` each; on any failure wait for the parts in flight
        (so none lands after the caller's abort) and raise the first error."""
        kept = _download_time_digests(spool, part_size)
        reader = spool.reader()
        # S3 has no full-object SHA-256 for multipart uploads (only composites of the part checksums):
        # parts hashed here from the bytes as read are tied to the download's hash by hashing the whole too.
        whole = hashlib.sha256() if kept is None else None
        pending: set[Future] = set()
        results: dict[int, tuple[dict[str, Any], bytes]] = {}
        sent = number = 0
        try:
            while sent < spool.size:
                if len(pending) >= self.per_object:
                    pending = self._collect(pending, results, FIRST_COMPLETED)
                data = self._read_in_a_slot(reader, min(part_size, spool.size - sent))
                if not data:
                    break
                if whole is not None:
                    whole.update(data)
                number += 1
                sent += len(data)
                digest = kept[number - 1] if kept is not None and number <= len(kept) else None
                pending.add(self._submit(send, number, data, digest))
            self._collect(pending, results, None)
        except BaseException:
            for future in pending:
                future.cancel()
            wait(pending)
            raise
        ordered = [results[n] for n in sorted(results)]
        whole_hex = whole.hexdigest() if whole is not None else None
        return SentParts([c for c, _ in ordered], [d for _, d in ordered], sent, whole_hex)

    def _read_in_a_slot(self, reader, size: int) -> bytes:
        self._free.acquire()
        try:
            data = read_up_to(reader, size)
        except BaseException:
            self._free.release()
            raise
        if not data:
            self._free.release()
        return data

    def _submit(self, send: SendPart, number: int, data: bytes, kept: bytes | None) -> Future:
        def hash_and_send() -> tuple[dict[str, Any], bytes]:
            digest = kept or hashlib.sha256(data).digest()  # in the pool: hashlib releases the GIL
            return send(number, data, digest), digest

        try:
            future = self._pool.submit(hash_and_send)
        except BaseException:
            self._free.release()
            raise
        future.add_done_callback(lambda _: self._free.release())
        return future

    @staticmethod
    def _collect(pending: set[Future], results: dict, return_when: str | None) -> set[Future]:
        done, still = wait(pending, return_when=return_when or "ALL_COMPLETED")
        for future in done:
            completed, digest = future.result()  # raises the part's error
            results[completed["PartNumber"]] = (completed, digest)
        return still


def _download_time_digests(spool: UploadSource, part_size: int) -> list[bytes] | None:
    kept = getattr(spool, "part_sha256s", None)  # optional: a source may keep no part hashes
    return kept(part_size) if kept is not None else None


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
