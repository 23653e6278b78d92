"""The code location's definitions as they load in a given environment (what ``dagster dev`` or a run
worker would load with those variables set)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import dagster as dg

from recording_assets.definitions import defs

PROJECT_PREFIXES = ("RECORDING_", "GENESYSCLOUD_")


@contextmanager
def project_environment(environ: Mapping[str, str]) -> Iterator[None]:
    """Exactly ``environ`` as the project's variables for the block; the others as they were."""
    saved = {name: value for name, value in os.environ.items() if name.startswith(PROJECT_PREFIXES)}
    for name in saved:
        del os.environ[name]
    os.environ.update(environ)
    try:
        yield
    finally:
        for name in [n for n in os.environ if n.startswith(PROJECT_PREFIXES)]:
            del os.environ[name]
        os.environ.update(saved)


def load_definitions(environ: Mapping[str, str] | None = None) -> dg.Definitions:
    """The definitions under ``environ`` (only those project variables), or the process environment."""
    if environ is None:
        return defs()
    with project_environment(environ):
        return defs()
