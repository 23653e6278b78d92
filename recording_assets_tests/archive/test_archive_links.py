"""Browser links for s3:// URIs: the S3 console on AWS, the object's URL on an S3-compatible server."""

from recording_assets.archive.links import ObjectLinks


def test_on_aws_an_object_opens_the_console_page_of_that_object_without_a_credential():
    links = ObjectLinks(region="eu-west-1")
    url = links.browser_url("s3://acme-manifests/manifests/date=2026-11-20/manifest.parquet")
    assert url == (
        "https://console.aws.amazon.com/s3/object/acme-manifests"
        "?region=eu-west-1&prefix=manifests%2Fdate%3D2026-11-20%2Fmanifest.parquet"
    )
    assert "X-Amz" not in url and "Signature" not in url


def test_a_prefix_opens_the_console_folder_and_an_endpoint_serves_the_object_itself():
    folder = ObjectLinks(region="us-east-1").browser_url("s3://arch/recordings/year=2026/month=11/day=20/")
    assert folder.startswith("https://console.aws.amazon.com/s3/buckets/arch?region=us-east-1&prefix=")
    local = ObjectLinks(endpoint_url="http://127.0.0.1:5055/")
    assert local.browser_url("s3://m/a b/x.parquet") == "http://127.0.0.1:5055/m/a%20b/x.parquet"
    assert local.browser_url("s3://arch/recordings/") == "http://127.0.0.1:5055/arch?prefix=recordings%2F"


def test_what_is_not_an_s3_uri_is_returned_as_it_is():
    assert ObjectLinks().browser_url("file:///tmp/x") == "file:///tmp/x"
    assert ObjectLinks().browser_url("s3://") == "s3://"
