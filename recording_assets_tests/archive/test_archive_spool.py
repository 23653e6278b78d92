from __future__ import annotations

import base64
import hashlib
import io
import os
import tracemalloc

import pytest

from recording_assets.archive.parts import read_up_to
from recording_assets.archive.spool import JOIN_LIMIT, ChunkReader, MediaSpool

MiB = 1024 * 1024


def test_hashes_counts_and_keeps_the_head_across_chunks():
    chunks = [b"RIFF", b"\x00" * 10, os.urandom(100), b"", bytearray(b"tail"), memoryview(b"view")]
    data = b"".join(bytes(chunk) for chunk in chunks)
    with MediaSpool() as spool:
        for chunk in chunks:
            spool.write(chunk)
        assert spool.size == len(data)
        assert spool.head == data[:64]
        assert spool.sha256_hex == hashlib.sha256(data).hexdigest()
        assert spool.sha256_b64 == base64.b64encode(hashlib.sha256(data).digest()).decode()
        assert spool.reader().read() == data
        spool.rewind()
        assert spool.reader().read(4) == b"RIFF"


def test_short_and_empty_streams():
    with MediaSpool() as spool:
        assert (spool.size, spool.head, spool.sha256_hex) == (0, b"", hashlib.sha256(b"").hexdigest())
        spool.write(b"abc")
        assert spool.head == b"abc"


def test_spills_to_disk_past_the_memory_limit():
    with MediaSpool(memory_limit=1024) as spool:
        spool.write(b"x" * 1000)
        assert not spool.on_disk
        spool.write(b"x" * 100)
        assert spool.on_disk
        assert spool.reader().read() == b"x" * 1100


def test_zero_memory_limit_means_always_on_disk():
    with MediaSpool(memory_limit=0) as spool:
        spool.write(b"a")
        assert spool.on_disk


def test_sealed_after_reading():
    with MediaSpool() as spool:
        spool.write(b"abc")
        spool.reader()
        with pytest.raises(ValueError, match="sealed"):
            spool.write(b"more")


def test_context_manager_removes_the_temporary_file():
    with MediaSpool(memory_limit=0) as spool:
        spool.write(b"abc")
        reader = spool.reader()
    assert reader.closed


def test_memory_stays_flat_for_a_200_mb_stream():
    chunk = os.urandom(MiB)  # allocated before tracing: the "network" buffer is not the spool's cost
    expected = hashlib.sha256()
    tracemalloc.start()
    try:
        with MediaSpool() as spool:
            for _ in range(200):
                spool.write(chunk)
                expected.update(chunk)
            reader = spool.reader()
            while reader.read(MiB):
                pass
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert spool.size == 200 * MiB
    assert spool.sha256_hex == expected.hexdigest()
    assert peak < 12 * MiB, f"peak {peak / MiB:.1f} MiB"


@pytest.mark.parametrize("total", [7, 10, 55, 60], ids=["one-short-part", "one-full-part", "tail", "exact"])
def test_part_hashes_are_taken_as_the_bytes_arrive(total):
    data = os.urandom(total)
    sizes = [3, 17, 10, 0, 1, 25, 4]  # chunks that straddle part boundaries, end on them, or are empty
    with MediaSpool(part_size=10) as spool:
        start = 0
        for size in sizes:
            spool.write(data[start : start + size])
            start += size
        spool.write(data[start:])
        expected = [hashlib.sha256(data[i : i + 10]).digest() for i in range(0, total, 10)]
        assert spool.part_sha256s(10) == expected
        assert spool.sha256_hex == hashlib.sha256(data).hexdigest()
        assert spool.part_sha256s(5) is None  # not kept at another size: the uploader hashes the parts


def test_part_size_must_be_positive():
    with pytest.raises(ValueError, match="part_size"):
        MediaSpool(part_size=0)


