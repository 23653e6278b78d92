"""The configuration contract: every environment variable the project reads, read in one place.

Variables are read when a run or command starts (never at import time), and a missing or malformed one
fails at once with a message that names the variable and what would be valid.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from recording_assets.genesys.regions import UnknownRegionError, resolve_region
from recording_assets.genesys.secret import Secret

REGION = "GENESYSCLOUD_REGION"
CLIENT_ID = "GENESYSCLOUD_OAUTHCLIENT_ID"
CLIENT_SECRET = "GENESYSCLOUD_OAUTHCLIENT_SECRET"
API_BASE_URL = "GENESYSCLOUD_API_BASE_URL"
LOGIN_BASE_URL = "GENESYSCLOUD_LOGIN_BASE_URL"
ARCHIVE_BUCKET = "RECORDING_ARCHIVE_BUCKET"
MANIFEST_BUCKET = "RECORDING_MANIFEST_BUCKET"
AWS_ENDPOINT_URL = "AWS_ENDPOINT_URL"
AWS_REGION = "AWS_REGION"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable and the fix."""


@dataclass(frozen=True)
class GenesysSettings:
    api_base_url: str
    login_base_url: str
    client_id: str
    client_secret: Secret
    region_name: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GenesysSettings:
        env = os.environ if environ is None else environ
        client_id = _required(env, CLIENT_ID, "the OAuth client id of a Client Credentials client")
        secret = _required(env, CLIENT_SECRET, "that OAuth client's secret")
        api_override = env.get(API_BASE_URL, "").strip()
        login_override = env.get(LOGIN_BASE_URL, "").strip()
        region_value = env.get(REGION, "").strip()
        region = None
        if region_value:
            try:
                region = resolve_region(region_value)
            except UnknownRegionError as exc:
                raise ConfigError(f"{REGION}: {exc}") from None
        if api_override:
            api = _base_url(API_BASE_URL, api_override)
        elif region:
            api = region.api_base_url
        else:
            raise ConfigError(
                f"{REGION} is not set: set it to your org's region (e.g. eu-west-1 or mypurecloud.ie), "
                f"or set {API_BASE_URL} for a sandbox or proxy"
            )
        if login_override:
            login = _base_url(LOGIN_BASE_URL, login_override)
        elif api_override:
            login = api  # only the API base given (sandbox, proxy): the token endpoint is on the same origin
        else:
            login = region.login_base_url  # type: ignore[union-attr]
        return cls(
            api_base_url=api,
            login_base_url=login,
            client_id=client_id,
            client_secret=Secret(secret),
            region_name=region.name if region else None,
        )


@dataclass(frozen=True)
class StorageSettings:
    archive_bucket: str
    manifest_bucket: str
    endpoint_url: str | None
    region_name: str | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StorageSettings:
        env = os.environ if environ is None else environ
        archive = _bucket(env, ARCHIVE_BUCKET, "the bucket that holds recordings")
        manifest = _bucket(env, MANIFEST_BUCKET, "the bucket that holds manifests and audit tables")
        endpoint = env.get(AWS_ENDPOINT_URL, "").strip() or None
        if endpoint:
            endpoint = _base_url(AWS_ENDPOINT_URL, endpoint)
        region = env.get(AWS_REGION, "").strip() or env.get("AWS_DEFAULT_REGION", "").strip() or None
        return cls(archive_bucket=archive, manifest_bucket=manifest, endpoint_url=endpoint, region_name=region)


def _required(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set: set it to {what}")
    return value


def _base_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name}={value!r} is not a base URL: use e.g. https://api.mypurecloud.ie")
    if parts.query or parts.fragment:
        raise ConfigError(f"{name} must not carry a query or fragment")
    return value.rstrip("/")


_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def _bucket(env: Mapping[str, str], name: str, what: str) -> str:
    value = _required(env, name, what)
    # [a-z0-9] by character class, not str.islower()/isdigit(), which also accept 'ü', 'ß' or '²'.
    if not _BUCKET_NAME.fullmatch(value) or ".." in value:
        raise ConfigError(
            f"{name}={value!r} is not a valid S3 bucket name: use 3-63 lowercase letters, digits, '.' or '-'"
        )
    return value
