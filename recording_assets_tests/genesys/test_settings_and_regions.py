"""The configuration contract and the region table (pure logic, no servers)."""

import pytest

from recording_assets.genesys.regions import UnknownRegionError, all_regions, resolve_region
from recording_assets.settings import ConfigError, GenesysSettings, StorageSettings

# (enum, domain) pairs copied from docs/genesys-api.md §2.1, independently of the module's table.
REFERENCE = [
    ("us_east_1", "mypurecloud.com"),
    ("eu_west_1", "mypurecloud.ie"),
    ("ap_southeast_2", "mypurecloud.com.au"),
    ("ap_northeast_1", "mypurecloud.jp"),
    ("eu_central_1", "mypurecloud.de"),
    ("us_west_2", "usw2.pure.cloud"),
    ("ca_central_1", "cac1.pure.cloud"),
    ("ap_northeast_2", "apne2.pure.cloud"),
    ("eu_west_2", "euw2.pure.cloud"),
    ("ap_south_1", "aps1.pure.cloud"),
    ("us_east_2", "use2.us-gov-pure.cloud"),
    ("sa_east_1", "sae1.pure.cloud"),
    ("me_central_1", "mec1.pure.cloud"),
    ("ap_northeast_3", "apne3.pure.cloud"),
    ("eu_central_2", "euc2.pure.cloud"),
    ("mx_central_1", "mxc1.pure.cloud"),
    ("ap_southeast_1", "apse1.pure.cloud"),
    ("eusc_de_east_1", "edee1.eusc-pure.cloud"),
]


def test_table_matches_reference():
    assert {(r.name, r.domain) for r in all_regions()} == set(REFERENCE)


@pytest.mark.parametrize("enum,domain", REFERENCE)
def test_every_region_resolves_by_every_spelling(enum, domain):
    for spelling in (
        enum,
        enum.replace("_", "-"),
        enum.upper(),
        domain,
        f"api.{domain}",
        f"https://login.{domain}/",
    ):
        region = resolve_region(spelling)
        assert region.name == enum
        assert region.api_base_url == f"https://api.{domain}"
        assert region.login_base_url == f"https://login.{domain}"


@pytest.mark.parametrize("bad", ["eu-west-9", "mypurecloud.co.uk", "", "us_east_1; rm"])
def test_unknown_region_lists_valid_values(bad):
    with pytest.raises(UnknownRegionError) as err:
        resolve_region(bad)
    assert "eu-west-1 (mypurecloud.ie)" in str(err.value)


BASE = {"GENESYSCLOUD_OAUTHCLIENT_ID": "cid", "GENESYSCLOUD_OAUTHCLIENT_SECRET": "s3cr3t-value"}


def test_region_gives_api_and_login_hosts():
    s = GenesysSettings.from_env({**BASE, "GENESYSCLOUD_REGION": "eu-west-1"})
    assert (s.api_base_url, s.login_base_url) == (
        "https://api.mypurecloud.ie",
        "https://login.mypurecloud.ie",
    )


def test_api_override_alone_puts_token_endpoint_on_same_origin():
    s = GenesysSettings.from_env({**BASE, "GENESYSCLOUD_API_BASE_URL": "http://127.0.0.1:8765/"})
    assert s.api_base_url == s.login_base_url == "http://127.0.0.1:8765"


def test_login_override_wins():
    s = GenesysSettings.from_env(
        {
            **BASE,
            "GENESYSCLOUD_REGION": "mypurecloud.de",
            "GENESYSCLOUD_LOGIN_BASE_URL": "https://proxy.example/login",
        }
    )
    assert s.api_base_url == "https://api.mypurecloud.de"
    assert s.login_base_url == "https://proxy.example/login"


def test_secret_never_in_repr():
    s = GenesysSettings.from_env({**BASE, "GENESYSCLOUD_REGION": "us-east-1"})
    assert "s3cr3t-value" not in repr(s) and "s3cr3t-value" not in str(s)
    assert s.client_secret.reveal() == "s3cr3t-value"


