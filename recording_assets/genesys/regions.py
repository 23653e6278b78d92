"""Genesys Cloud regions: the 18 from the official SDK's region table (docs/genesys-api.md §2.1).

A region may be named by its domain (``mypurecloud.ie``), its SDK enum (``eu_west_1``) or the AWS-style
name (``eu-west-1``). The login host is the API host with ``api.`` replaced by ``login.``.
"""

from __future__ import annotations

from dataclasses import dataclass

# enum name -> domain
_DOMAINS: dict[str, str] = {
    "us_east_1": "mypurecloud.com",
    "eu_west_1": "mypurecloud.ie",
    "ap_southeast_2": "mypurecloud.com.au",
    "ap_northeast_1": "mypurecloud.jp",
    "eu_central_1": "mypurecloud.de",
    "us_west_2": "usw2.pure.cloud",
    "ca_central_1": "cac1.pure.cloud",
    "ap_northeast_2": "apne2.pure.cloud",
    "eu_west_2": "euw2.pure.cloud",
    "ap_south_1": "aps1.pure.cloud",
    "us_east_2": "use2.us-gov-pure.cloud",
    "sa_east_1": "sae1.pure.cloud",
    "me_central_1": "mec1.pure.cloud",
    "ap_northeast_3": "apne3.pure.cloud",
    "eu_central_2": "euc2.pure.cloud",
    "mx_central_1": "mxc1.pure.cloud",
    "ap_southeast_1": "apse1.pure.cloud",
    "eusc_de_east_1": "edee1.eusc-pure.cloud",
}


class UnknownRegionError(ValueError):
    """The region string matches no Genesys Cloud region."""


@dataclass(frozen=True)
class Region:
    name: str  # SDK enum, e.g. "eu_west_1"
    domain: str  # e.g. "mypurecloud.ie"

    @property
    def api_base_url(self) -> str:
        return f"https://api.{self.domain}"

    @property
    def login_base_url(self) -> str:
        return f"https://login.{self.domain}"


def all_regions() -> tuple[Region, ...]:
    return tuple(Region(name, domain) for name, domain in _DOMAINS.items())


def resolve_region(value: str) -> Region:
    """Accept a domain, an SDK enum name or an AWS-style region name; raise with the valid choices."""
    text = value.strip().lower()
    for prefix in ("https://", "http://", "api.", "login."):
        text = text.removeprefix(prefix)
    text = text.rstrip("/")
    enum = text.replace("-", "_")
    if enum in _DOMAINS:
        return Region(enum, _DOMAINS[enum])
    for name, domain in _DOMAINS.items():
        if text == domain:
            return Region(name, domain)
    choices = ", ".join(f"{name.replace('_', '-')} ({domain})" for name, domain in _DOMAINS.items())
    raise UnknownRegionError(f"unknown Genesys Cloud region {value!r}; use one of: {choices}")
