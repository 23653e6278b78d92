"""glibc's malloc, tuned for the process that runs a day: memory freed by a step goes back to the system.

Why: with glibc's defaults a run's RSS kept what its steps had freed. Each thread that allocates gets an
arena of its own (up to 8 per core), and the threshold above which a block is mmap'ed (so returned to
the system when freed) rises to the largest block freed so far, up to 32 MiB; after that, a day's table
columns and JSON pages are carved from heaps that fragment and are trimmed only at their top. Measured
(benchmarks/metadata_scale.py, 100,000 recordings, its Arrow-side changes in place): peak RSS 420 MB
untuned, 321-353 MB tuned (run to run spread); benchmarks/memory.py, 512 MiB recording: 237 -> 222 MB.
Two arenas still keep threads from contending on one lock.

Where the C library is not glibc (musl, macOS, Windows) there is nothing to tune and nothing is done.
Arrow's tables come through this malloc too: the package sets ``ARROW_DEFAULT_MEMORY_POOL`` on import
(``settings.prefer_system_malloc_for_arrow``).
"""

from __future__ import annotations

import ctypes
import platform
import sys

# mallopt parameters, from glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

ARENAS = 2
# Blocks from 1.25 MiB are mmap'ed: a day's table columns and JSON pages go back to the system when freed,
# while the ~1 MiB buffers that carry every download (httpx's chunker, hashing reads) stay in the heap
# and are reused. At 128 KiB those were mmap'ed too: 8x the page faults, +50 % CPU on a 512 MiB upload.
MMAP_THRESHOLD = 5 * 256 * 1024
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD  # free memory above this at the top of a heap goes back at once

_tuned = False


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(None)  # the process's own symbols, glibc's malloc among them
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def tune_for_run() -> bool:
    """Apply the settings above to this process (once; later calls do nothing). True if they are in
    force, False where malloc is not glibc's. Call it when a run starts, before its threads allocate."""
    global _tuned
    if _tuned:
        return True
    libc = _glibc()
    if libc is None:
        return False
    settings = ((M_ARENA_MAX, ARENAS), (M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    _tuned = all(libc.mallopt(parameter, value) == 1 for parameter, value in settings)
    return _tuned


def release_free_memory() -> bool:
    """Give back to the system the free memory inside the heaps, not only at their tops (``malloc_trim``),
    e.g. when a step starts after another freed its working set in the same process. True if some was."""
    libc = _glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
