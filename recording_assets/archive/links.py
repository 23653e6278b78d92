"""Links a browser opens for an ``s3://`` URI, so the catalog's locations are one click away.

An ``s3://`` URI opens nothing in a browser. On AWS the link is the S3 console's page of the object (or
of the folder, for a prefix ending in ``/``): it needs the reader's own console sign-in, so the link
carries no credential and never expires, unlike a presigned URL. On an S3-compatible server
(``AWS_ENDPOINT_URL``: a local moto, MinIO) it is the path-style URL on that server.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

CONSOLE = "https://console.aws.amazon.com/s3"


@dataclass(frozen=True)
class ObjectLinks:
    endpoint_url: str | None = None  # an S3-compatible server; None for AWS itself
    region: str | None = None

    def browser_url(self, uri: str) -> str:
        """The page of ``s3://bucket/key`` (a folder when ``key`` ends in ``/``); ``uri`` itself if it is
        not an ``s3://`` URI with a bucket."""
        bucket, key = _split(uri)
        if not bucket:
            return uri
        if self.endpoint_url:
            base = f"{self.endpoint_url.rstrip('/')}/{quote(bucket)}"
            if key.endswith("/") or not key:
                return f"{base}?{urlencode({'prefix': key})}" if key else base
            return f"{base}/{quote(key, safe='/=')}"  # as S3 keys are written: moto, MinIO
        query = {"region": self.region} if self.region else {}
        if key.endswith("/") or not key:
            return f"{CONSOLE}/buckets/{quote(bucket)}?{urlencode({**query, 'prefix': key})}"
        return f"{CONSOLE}/object/{quote(bucket)}?{urlencode({**query, 'prefix': key})}"


def _split(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        return "", ""
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key
