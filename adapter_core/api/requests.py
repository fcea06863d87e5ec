"""Reading what a caller sent: the bearer credential, whether it is a broker secret, the body.

Their failures are `Refusal`s (401, 413), so a route catches only what it answers differently.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request

from adapter_core.broker_auth import BrokerSecrets
from adapter_core.refusals import TooLarge, Unauthorized
from adapter_core.tokens.codec import MAX_BEARER_LENGTH

_SCHEME = "bearer"
_MAX_HEADER_LENGTH = MAX_BEARER_LENGTH + len(_SCHEME) + 16


MAX_ID = 2**63 - 1


def whole_number(text: str, upper: int = MAX_ID) -> int | None:
    """ASCII digits from 0 to `upper`, else None.

    str.isdigit() alone admits '¹' and other scripts' digits, which int() refuses or reads
    as an unrelated number; ids and counts in URLs are plain ASCII.
    """
    if not text or len(text) > 19 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= upper else None


class CredentialError(Unauthorized):
    """The Authorization header is missing or not `Bearer <value>`; str() is for the caller."""


class BodyTooLarge(TooLarge):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The request body is larger than {limit} bytes.")


def bearer_credential(request: Request) -> str:
    """The value after `Bearer `, refusing oversize values before anything decodes them."""
    values = request.headers.getlist("authorization")
    if not values:
        raise CredentialError("The Authorization header is missing.")
    if len(values) > 1:
        raise CredentialError("Send exactly one Authorization header.")
    header = values[0]
    if len(header) > _MAX_HEADER_LENGTH:
        raise CredentialError("The Authorization header is too long.")
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != _SCHEME or not value or " " in value:
        raise CredentialError("The Authorization header must have the form 'Bearer <value>'.")
    return value


def require_broker_secret(request: Request, accepted: BrokerSecrets) -> None:
    """Refuse (401) unless the bearer credential is an accepted broker secret.

    The one check behind /generate/token, the admin API and the demo CRM: whoever may mint
    tokens may see and end them.
    """
    if not accepted.accepts(bearer_credential(request)):
        raise Unauthorized("The broker secret is not accepted.")


DRAIN_LIMIT = 1024 * 1024
"""An oversized body up to this size is read and dropped before the 413, so an ordinary
client, still sending, reads the answer instead of a connection reset. A larger one is
answered at once (and the connection closed): reading it would serve the sender."""


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or BodyTooLarge once it (or its declared length) passes `limit`."""
    declared = whole_number(request.headers.get("content-length") or "")
    if declared is not None and declared > limit:
        if declared <= DRAIN_LIMIT:
            await _drain(request.stream(), 0)
        raise BodyTooLarge(limit)
    chunks = []
    size = 0
    stream = request.stream()
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            await _drain(stream, size)
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def _drain(stream: AsyncIterator[bytes], size: int) -> None:
    """Read and drop the rest of the body, up to DRAIN_LIMIT bytes in all. The same stream
    goes on: asking the request for a new one after its last chunk would fail."""
    async for chunk in stream:
        size += len(chunk)
        if size > DRAIN_LIMIT:
            return
