"""The ``recording-assets`` command."""

from __future__ import annotations

import argparse
import sys

from recording_assets.runtime import setup_process


def _demo(args) -> int:
    from recording_assets.tools.demo import run_demo

    return run_demo(day=args.day, conversations=args.conversations, media_scale=args.media_scale)


def _ui(args) -> int:
    from recording_assets.tools.ui import run_ui

    return run_ui(
        host=args.host,
        port=args.port,
        conversations=args.conversations,
        media_scale=args.media_scale,
        home=args.home,
        sample_day=not args.empty,
    )


def _sandbox(args) -> int:
    from recording_assets.sandbox import cli

    return cli.run(args)


def _s3(args) -> int:
    import signal
    import threading

    from recording_assets.tools.local import start_local_s3

    server, endpoint = start_local_s3(host=args.host, port=args.port)
    print(f"local S3 (moto) listening on {endpoint}; Ctrl-C stops it", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recording-assets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="archive one day on the embedded sandbox org and local S3")
    demo.add_argument("--day", help="partition to archive, YYYY-MM-DD (default: yesterday, UTC)")
    demo.add_argument("--conversations", type=int, default=600, help="conversations in the sandbox day")
    demo.add_argument("--media-scale", type=float, default=0.02, help="sandbox media size factor")
    demo.set_defaults(func=_demo)

    ui = commands.add_parser("ui", help="start the Dagster UI on the embedded sandbox org and local S3")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.add_argument("--conversations", type=int, default=600, help="conversations per sandbox day")
    ui.add_argument("--media-scale", type=float, default=0.02, help="sandbox media size factor")
    ui.add_argument("--home", help="DAGSTER_HOME (default: ./.dagster_home)")
    ui.add_argument("--empty", action="store_true", help="do not archive a day before the UI starts")
    ui.set_defaults(func=_ui)

    sandbox = commands.add_parser("sandbox", help="serve the Genesys Cloud sandbox org on loopback")
    from recording_assets.sandbox import cli as sandbox_cli

    sandbox_cli.add_arguments(sandbox)
    sandbox.set_defaults(func=_sandbox)

    s3 = commands.add_parser("s3", help="serve a local S3 (moto) on loopback")
    s3.add_argument("--host", default="127.0.0.1")
    s3.add_argument("--port", type=int, default=5055)
    s3.set_defaults(func=_s3)

    from recording_assets.tools import control_cli, find_cli

    find_cli.add_command(commands)  # `find`: recordings in the day manifests, downloaded and verified

    control_cli.add_commands(commands)  # `calls active`, `recording pause|resume|start|stop|status`
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_process()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
