"""``recording-assets sandbox ...`` and ``python -m recording_assets.sandbox ...``: run until stopped."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Sequence

from recording_assets.sandbox.config import RemoteBindRefused, SandboxConfig
from recording_assets.sandbox.faults import Faults
from recording_assets.sandbox.server import SandboxServer

# (flag, Faults field, type, help)
_FAULT_FLAGS: tuple[tuple[str, str, type, str], ...] = (
    ("--burst-429-every", "burst_429_every", int, "every Nth API request starts a burst of 429s"),
    ("--burst-429-length", "burst_429_length", int, "429s per burst"),
    ("--burst-retry-after", "burst_retry_after_s", int, "Retry-After seconds sent during a burst"),
    ("--error-5xx-every", "error_5xx_every", int, "every Nth API request answers 502/503/504"),
    (
        "--reset-mid-body-rate",
        "reset_mid_body_rate",
        float,
        "share of recordings whose first media GET is reset",
    ),
    (
        "--truncate-body-rate",
        "truncate_body_rate",
        float,
        "share whose first media GET stops at half the body",
    ),
    (
        "--wrong-content-type-rate",
        "wrong_content_type_rate",
        float,
        "share whose first media GET is an HTML page",
    ),
    (
        "--corrupt-magic-rate",
        "corrupt_magic_rate",
        float,
        "share whose first media GET has garbage magic bytes",
    ),
    ("--revoke-tokens-every", "revoke_tokens_every", int, "every Nth API request revokes its token"),
    ("--token-ttl-override", "token_ttl_override_s", int, "lifetime of newly issued tokens, seconds"),
    ("--deleted-status", "deleted_status", int, "status for a DELETED recording: 404 or 410"),
    ("--batch-error-rate", "batch_error_rate", float, "share of first batch results that carry errorMsg"),
    ("--slow-response", "slow_response_s", float, "real seconds added to every API response"),
    ("--conflict-409-every", "conflict_409_every", int, "every Nth recording-control call answers 409"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = SandboxConfig()
    parser.add_argument("--port", type=int, default=8765, help="TCP port (0 = any free port)")
    parser.add_argument("--host", default=defaults.host, help="bind address (loopback unless --allow-remote)")
    parser.add_argument("--allow-remote", action="store_true", help="allow binding a non-loopback address")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--conversations-per-day", type=int, default=defaults.conversations_per_day)
    parser.add_argument("--live-calls", type=int, default=defaults.live_calls)
    parser.add_argument("--media-scale", type=float, default=defaults.media_scale)
    parser.add_argument("--giant-recording-bytes", type=int, default=defaults.giant_recording_bytes)
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=defaults.rate_limit_per_minute,
        help="requests per minute per token (0 = unlimited)",
    )
    parser.add_argument(
        "--url-ttl", type=int, default=defaults.url_ttl_s, help="presigned URL lifetime, seconds"
    )
    parser.add_argument("--token-ttl", type=int, default=defaults.token_ttl_s)
    parser.add_argument("--batch-latency", type=float, default=defaults.batch_latency_s)
    parser.add_argument("--job-latency", type=float, default=defaults.job_latency_s)
    parser.add_argument("--transcode-polls", type=int, default=defaults.transcode_polls)
    parser.add_argument("--data-lag", type=float, default=defaults.data_lag_s)
    parser.add_argument(
        "--media-bandwidth",
        type=int,
        default=defaults.media_bandwidth_bytes_per_s,
        help="bytes per second shared by all media downloads (0 = unlimited)",
    )
    parser.add_argument("--client-id", default=defaults.client_id)
    parser.add_argument("--client-secret", default=defaults.client_secret)
    parser.add_argument(
        "--permission",
        action="append",
        dest="permissions",
        metavar="P",
        help="grant only these permissions (repeatable; default: all)",
    )
    faults = parser.add_argument_group("faults")
    for flag, _, kind, help_text in _FAULT_FLAGS:
        faults.add_argument(flag, type=kind, default=None, help=help_text)
    faults.add_argument(
        "--corrupt-magic-persistent", action="store_true", help="corrupt every attempt, not just the first"
    )
    faults.add_argument(
        "--pagination-drift", action="store_true", help="shift later details-query pages by -3..+3"
    )
    faults.add_argument(
        "--deny-permission",
        action="append",
        default=[],
        metavar="P",
        help="remove a permission from the grant (repeatable)",
    )


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    fault_values = {
        field: getattr(args, flag.lstrip("-").replace("-", "_")) for flag, field, _, _ in _FAULT_FLAGS
    }
    fault_values = {k: v for k, v in fault_values.items() if v is not None}
    faults = Faults(
        **fault_values,
        corrupt_magic_persistent=args.corrupt_magic_persistent,
        pagination_drift=args.pagination_drift,
        deny_permissions=frozenset(args.deny_permission),
    )
    return SandboxConfig(
        host=args.host,
        port=args.port,
        allow_remote=args.allow_remote,
        seed=args.seed,
        conversations_per_day=args.conversations_per_day,
        live_calls=args.live_calls,
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_ttl_s=args.token_ttl,
        rate_limit_per_minute=args.rate_limit,
        url_ttl_s=args.url_ttl,
        media_scale=args.media_scale,
        giant_recording_bytes=args.giant_recording_bytes,
        permissions=frozenset(args.permissions) if args.permissions else None,
        batch_latency_s=args.batch_latency,
        job_latency_s=args.job_latency,
        transcode_polls=args.transcode_polls,
        data_lag_s=args.data_lag,
        media_bandwidth_bytes_per_s=args.media_bandwidth,
        faults=faults,
    )


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
            f"rate limit {config.rate_limit_per_minute or 'unlimited'}/min per token"
        )
        if active:
            print(f"  faults: {active}")
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
