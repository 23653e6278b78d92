"""The SDK's ``...EntityListing`` page shape (``pageSize`` default 25, ``pageNumber`` from 1, ``total``,
``pageCount``, first/last/self/next URIs), one place for every paged directory listing the sandbox serves."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from recording_assets.sandbox.errors import bad_request
from recording_assets.sandbox.gateway import Ctx

PAGE_SIZE_MAX = 100  # the documented bulk size; the SDK states no page bound


def entity_page(ctx: Ctx, path: str, everything: Sequence[Any], entity: Callable[[Any], dict]) -> dict:
    """The listing page the request asks for, its entities made by ``entity`` from that page's items only;
    a page size or number out of range is the API's 400."""
    size, number = ctx.query_int("pageSize", 25), ctx.query_int("pageNumber", 1)
    if not 1 <= size <= PAGE_SIZE_MAX or number < 1:
        raise bad_request(f"pageSize must be within 1..{PAGE_SIZE_MAX} and pageNumber at least 1")
    pages = max(1, -(-len(everything) // size))
    uri = path + "?pageSize={}&pageNumber={}"
    body: dict = {
        "entities": [entity(item) for item in everything[(number - 1) * size : number * size]],
        "pageSize": size,
        "pageNumber": number,
        "total": len(everything),
        "pageCount": pages,
        "firstUri": uri.format(size, 1),
        "lastUri": uri.format(size, pages),
        "selfUri": uri.format(size, number),
    }
    if number < pages:
        body["nextUri"] = uri.format(size, number + 1)
    return body
