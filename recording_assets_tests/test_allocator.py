"""The run's malloc tuning: on glibc, a large block freed no longer lifts the mmap threshold, so the next
big buffers are mmap'ed (returned to the system when freed) instead of carved from a fragmenting heap."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

glibc_only = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="tunes glibc's malloc only",
)


PROBE = """
import ctypes

from recording_assets import allocator

class MallInfo2(ctypes.Structure):  # glibc's struct mallinfo2, field by field
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.mallinfo2.restype = MallInfo2
if TUNE:
    assert allocator.tune_for_run() and allocator.tune_for_run()  # once; again is a no-op
# Untuned, freeing this 16 MiB mmap'ed block raises the threshold to 16 MiB: the 12 MiB below then comes
# from the heap (hblks unchanged).
libc.free(libc.malloc(16 * 1024 * 1024))
mapped = libc.mallinfo2().hblks
block = libc.malloc(12 * 1024 * 1024)
during = libc.mallinfo2().hblks
libc.free(block)
print(during - mapped, libc.mallinfo2().hblks - mapped)
"""


@glibc_only
@pytest.mark.parametrize(("tune", "mapped_while_held"), [(True, 1), (False, 0)])
def test_after_tuning_a_freed_large_block_leaves_big_buffers_mmapped(tune, mapped_while_held):
    """In a fresh interpreter: malloc serves a block from a free heap chunk before it considers mmap, so
    a process whose heap already holds large free chunks (a test suite's) cannot show the threshold."""
    probe = f"TUNE = {tune}\n" + PROBE
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    # Mapped while held when tuned (and back to the system once freed); from the heap when not.
    assert out.stdout.split() == [str(mapped_while_held), "0"]


@pytest.mark.parametrize(("chosen", "used"), [(None, "system"), ("mimalloc", "mimalloc")])
def test_process_setup_puts_arrow_on_the_system_malloc_unless_the_operator_chose(chosen, used):
    """In a fresh interpreter (Arrow fixes its C++ pool on first use): tables built by Arrow C++ itself,
    with no pool given, are allocated by the pool the package chose, or by the operator's."""
    probe = (
        # The code location's order: nothing imports pyarrow before the process is set up (importing
        # pyarrow fixes Arrow C++'s pool), then the definitions load.
        "import sys\nimport recording_assets.definitions as location\n"
        "assert 'pyarrow' not in sys.modules\n"
        "location.defs()\nimport pyarrow as pa\n"
        "pool = {'system': pa.system_memory_pool(), 'mimalloc': pa.mimalloc_memory_pool()}[pa.default_memory_pool().backend_name]\n"
        "before = pool.bytes_allocated()\n"
        "column = pa.table({'n': list(range(100_000))}).column('n')\n"
        "print(pa.default_memory_pool().backend_name, pool.bytes_allocated() - before >= column.nbytes)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if chosen:
        env["ARROW_DEFAULT_MEMORY_POOL"] = chosen
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [used, "True"]
