"""glibc's malloc, tuned for the process that runs a day: memory freed by a step goes back to the system.

Why: with glibc's defaults a run's RSS kept what its steps had freed. Each thread that allocates gets an
arena of its own (up to 8 per core), and the threshold above which a block is mmap'ed (so returned to
the system when freed) rises to the largest block freed so far, up to 32 MiB; after that, the 1 MiB
buffers of downloads and the column buffers of a day's tables are carved from heaps that fragment
and are trimmed only at their top. Measured (benchmarks/metadata_scale.py, 100,000 recordings): a step
started 175 MB above the imports' baseline with little of it live; the peak went from 420 MB to 339 MB
with the settings below. Two arenas still keep threads from contending on one lock.

Where the C library is not glibc (musl, macOS, Windows) there is nothing to tune and nothing is done.
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
MMAP_THRESHOLD = 128 * 1024  # glibc's starting value, now fixed: blocks from 128 KiB are mmap'ed
TRIM_THRESHOLD = 128 * 1024  # free memory above this at the top of the heap goes back at once

_tuned = False


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(None)  # the process's own symbols, glibc's malloc among them
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") else None


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