@pytest.mark.parametrize(
    "env,names",
    [
        ({}, "GENESYSCLOUD_OAUTHCLIENT_ID"),
        ({"GENESYSCLOUD_OAUTHCLIENT_ID": "x"}, "GENESYSCLOUD_OAUTHCLIENT_SECRET"),
        (BASE, "GENESYSCLOUD_REGION"),
        ({**BASE, "GENESYSCLOUD_REGION": "mars-1"}, "GENESYSCLOUD_REGION"),
        ({**BASE, "GENESYSCLOUD_API_BASE_URL": "localhost:80"}, "GENESYSCLOUD_API_BASE_URL"),
    ],
)
def test_missing_or_bad_genesys_settings_name_the_variable(env, names):
    with pytest.raises(ConfigError) as err:
        GenesysSettings.from_env(env)
    assert names in str(err.value)
    assert "s3cr3t-value" not in str(err.value)


def test_storage_settings():
    s = StorageSettings.from_env(
        {
            "RECORDING_ARCHIVE_BUCKET": "rec-archive",
            "RECORDING_MANIFEST_BUCKET": "rec-manifests",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:5055",
            "AWS_REGION": "eu-west-1",
        }
    )
    assert (s.archive_bucket, s.manifest_bucket, s.endpoint_url, s.region_name) == (
        "rec-archive",
        "rec-manifests",
        "http://127.0.0.1:5055",
        "eu-west-1",
    )


@pytest.mark.parametrize("bucket", ["", "Upper", "a", "bad_bucket", "x" * 64, "dots..twice"])
def test_bad_bucket_names_are_refused(bucket):
    with pytest.raises(ConfigError) as err:
        StorageSettings.from_env(
            {"RECORDING_ARCHIVE_BUCKET": bucket, "RECORDING_MANIFEST_BUCKET": "ok-bucket"}
        )
    assert "RECORDING_ARCHIVE_BUCKET" in str(err.value)


CREDENTIALS = {"GENESYSCLOUD_OAUTHCLIENT_ID": "id", "GENESYSCLOUD_OAUTHCLIENT_SECRET": "s3cr3t-value"}


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"GENESYSCLOUD_API_BASE_URL": "http://api.example.com"}, "GENESYSCLOUD_API_BASE_URL"),
        ({"GENESYSCLOUD_API_BASE_URL": "http://10.1.2.3:8080"}, "GENESYSCLOUD_API_BASE_URL"),
        (
            {"GENESYSCLOUD_REGION": "eu-west-1", "GENESYSCLOUD_LOGIN_BASE_URL": "http://login.example.com"},
            "GENESYSCLOUD_LOGIN_BASE_URL",
        ),
    ],
)
def test_plain_http_carries_the_secret_only_to_loopback(env, name):
    with pytest.raises(ConfigError, match=f"{name} is plain http to a host that is not loopback") as raised:
        GenesysSettings.from_env({**CREDENTIALS, **env})
    assert "s3cr3t-value" not in str(raised.value)
    for local in ("http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"):
        assert (
            GenesysSettings.from_env({**CREDENTIALS, "GENESYSCLOUD_API_BASE_URL": local}).api_base_url
            == local
        )


def test_the_media_allowlist_is_read_checked_and_reaches_the_client():
    from recording_assets.genesys import GenesysClient

    env = {**CREDENTIALS, "GENESYSCLOUD_API_BASE_URL": "https://api.example.com"}
    assert GenesysSettings.from_env(env).allowed_media_hosts == frozenset()
    allowed = GenesysSettings.from_env({**env, "RECORDING_ALLOWED_MEDIA_HOSTS": "127.0.0.1:9000, [::1]:9001"})
    client = GenesysClient.from_settings(allowed)
    assert sorted(map(str, client.media_policy.allowed_hosts)) == ["127.0.0.1:9000", "[::1]:9001"]
    with pytest.raises(ConfigError, match="RECORDING_ALLOWED_MEDIA_HOSTS: .*'nope'"):
        GenesysSettings.from_env({**env, "RECORDING_ALLOWED_MEDIA_HOSTS": "nope"})
