"""GDPR requests in the SDK's shapes (``GDPRRequestEntityListing``, ``GDPRRequest``, ``GDPRSubject``, through
the strict walker of ``sdk_shape``), read by the product's client: the permission the SDK names, the
subject's identifiers as planted, untrusted answers refused by field."""

from __future__ import annotations

import httpx
import pytest

pytest.importorskip("PureCloudPlatformClientV2")

from recording_assets.genesys.errors import InvalidIdError, NotFoundError, PermissionDeniedError  # noqa: E402
from recording_assets.genesys.fields import ResponseFormatError  # noqa: E402
from recording_assets.genesys.gdpr import GDPR_VIEW, GdprRequest, GdprRequests  # noqa: E402
from recording_assets.sandbox.config import ALL_PERMISSIONS  # noqa: E402
from recording_assets_tests.sandbox.test_sandbox_contract_strict import Product, _assert_covered  # noqa: E402

UNKNOWN = "8f1e0d4c-2b1a-4c3d-9e8f-0a1b2c3d4e5f"


def plant(sandbox, **body) -> dict:
    answer = httpx.post(f"{sandbox.base_url}/__sandbox/gdpr/requests", json=body, timeout=10)
    answer.raise_for_status()
    return answer.json()


def test_gdpr_requests_answer_in_the_sdks_shapes(sandbox_factory, fake_clock):
    sandbox = sandbox_factory(clock=fake_clock, conversations_per_day=20)
    erase = plant(
        sandbox,
        subject={"name": "A Person", "phoneNumbers": ["+1 555-000-1111", "tel:+15550001111"],
                 "emailAddresses": ["ann@mail.example"]},
    )  # fmt: skip
    plant(sandbox, requestType="GDPR_EXPORT", status="SEARCHING", subject={"emailAddresses": ["b@x.example"]})
    for n in range(3):
        plant(sandbox, subject={"phoneNumbers": [f"+1555000{n:04d}"]}, status="DELETING")

    async def scenario(product: Product) -> None:
        gdpr = GdprRequests(product.transport)
        one = await gdpr.get(erase["id"])
        assert one.is_delete and one.status == "COMPLETED"
        assert one.phone_numbers == ("+1 555-000-1111", "tel:+15550001111")
        assert one.email_addresses == ("ann@mail.example",)
        listed = await gdpr.list(page_size=2)  # three pages: every request, once
        assert [r.request_id for r in listed][0] == erase["id"] and len(listed) == 5
        assert {r.request_type for r in listed} == {"GDPR_DELETE", "GDPR_EXPORT"}
        with pytest.raises(NotFoundError):
            await gdpr.get(UNKNOWN)
        with pytest.raises(InvalidIdError):
            await gdpr.get("../../oauth/clients")  # refused before any request

    exchanges = Product(sandbox, fake_clock).run(scenario)
    _assert_covered(exchanges, "gdpr")
    assert sum(e.path.startswith("/api/v2/gdpr/requests") and e.method == "GET" for e in exchanges) == 5


def test_without_the_permission_the_sdks_permission_is_named(sandbox_factory, fake_clock):
    sandbox = sandbox_factory(
        clock=fake_clock, conversations_per_day=5, permissions=ALL_PERMISSIONS - {GDPR_VIEW}
    )
    request = plant(sandbox, subject={"phoneNumbers": ["+15550001111"]})

    async def scenario(product: Product) -> None:
        with pytest.raises(PermissionDeniedError) as denied:
            await GdprRequests(product.transport).get(request["id"])
        assert GDPR_VIEW in str(denied.value)

    Product(sandbox, fake_clock).run(scenario)


@pytest.mark.parametrize(
    ("subject", "named"),
    [
        ({"phoneNumbers": "+15550001111"}, "subject.phoneNumbers: expected a list"),
        ({"phoneNumbers": ["+1555\x00"]}, "subject.phoneNumbers[0]: control characters"),
        ({"emailAddresses": [7]}, "subject.emailAddresses[0]: expected a string"),
        ({"emailAddresses": ["a" * 300]}, "subject.emailAddresses[0]: longer than"),
        ({"phoneNumbers": [f"+1{n}" for n in range(101)]}, "more than 100"),
    ],
)
def test_a_hostile_subject_is_refused_by_field(subject, named):
    raw = {"id": "r-1", "requestType": "GDPR_DELETE", "status": "COMPLETED", "subject": subject}
    with pytest.raises(ResponseFormatError) as refused:
        GdprRequest.from_api(raw)
    assert named in str(refused.value) and "\x00" not in str(refused.value)


def test_an_unknown_request_type_is_refused():
    with pytest.raises(ResponseFormatError, match="requestType"):
        GdprRequest.from_api({"id": "r-1", "requestType": "DELETE_EVERYTHING"})
