"""dagster-aws's ``S3Resource`` with botocore's connection pool sized for the archive's concurrency.

botocore keeps 10 connections per client by default; past that, a call waits for a free one (urllib3
logs "Connection pool is full, discarding connection" and opens a throw-away one). The archive runs up to
64 downloads' uploads at once plus the parts of multipart uploads, so the pool is sized from those.
dagster-aws builds its client with only a retry config (``construct_s3_client``), so ``get_client``
builds the same client, with the same fields, plus ``max_pool_connections``.

It also turns off SigV4 payload signing. botocore signs an S3 body (a SHA-256 of every byte) whenever the
request carries no checksum botocore chose itself, over HTTPS too; every write the archive makes already
declares a SHA-256 of its bytes (``ChecksumSHA256``, checked by S3 and covered by the signature), so the
payload hash only hashed each byte a second time. Writes that declare none get botocore's default
checksum (``request_checksum_calculation="when_supported"``, set here so an environment cannot drop it).
"""

from typing import Any

import boto3
from botocore.config import Config
from botocore.handlers import disable_signing
from dagster_aws.s3 import S3Resource
from dagster_aws.utils import construct_boto_client_retry_config
from pydantic import Field

from recording_assets.archive.parts import PARTS_IN_FLIGHT

BOTOCORE_DEFAULT_POOL = 10
SPARE_CONNECTIONS = 4  # manifest and audit writes, listings: calls made beside the upload threads


def pool_for(concurrency: int, *, part_slots: int = PARTS_IN_FLIGHT) -> int:
    """Connections for ``concurrency`` S3 calls in flight (the archiver's threads, at least 4) plus the
    multipart parts sent beside them."""
    return max(4, concurrency) + part_slots + SPARE_CONNECTIONS


class PooledS3Resource(S3Resource):
    """``S3Resource`` whose client keeps ``max_pool_connections`` connections (botocore's default is 10)."""

    max_pool_connections: int = Field(
        default=pool_for(8), ge=1, description="botocore connection pool of the client (its default is 10)"
    )

    def get_client(self, *, at_least: int = 0) -> Any:
        """The client, its pool grown to ``at_least`` connections when more are asked for."""
        config = construct_boto_client_retry_config(self.max_attempts).merge(
            Config(
                max_pool_connections=max(self.max_pool_connections, at_least),
                request_checksum_calculation="when_supported",
                s3={"payload_signing_enabled": False},
            )
        )
        client = boto3.session.Session(profile_name=self.profile_name).client(
            "s3",
            region_name=self.region_name,
            use_ssl=self.use_ssl,
            verify=self.verify,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.aws_access_key_id,
            aws_secret_access_key=self.aws_secret_access_key,
            aws_session_token=self.aws_session_token,
            config=config,
        )
        if self.use_unsigned_session:
            client.meta.events.register("choose-signer.s3.*", disable_signing)
        return client
