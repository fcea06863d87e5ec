"""Reading what a caller sent: the bearer credential and a size-capped body."""

from __future__ import annotations

from starlette.requests import Request

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


class CredentialError(Exception):
    """The Authorization header is missing or not `Bearer <value>`; str() is for the caller."""


class BodyTooLarge(Exception):
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


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or BodyTooLarge as soon as it (or its declared length) passes `limit`."""
    declared = request.headers.get("content-length")
    if declared is not None and (whole_number(declared) or 0) > limit:
        raise BodyTooLarge(limit)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)
