"""A write-once sink for one streamed download: hashes, counts and keeps the head as bytes arrive.

Small recordings stay in memory; past ``memory_limit`` the bytes move to an anonymous temporary file,
so memory stays flat whatever the size. The SHA-256 is taken from the bytes as they arrived from the
network, before they touch memory or disk, and it is the only one: a single PUT declares it to S3,
which refuses bytes that changed between download and upload (see ``upload``). For a multipart upload
the spool also keeps the SHA-256 of each ``part_size`` part as the bytes arrive, which the parts declare
to S3 in the same way; the first part's is the running whole-file hash at that point, so only bytes
past the first part are hashed twice.

The default limit, 8 MiB, keeps a typical recording off the disk (a 10-minute 8 kHz WAV is ~4.8 MB,
Opus far less) while 8 downloads in flight hold at most 64 MiB; everything in memory is below the
16 MiB multipart threshold, so it goes up in one PUT from the very chunks that were hashed (``body``:
joined once below 1 MiB, sent chunk after chunk above it), never read back from a buffer. Larger recordings go to
disk and up in parts, read back one part at a time.

``prefix()`` gives the first ``prefix_limit`` bytes as an upload source of their own (what quarantine
evidence keeps of bad bytes), hashed for free: the whole-file hash as it stood at that byte is copied
as the bytes arrive, so the prefix's SHA-256 is a download-time one too.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tempfile
from types import TracebackType
from typing import BinaryIO, Protocol, cast

from recording_assets.archive.sniff import HEAD_BYTES

DEFAULT_MEMORY_LIMIT = 8 * 1024 * 1024
DEFAULT_PART_SIZE = 16 * 1024 * 1024  # ArchiveStore's default part size
# Below this an in-memory recording is joined for its PUT (a heap copy, and one send); from it, its chunks
# are sent one after another (``ChunkReader``).
JOIN_LIMIT = 1024 * 1024


class UploadSource(Protocol):
    """What ``ArchiveStore.put_new`` needs: the bytes and what they were promised to be."""

    @property
    def size(self) -> int: ...

    @property
    def sha256_hex(self) -> str: ...

    def reader(self) -> BinaryIO: ...

    # Optional: ``part_sha256s(part_size) -> list[bytes] | None``, each part's SHA-256 digest taken as the
    # bytes arrived (``MediaSpool`` keeps them); without it the uploader hashes the parts it reads.


class MediaSpool:
    """``write`` chunks, then ``reader()`` to upload; use as a context manager to drop the temp file."""

    def __init__(
        self,
        *,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
        part_size: int = DEFAULT_PART_SIZE,
        temp_dir: str | None = None,
        prefix_limit: int = DEFAULT_MEMORY_LIMIT,
    ) -> None:
        """``prefix_limit``: the most bytes ``prefix()`` gives (it is read into memory when uploaded)."""
        if memory_limit < 0:
            raise ValueError(f"memory_limit must be >= 0, got {memory_limit}")
        if not 0 <= prefix_limit <= DEFAULT_MEMORY_LIMIT:
            raise ValueError(f"prefix_limit must be within 0..{DEFAULT_MEMORY_LIMIT}, got {prefix_limit}")
        if part_size < 1:
            raise ValueError(f"part_size must be >= 1, got {part_size}")
        self._memory_limit = memory_limit
        self._part_size = part_size
        self._part_digests: list[bytes] = []
        self._part: hashlib._Hash | None = None  # the current part's hash, from the second part on
        self._part_fill = 0
        self._temp_dir = temp_dir
        # In memory, the chunks are kept as they arrived and joined once, for the PUT (``contents``): one
        # growing buffer was re-copied at each growth, ~8 copies of every byte (12.5 % headroom), 13 % of
        # the event loop's CPU in benchmarks/data_plane.py. Past the limit they are in a temporary file.
        self._memory: list[bytes] | None = [] if memory_limit else None
        self._file: BinaryIO | None = None if memory_limit else self._temporary_file()
        self._memory_reader: io.BytesIO | None = None
        self._sha256 = hashlib.sha256()
        self._prefix_limit = prefix_limit
        self._prefix_sha256: hashlib._Hash | None = None  # the whole-file hash as it stood at prefix_limit
        self._size = 0
        self._head = bytearray()
        self._sealed = False

    def write(self, chunk: bytes | bytearray | memoryview) -> int:
        if self._sealed:
            raise ValueError("MediaSpool is sealed: reader() was called, so its bytes and hash are final")
        data = memoryview(chunk).cast("B")
        if not data:
            return 0
        # Spill *before* the buffer would exceed the limit, so memory never holds more than the limit.
        if self._memory is not None and self._size + len(data) > self._memory_limit:
            self._spill()
        if self._prefix_sha256 is None and self._size + len(data) >= self._prefix_limit:
            cut = self._prefix_limit - self._size
            self._hash(data[:cut])
            self._prefix_sha256 = self._sha256.copy()
            self._hash(data[cut:])
        else:
            self._hash(data)
        if len(self._head) < HEAD_BYTES:
            self._head += data[: HEAD_BYTES - len(self._head)]
        if self._memory is not None:
            # A bytes chunk (what httpx yields) is kept as is, with no copy; anything else could change.
            self._memory.append(chunk if isinstance(chunk, bytes) else data.tobytes())
        else:
            assert self._file is not None  # on disk once out of memory
            self._file.write(data)
        self._size += len(data)
        return len(data)

    def _temporary_file(self) -> BinaryIO:
        return tempfile.TemporaryFile(dir=self._temp_dir, prefix="recording-")

    def _spill(self) -> None:
        assert self._memory is not None
        self._file = self._temporary_file()
        self._file.writelines(self._memory)
        self._memory = None

    def _hash(self, data: memoryview) -> None:
        """Update the whole-file hash and, past the first part, the current part's."""
        while data:
            room = self._part_size - self._part_fill
            piece, data = data[:room], data[room:]
            self._sha256.update(piece)
            if self._part is not None:
                self._part.update(piece)
            self._part_fill += len(piece)
            if self._part_fill == self._part_size:
                # The first part's digest is the whole-file hash so far: no second hash of its bytes.
                self._part_digests.append(self._running_part().digest())
                self._part, self._part_fill = hashlib.sha256(), 0

    def _running_part(self):  # the hash of the bytes of the part being filled
        return self._sha256 if self._part is None else self._part

    def writable(self) -> bool:
        return not self._sealed

    @property
    def size(self) -> int:
        return self._size

    @property
    def head(self) -> bytes:
        """The first ``HEAD_BYTES`` bytes (fewer if the stream was shorter), for ``sniff``."""
        return bytes(self._head)

    @property
    def sha256_hex(self) -> str:
        return self._sha256.hexdigest()

    @property
    def sha256_b64(self) -> str:
        """The digest as S3's ``ChecksumSHA256`` wants it."""
        return base64.b64encode(self._sha256.digest()).decode("ascii")

    def part_sha256s(self, part_size: int) -> list[bytes] | None:
        """Each ``part_size`` part's SHA-256 digest as the bytes arrived (None unless ``part_size`` is the
        spool's): what the parts of a multipart upload declare, so S3 checks them against the download."""
        if part_size != self._part_size:
            return None
        if not self._part_fill:
            return list(self._part_digests)
        return [*self._part_digests, self._running_part().digest()]

    def prefix(self) -> SpoolPrefix:
        """The first ``prefix_limit`` bytes (all of them, if fewer arrived) as an upload source."""
        if self._prefix_sha256 is None:  # fewer bytes than the limit: the prefix is the whole
            return SpoolPrefix(self, self._size, self.sha256_hex)
        return SpoolPrefix(self, self._prefix_limit, self._prefix_sha256.hexdigest())

    @property
    def on_disk(self) -> bool:
        return self._memory is None

    def contents(self) -> bytes | None:
        """Seal the spool and return its bytes when they are in memory (None on disk): the very bytes that
        were hashed, joined once."""
        self._sealed = True
        if self._memory is None:
            return None
        if len(self._memory) != 1:
            self._memory = [b"".join(self._memory)]
        return self._memory[0]

    def body(self) -> bytes | BinaryIO:
        """Seal the spool and return what one PUT sends: in memory, the very chunks that were hashed,
        joined below ``JOIN_LIMIT`` and read one after another above it (``ChunkReader``); on disk, its
        file at byte 0."""
        self._sealed = True
        if self._memory is None:
            return self.reader()
        if len(self._memory) > 1 and self._size >= JOIN_LIMIT:
            return cast(BinaryIO, ChunkReader(self._memory))  # a file of bytes, as typing.BinaryIO means
        contents = self.contents()
        assert contents is not None  # in memory
        return contents

    def reader(self) -> BinaryIO:
        """Seal the spool and return its bytes as a file positioned at byte 0. Read only; do not write to it."""
        self._sealed = True
        contents = self.contents()
        if contents is not None and self._memory_reader is None:
            self._memory_reader = io.BytesIO(contents)  # shares the bytes until written to
        self.rewind()
        return self._file or self._memory_reader  # type: ignore[return-value]

    def rewind(self) -> None:
        for file in (self._file, self._memory_reader):
            if file is not None:
                file.seek(0)

    def close(self) -> None:
        self._sealed = True
        for file in (self._file, self._memory_reader):
            if file is not None:
                file.close()
        self._memory = None

    def __enter__(self) -> MediaSpool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class ChunkReader(io.RawIOBase):
    """Chunks read as one file, each ``read`` handing on the next chunk as it is: no join. botocore sends a
    file body a read at a time, so the bytes go from the chunks the connection gave to the socket without
    being copied into one buffer, which above the allocator's mmap threshold (``allocator.py``) is a fresh
    mapping every time, its pages faulted in and zeroed: a 4 MiB PUT cost twice the CPU that way."""

    def __init__(self, chunks: list[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._size = sum(len(chunk) for chunk in chunks)
        self._index = 0  # the chunk the next read starts in
        self._offset = 0  # and where in it
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        target = min(max(0, base + offset), self._size)
        self._index, self._offset, self._position = 0, target, target
        while self._index < len(self._chunks) and self._offset >= len(self._chunks[self._index]):
            self._offset -= len(self._chunks[self._index])
            self._index += 1
        return target

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(self._size or 1), b""))
        if size == 0 or self._index >= len(self._chunks):
            return b""
        chunk = self._chunks[self._index]
        if self._offset == 0 and len(chunk) <= size:
            piece = chunk  # the common case: the whole chunk, not a copy
        else:
            piece = chunk[self._offset : self._offset + size]
        self._offset += len(piece)
        self._position += len(piece)
        if self._offset >= len(chunk):
            self._index, self._offset = self._index + 1, 0
        return piece

    def readinto(self, buffer) -> int:
        piece = self.read(len(buffer))
        buffer[: len(piece)] = piece
        return len(piece)


class SpoolPrefix:
    """The first ``size`` bytes of a spool, with their download-time SHA-256: an ``UploadSource``."""

    def __init__(self, spool: MediaSpool, size: int, sha256_hex: str) -> None:
        self._spool = spool
        self._size = size
        self._sha256_hex = sha256_hex

    @property
    def size(self) -> int:
        return self._size

    @property
    def sha256_hex(self) -> str:
        return self._sha256_hex

    def reader(self) -> BinaryIO:
        # At most prefix_limit bytes (8 MiB), so one read into memory; the upload checks them against
        # the download-time hash, so bytes that changed on disk are refused.
        return io.BytesIO(self._spool.reader().read(self._size))
