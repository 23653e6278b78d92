"""Settings of the operations side (issue 13), part of the configuration contract of ``settings.py``: read
through its ``environment()`` and checked by ``config_values``, so this module reads no environment itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from recording_assets.config_values import base_url, number
from recording_assets.settings import environment

POOL_LIMIT = "RECORDING_GENESYS_POOL_LIMIT"
CODE_URL = "RECORDING_CODE_URL"
CODE_BRANCH = "RECORDING_CODE_BRANCH"


@dataclass(frozen=True)
class OperationsSettings:
    """The genesys_api pool's limit (each run's share of the token's budget) and where the code is hosted."""

    pool_limit: int = 1  # keep equal to the instance's genesys_api limit (deploy/dagster.yaml)
    code_url: str | None = None  # e.g. https://github.com/org/recording-assets: the catalog links code there
    code_branch: str = "main"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OperationsSettings:
        env = environment(environ)
        url = env.get(CODE_URL, "").strip() or None
        branch = env.get(CODE_BRANCH, "").strip() or cls.code_branch
        return cls(number(env, POOL_LIMIT, cls.pool_limit, 1, 64), url and base_url(CODE_URL, url), branch)
