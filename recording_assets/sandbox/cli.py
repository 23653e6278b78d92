"""``recording-assets sandbox ...`` and ``python -m recording_assets.sandbox ...``: run until stopped."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from recording_assets.sandbox.config import RemoteBindRefused, SandboxConfig
from recording_assets.sandbox.faults import Faults
from recording_assets.sandbox.flags import add_flags, from_flags
from recording_assets.sandbox.server import SandboxServer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """A flag per ``SandboxConfig`` field, the faults in a group of their own (see ``sandbox.flags``)."""
    add_flags(parser, SandboxConfig)


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    return from_flags(SandboxConfig, args)


def run(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
        server = SandboxServer(config)
    except (RemoteBindRefused, ValueError) as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        active = {
            k: v
            for k, v in config.faults.to_json().items()
            if v != getattr(Faults(), k, None) and not (k == "deny_permissions" and not v)
        }
        print(f"Genesys Cloud sandbox listening on {server.base_url}", flush=True)
        print(f"  client id:     {config.client_id}")
        print(f"  client secret: {config.client_secret}")
        print(
            f"  seed {config.seed}, {config.conversations_per_day} conversations/day, "
            f"rate limit {config.rate_limit_per_minute or 'unlimited'}/min "
            f"{config.dialect.rate_limit_scope.replace('_', ' ')}"
        )
        if active:
            print(f"  faults: {active}")
        if config.hostile.active:
            print(f"  hostile: {config.hostile}")
        print("Press Ctrl+C to stop.", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="recording-assets sandbox", description="Run a local Genesys Cloud sandbox org."
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


__all__ = ["add_arguments", "config_from_args", "main", "run"]
