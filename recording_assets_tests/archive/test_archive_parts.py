"""Multipart parts are windows on the spool, streamed to S3, not copies of their bytes in memory.

Pure logic: ``PartPump.send_all`` is driven with a ``send`` that reads each body as an HTTP client does
(a few KiB at a time, after a rewind for botocore's payload hash); the S3 side is tested in
test_archive_landing.py and the reliability suite.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
import tracemalloc

import pytest

from recording_assets.archive.parts import PartBody, PartPump
from recording_assets.archive.spool import MediaSpool

MiB = 1024 * 1024
DATA = os.urandom(21 * MiB)  # parts of 5 MiB: 4 whole and 1 MiB


def body_over(data: bytes, start: int, size: int, lock: threading.Lock | None = None) -> PartBody:
    return PartBody(io.BytesIO(data), lock or threading.Lock(), start=start, size=size)


def test_a_part_body_reads_only_its_window_and_rewinds_for_a_retry():
    body = body_over(b"0123456789", 3, 4)
    assert body.read(3) == b"345" and body.read(3) == b"6" and body.read() == b""
    assert body.seek(0) == 0 and body.read() == b"3456"  # a retry re-sends the part whole
    assert body.seek(0, io.SEEK_END) == 4 and body.tell() == 4  # botocore's content length
    assert body.seek(-1, io.SEEK_CUR) == 3 and body.read(10) == b"6"
    with pytest.raises(ValueError, match="negative position"):
        body.seek(-1)


def test_bodies_sharing_one_file_read_their_own_bytes_when_interleaved():
    source, lock = io.BytesIO(DATA), threading.Lock()
    first, second = (PartBody(source, lock, start=n * 5 * MiB, size=5 * MiB) for n in (0, 1))
    pieces: dict[int, list[bytes]] = {0: [], 1: []}
    for _ in range(5 * 16):
        pieces[0].append(first.read(64 * 1024))
        pieces[1].append(second.read(64 * 1024))
    assert b"".join(pieces[0]) == DATA[: 5 * MiB] and b"".join(pieces[1]) == DATA[5 * MiB : 10 * MiB]


def send_as_http_client(received: dict):
    """A ``send`` that hashes its body as botocore does over http, rewinds, then streams it in 16 KiB
    reads as urllib3 does, holding the part a moment so the parts overlap."""

    def send(number: int, body: PartBody, digest: bytes) -> dict:
        signed = hashlib.sha256()
        while chunk := body.read(MiB):  # botocore's payload hash reads 1 MiB at a time
            signed.update(chunk)
        assert signed.digest() == digest  # the digest is of the window's bytes
        body.seek(0)
        streamed = hashlib.sha256()
        while chunk := body.read(16 * 1024):
            streamed.update(chunk)
            time.sleep(0.0001)
        received[number] = streamed.digest()
        return {"PartNumber": number, "ETag": f"etag-{number}", "ChecksumSHA256": digest}

    return send


def test_parts_are_sent_from_the_spool_without_copies_in_memory():
    spool = MediaSpool(memory_limit=0)  # on disk, as every multipart spool is
    for start in range(0, len(DATA), MiB):
        spool.write(DATA[start : start + MiB])
    received: dict[int, bytes] = {}
    pump = PartPump(per_object=4, slots=4)
    with spool:
        tracemalloc.start()
        try:
            sent = pump.send_all(spool, part_size=5 * MiB, send=send_as_http_client(received))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert (sent.size, sent.sha256_hex) == (len(DATA), hashlib.sha256(DATA).hexdigest())
    expected = [hashlib.sha256(DATA[i : i + 5 * MiB]).digest() for i in range(0, len(DATA), 5 * MiB)]
    assert sent.digests == expected and [received[n] for n in sorted(received)] == expected
    assert [c["PartNumber"] for c in sent.completed] == [1, 2, 3, 4, 5]
    # Parts held as bytes were 4 x 5 MiB in flight; windows hold only the reads under way (1 MiB each).
    assert peak < 6 * MiB


def test_a_spool_shorter_than_its_size_sends_what_it_holds():
    class Short:
        size, sha256_hex = 12 * MiB, "0" * 64

        def reader(self):
            return io.BytesIO(DATA[: 7 * MiB])

    sent = PartPump().send_all(Short(), part_size=5 * MiB, send=send_as_http_client({}))
    assert sent.size == 7 * MiB and len(sent.digests) == 2  # the caller refuses: 7 MiB, not 12
