"""What the console says when a request fails: never a sentence that ends in nothing."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from console.services.client import AdapterClient, AdapterUnavailable, ClientSettings


def test_a_failure_without_a_message_is_named_by_its_kind() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("", request=request)

    async def ask() -> None:
        client = AdapterClient(ClientSettings("http://adapter.test", True, 5.0), lambda _: None)
        await client._http.aclose()  # its transport is swapped for the mock, the client kept
        client._http = httpx.AsyncClient(
            base_url="http://adapter.test", transport=httpx.MockTransport(answer)
        )
        try:
            await client.request("GET", "/healthz")
        finally:
            await client.aclose()

    with pytest.raises(AdapterUnavailable) as failed:
        asyncio.run(ask())
    assert str(failed.value) == "The request to http://adapter.test failed: ReadError"
