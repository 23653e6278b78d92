"""Process setup, in one place: called once per process by the code location (``definitions.py``, so the
code server and every run worker) and by the ``recording-assets`` command, before a run allocates.

- Arrow's C++ code fixes its allocator from ``ARROW_DEFAULT_MEMORY_POOL`` on first use
  (``pyarrow.set_memory_pool`` reaches only pyarrow's own calls), so ``system`` is preferred here unless the
  operator chose a pool (the image sets it too). Arrow's default, mimalloc, keeps freed pages for reuse, so
  a day's tables stayed in RSS after they were written; through the tuned malloc they go back.
  benchmarks/memory.py, 10,083-recording day, the pool alone changed: peak 277-283 MB -> 245-248 MB.
- glibc's malloc is tuned so that memory a step frees goes back to the system (``allocator.py``).
- httpx logs every request's URL: presigned media URLs and webhook URLs (whose query may carry a token)
  are redacted by the log filter installed here.
"""

from __future__ import annotations

import sys

from recording_assets import allocator, settings
from recording_assets.genesys.redact import install_log_redaction

_done = False


def setup_process() -> None:
    """Apply the process settings above (once; later calls do nothing)."""
    global _done
    if _done:
        return
    # Importing pyarrow fixes Arrow C++'s pool from the variable, so this module never imports it: the
    # code location sets the process up before anything of the package imports pyarrow.
    settings.prefer(settings.ARROW_DEFAULT_MEMORY_POOL, "system")
    pa = sys.modules.get("pyarrow")
    if pa is not None and settings.arrow_memory_pool() == "system":  # imported already: pyarrow's own calls
        pa.set_memory_pool(pa.system_memory_pool())
    allocator.tune_for_run()
    install_log_redaction()
    _done = True
