"""A local Genesys Cloud org served over real HTTP on loopback, speaking the real Platform API subset
the exporter uses (login, analytics details, recordings, batch downloads, presigned media, live
recording control), with deterministic synthetic data, injectable faults, and a ``Dialect`` choosing
how it reads what the documentation leaves open.

    from recording_assets.sandbox import SandboxConfig, SandboxServer, Faults
    with SandboxServer(SandboxConfig(seed=7)) as sandbox:
        ...  # point a Genesys client at sandbox.base_url with sandbox-client / sandbox-secret
"""

from recording_assets.sandbox.config import ALL_PERMISSIONS, RemoteBindRefused, SandboxConfig
from recording_assets.sandbox.dialect import DIALECTS, Dialect
from recording_assets.sandbox.faults import Faults
from recording_assets.sandbox.server import SandboxServer

__all__ = [
    "ALL_PERMISSIONS",
    "DIALECTS",
    "Dialect",
    "Faults",
    "RemoteBindRefused",
    "SandboxConfig",
    "SandboxServer",
]
