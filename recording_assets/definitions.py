"""The code location: every module of ``defs/`` loaded the dg way, each contributing its own definitions
(``@dg.definitions``), so a file added with ``dg scaffold defs`` loads by itself. Settings are read by each
module when the location loads, never at import; the process is set up first (``runtime.py``)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from recording_assets.pipeline.window import PartitionConfigError
from recording_assets.runtime import setup_process
from recording_assets.settings import ConfigError


@dg.definitions
def defs() -> dg.Definitions:
    setup_process()
    try:
        return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    except Exception as exc:
        # dg wraps what a module raised in the tree of every module it loaded; a malformed setting is
        # said as itself (it names the variable and the fix), not under that tree.
        setting = _setting_error(exc)
        if setting is None:
            raise
        raise setting from None


def _setting_error(exc: BaseException | None) -> BaseException | None:
    while exc is not None and not isinstance(exc, (ConfigError, PartitionConfigError)):
        exc = exc.__cause__ or exc.__context__
    return exc
