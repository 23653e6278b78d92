"""The fewest API requests a day's discovery and batch download can take on each route: the floor the
wall-time and request benchmarks compare the run's own count with.

- jobs route: the availability read, the job's submission, one status poll, one results page per 1,000
  conversations (the largest page the sandbox's default reading serves);
- query route: the availability read, one details-query page per 100 conversations, and the short page
  that ends the pass;
- both: one batch submission and one poll per 100 conversations (Genesys expands each to its recordings).

Look-ups, the preflight and retries are the run's own, not the route's: they are in the run's count only.
"""

from __future__ import annotations

import math

JOB_RESULTS_PAGE = 1000
QUERY_PAGE = 100
BATCH_SIZE = 100


def discovery_floor(route: str, conversations: int) -> int:
    if route == "jobs":
        return 3 + max(1, math.ceil(conversations / JOB_RESULTS_PAGE))
    return 1 + conversations // QUERY_PAGE + 1


def batch_floor(conversations: int) -> int:
    return 2 * math.ceil(conversations / BATCH_SIZE)


def route_floor(route: str, conversations: int) -> int:
    return discovery_floor(route, conversations) + batch_floor(conversations)
