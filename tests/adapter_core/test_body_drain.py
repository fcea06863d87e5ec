"""An oversized body is read to its end (up to a bound) before the 413, so a client still
sending reads the answer: checked on `read_body` with a scripted ASGI receive channel."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request
from starlette.types import Message

from adapter_core.api.requests import DRAIN_LIMIT, BodyTooLarge, read_body

CHUNK = 8192


def _request(total: int, declared: bool) -> tuple[Request, list[int]]:
    """A request whose body of `total` bytes arrives in chunks; the list counts those read."""
    sizes = [min(CHUNK, total - start) for start in range(0, total, CHUNK)]
    read: list[int] = []

    async def receive() -> Message:
        index = len(read)
        size = sizes[index] if index < len(sizes) else 0
        read.append(size)
        return {"type": "http.request", "body": b"x" * size, "more_body": index < len(sizes) - 1}

    headers = [(b"content-length", str(total).encode())] if declared else []
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    return Request(scope, receive), read


@pytest.mark.parametrize("declared", [True, False])
def test_an_oversize_body_within_the_drain_limit_is_read_to_its_end(declared: bool) -> None:
    total = 200_000
    request, read = _request(total, declared)
    with pytest.raises(BodyTooLarge):
        asyncio.run(read_body(request, 16 * 1024))
    assert sum(read) == total


def test_a_declared_body_beyond_the_drain_limit_is_refused_unread() -> None:
    request, read = _request(DRAIN_LIMIT * 4, declared=True)
    with pytest.raises(BodyTooLarge):
        asyncio.run(read_body(request, 16 * 1024))
    assert read == []


def test_a_streamed_body_beyond_the_drain_limit_is_read_only_up_to_it() -> None:
    request, read = _request(DRAIN_LIMIT * 4, declared=False)
    with pytest.raises(BodyTooLarge):
        asyncio.run(read_body(request, 16 * 1024))
    assert DRAIN_LIMIT < sum(read) <= DRAIN_LIMIT + CHUNK


@pytest.mark.parametrize("total", [16 * 1024 + 1, 20_000, 3 * CHUNK])
def test_a_body_that_passes_the_limit_in_its_last_chunk_is_refused_not_a_500(total: int) -> None:
    request, read = _request(total, declared=False)
    with pytest.raises(BodyTooLarge):
        asyncio.run(read_body(request, 16 * 1024))
    assert sum(read) == total