@pytest.mark.parametrize("limit", [0, 1, 20, 30, 59, 60, 61, 500])
def test_the_prefix_is_the_first_bytes_with_their_own_download_time_hash(limit):
    """Chunks straddle the limit, end on it, or end before it; the spool is on disk and in parts."""
    data = os.urandom(60)
    with MediaSpool(memory_limit=8, part_size=10, prefix_limit=limit) as spool:
        start = 0
        for size in [3, 17, 10, 0, 1, 25, 4]:
            spool.write(data[start : start + size])
            start += size
        prefix = spool.prefix()
        kept = data[:limit]
        assert (prefix.size, prefix.sha256_hex) == (len(kept), hashlib.sha256(kept).hexdigest())
        assert prefix.reader().read() == kept
        assert spool.sha256_hex == hashlib.sha256(data).hexdigest() and spool.size == 60  # the whole, still
        assert spool.part_sha256s(10) == [hashlib.sha256(data[i : i + 10]).digest() for i in range(0, 60, 10)]


def test_the_prefix_limit_stays_within_what_one_read_may_hold():
    with pytest.raises(ValueError, match="prefix_limit"):
        MediaSpool(prefix_limit=-1)
    with pytest.raises(ValueError, match="prefix_limit"):
        MediaSpool(prefix_limit=8 * 1024 * 1024 + 1)


def test_in_memory_the_spool_gives_the_bytes_it_hashed_as_they_arrived():
    chunks = [os.urandom(1000), bytearray(b"mutable"), memoryview(b"view")]
    with MediaSpool() as spool:
        for chunk in chunks:
            spool.write(chunk)
        chunks[1][0:1] = b"X"  # a caller's buffer changing after the write changes nothing kept
        contents = spool.contents()
        assert contents == b"".join([chunks[0], b"mutable", b"view"])
        assert hashlib.sha256(contents).hexdigest() == spool.sha256_hex
        assert spool.reader().read() == contents
        with pytest.raises(ValueError, match="sealed"):
            spool.write(b"more")


def test_on_disk_the_spool_has_no_contents_in_memory():
    with MediaSpool(memory_limit=4) as spool:
        spool.write(b"abc")
        spool.write(b"de")
        assert spool.contents() is None
        assert spool.reader().read() == b"abcde"


def test_a_large_in_memory_spool_is_sent_as_its_chunks_not_joined():
    chunks = [os.urandom(300_000) for _ in range(4)]  # 1.2 MB: above JOIN_LIMIT
    with MediaSpool() as spool:
        for chunk in chunks:
            spool.write(chunk)
        body = spool.body()
        assert isinstance(body, ChunkReader) and spool.size >= JOIN_LIMIT
        pieces = []
        while piece := body.read(128 * 1024):  # as http.client reads a file body
            pieces.append(piece)
        assert b"".join(pieces) == b"".join(chunks)
        assert pieces[0] is chunks[0] or len(pieces[0]) == 128 * 1024  # a whole chunk goes as it is


def test_a_chunk_reader_seeks_and_reads_like_a_raw_file():
    """Like a raw file, a read may return fewer bytes than asked (it stops at a chunk's end), never more."""
    data = os.urandom(10_000)
    chunks = [data[:3000], data[3000:3001], data[3001:9000], data[9000:]]
    reader, expected = ChunkReader(chunks), io.BytesIO(data)
    for offset, whence, size in [(0, 2, 5), (0, 0, 100), (2999, 0, 7), (-5, 1, 3000), (4, 1, -1), (12, 0, 0)]:
        assert reader.seek(offset, whence) == expected.seek(offset, whence)
        got = reader.read() if size < 0 else read_up_to(reader, size)
        assert got == expected.read(size) and reader.tell() == expected.tell()
    reader.seek(2990)
    assert reader.read(100) == data[2990:3000]  # a short read: the rest of its chunk
    reader.seek(0)
    buffer = bytearray(4000)
    assert reader.readinto(buffer) == 3000 and bytes(buffer[:3000]) == data[:3000]
    assert reader.seek(20_000) == 10_000 and reader.read(5) == b""


def test_a_small_or_one_chunk_spool_is_sent_as_bytes_and_a_spool_on_disk_as_its_file():
    with MediaSpool() as spool:
        spool.write(b"a" * 10)
        spool.write(b"b" * 10)
        assert spool.body() == b"a" * 10 + b"b" * 10
    with MediaSpool(memory_limit=4) as spool:
        spool.write(b"abc")
        spool.write(b"de")
        body = spool.body()
        assert not isinstance(body, bytes) and body.read() == b"abcde"
