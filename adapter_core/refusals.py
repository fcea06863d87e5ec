"""Refusals: the one way a request ends in the envelope error `{"s":"error","errmsg":...}`.

Raised wherever the reason is known (a route, the request readers, the trading backend) and
answered by one handler registered in `api/app.py`; Starlette finds it for every subclass by
walking the exception's MRO. `status` is the HTTP status: 200 for a business refusal, as
TradingView expects them. `str()` is the sentence the trader or operator reads, so it never
holds a secret or a token. Free of Starlette so the backend's errors can be refusals too.
"""

from __future__ import annotations

from typing import ClassVar


class Refusal(Exception):
    """A business refusal, answered with HTTP 200 (TradingView's convention)."""

    status: ClassVar[int] = 200

    def __init__(self, message: str) -> None:
        super().__init__(message)


class BadRequest(Refusal):
    """A parameter or the body is invalid; the message names it."""

    status = 400


class Unauthorized(Refusal):
    """A missing or refused credential: the broker secret or a TradingView token."""

    status = 401


class NotFound(Refusal):
    status = 404


class Conflict(Refusal):
    status = 409


class TooLarge(Refusal):
    status = 413


class Unavailable(Refusal):
    """Something the answer depends on (the token store) cannot answer; nothing was done."""

    status = 503
