"""Parsers for setting values: each names the variable and what would be valid when a value is wrong.

Pure functions of a mapping (no environment access): ``settings.py`` reads the environment and uses them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable and the fix."""


def switch(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value not in ("", "0", "1", "true", "false", "yes", "no"):
        raise ConfigError(f"{name}={value!r}: use true or false")
    return value in ("1", "true", "yes")


def required(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set: set it to {what}")
    return value


def number(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    # ASCII digits only: str.isdigit() is also True for '²', which int() refuses.
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise ConfigError(f"{name}={raw!r}: use a whole number from {low} to {high}")
    return int(raw)


def base_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name}={value!r} is not a base URL: use e.g. https://api.mypurecloud.ie")
    if parts.query or parts.fragment:
        raise ConfigError(f"{name} must not carry a query or fragment")
    return value.rstrip("/")


BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def bucket(env: Mapping[str, str], name: str, what: str) -> str:
    value = required(env, name, what)
    # [a-z0-9] by character class, not str.islower()/isdigit(), which also accept 'ü', 'ß' or '²'.
    if not BUCKET_NAME.fullmatch(value) or ".." in value:
        raise ConfigError(
            f"{name}={value!r} is not a valid S3 bucket name: use 3-63 lowercase letters, digits, '.' or '-'"
        )
    return value
