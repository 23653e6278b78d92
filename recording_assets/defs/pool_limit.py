"""How many runs share the OAuth client's budget: the ``genesys_api`` pool's limit as the run's own instance
states it, so the environment cannot drift from it. An explicit limit (``dagster instance concurrency set``,
Deployment -> Concurrency) wins over the instance's ``concurrency: pools: default_limit``;
RECORDING_GENESYS_POOL_LIMIT is read only when the instance states neither (docs/operations.md)."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from recording_assets.defs.names import GENESYS_POOL


@dataclass(frozen=True)
class PoolLimit:
    limit: int
    source: str  # "instance pool limit", "instance default_limit" or "RECORDING_GENESYS_POOL_LIMIT"

    def line(self) -> str:
        return f"{GENESYS_POOL} pool limit {self.limit} ({self.source}): this run paces at 1/{self.limit} of the budget"


def pool_limit(instance: dg.DagsterInstance, *, fallback: int) -> PoolLimit:
    """The pool's limit from ``instance``, else ``fallback`` (the environment's)."""
    explicit = {p.name: p for p in instance.event_log_storage.get_pool_limits()}.get(GENESYS_POOL)
    if explicit is not None and explicit.limit > 0 and not explicit.from_default:
        return PoolLimit(explicit.limit, "instance pool limit")
    default = instance.get_concurrency_config().pool_config.default_pool_limit
    if default is not None and default > 0:
        return PoolLimit(default, "instance default_limit")
    return PoolLimit(fallback, "RECORDING_GENESYS_POOL_LIMIT")
