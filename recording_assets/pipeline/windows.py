"""Download windows sized by how long batch download URLs live (``recordingBatchDownloadUrlTtl``, 2 to 60
minutes, read at preflight from ``GET /api/v2/recording/settings``).

A batch round hands out one URL per recording, all ticking from the moment the job completes. A day is
archived in windows of conversations small enough that a window's downloads end well inside that lifetime,
so expired URLs (and their re-requests) stay the exception: half the TTL at a conservative
``RATE_PER_MINUTE`` conversations a minute, in whole batch requests of 100. Unknown TTL: one window.
"""

from __future__ import annotations

from collections.abc import Sequence

from recording_assets.genesys.recordings import BATCH_LIMIT

RATE_PER_MINUTE = 100  # conversations whose recordings a run downloads per minute, at the least


def window_size(url_ttl_s: int | None) -> int | None:
    """Conversations per window; None when the TTL is unknown (no windows)."""
    if not url_ttl_s:
        return None
    fits = int(url_ttl_s / 60 / 2 * RATE_PER_MINUTE)
    return max(BATCH_LIMIT, fits // BATCH_LIMIT * BATCH_LIMIT)


def download_windows(conversation_ids: Sequence[str], url_ttl_s: int | None) -> list[list[str]]:
    ids = list(conversation_ids)
    size = window_size(url_ttl_s)
    if size is None or len(ids) <= size:
        return [ids]
    return [ids[start : start + size] for start in range(0, len(ids), size)]
