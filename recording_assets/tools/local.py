"""The embedded default: a sandbox org and a local S3 server on loopback, and the environment that
points the project at them. Used by the demo, the UI command, benchmarks and end-to-end tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from recording_assets import settings as cfg

DEMO_ARCHIVE_BUCKET = "recording-archive"
DEMO_MANIFEST_BUCKET = "recording-manifests"
LOCAL_AWS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": "us-east-1"}


def start_local_s3(host: str = "127.0.0.1", port: int = 0):
    """moto in server mode (real S3 protocol over HTTP), in a thread of this process."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request would drown the demo
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


class MotoProcess:
    """moto in server mode as its own process: S3 then gets its own core instead of sharing our GIL.
    Used by ``LocalStack`` and by the reliability suite."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, start_timeout_s: float = 30.0) -> None:
        import socket
        import subprocess
        import sys
        import time
        import urllib.request

        if not port:
            with socket.socket() as probe:
                probe.bind((host, 0))
                port = probe.getsockname()[1]
        code = (
            "import logging, sys; logging.getLogger('werkzeug').setLevel(logging.ERROR); "
            "from moto.server import main; sys.exit(main(sys.argv[1:]))"
        )
        self._process = subprocess.Popen(
            [sys.executable, "-c", code, "-H", host, "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.endpoint = f"http://{host}:{port}"
        deadline = time.monotonic() + start_timeout_s
        while True:
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1).close()
                return
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the local S3 server did not start on {self.endpoint}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except Exception:  # noqa: BLE001 - a stuck child is killed rather than left behind
                self._process.kill()
                self._process.wait()


@dataclass
class LocalStack:
    sandbox_config: dict = field(default_factory=dict)
    s3_port: int = 0
    sandbox_port: int = 0

    def __post_init__(self):
        self.s3 = None
        self.sandbox = None
        self.s3_endpoint = None

    def start(self) -> LocalStack:
        from recording_assets.sandbox import SandboxConfig, SandboxServer

        self.s3 = MotoProcess("127.0.0.1", self.s3_port)
        self.s3_endpoint = self.s3.endpoint
        self.sandbox = SandboxServer(SandboxConfig(port=self.sandbox_port, **self.sandbox_config))
        self.sandbox.start()
        self.create_buckets()
        return self

    def stop(self) -> None:
        if self.sandbox:
            self.sandbox.stop()
        if self.s3:
            self.s3.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def environment(self) -> dict[str, str]:
        """The configuration contract filled in for the local servers."""
        config = self.sandbox.config
        return {
            cfg.API_BASE_URL: self.sandbox.base_url,
            cfg.CLIENT_ID: config.client_id,
            cfg.CLIENT_SECRET: config.client_secret,
            cfg.AWS_ENDPOINT_URL: self.s3_endpoint,
            cfg.ARCHIVE_BUCKET: DEMO_ARCHIVE_BUCKET,
            cfg.MANIFEST_BUCKET: DEMO_MANIFEST_BUCKET,
            **LOCAL_AWS,
        }

    def s3_client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def create_buckets(self) -> None:
        client = self.s3_client()
        # With RECORDING_OBJECT_LOCK_MODE set, the archive bucket can lock objects, as it must in production
        # (docs/operations.md §11); Object Lock turns its versioning on.
        locked = {"ObjectLockEnabledForBucket": True} if cfg.object_lock_policy() else {}
        client.create_bucket(Bucket=DEMO_ARCHIVE_BUCKET, **locked)
        client.create_bucket(Bucket=DEMO_MANIFEST_BUCKET)
        # As in production (docs/operations.md): the manifest bucket's documents are overwritten, and only
        # versioning lets a failed verification of a new version fall back to the previous one.
        client.put_bucket_versioning(
            Bucket=DEMO_MANIFEST_BUCKET, VersioningConfiguration={"Status": "Enabled"}
        )

    def export(self) -> None:
        cfg.export(self.environment())
