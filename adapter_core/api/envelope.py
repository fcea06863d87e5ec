"""The wire envelope every JSON answer uses: {"s":"ok","d":...} or {"s":"error","errmsg":...}."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

_OK_EMPTY = orjson.dumps({"s": "ok"})
_NO_DATA: Any = object()


class EnvelopeResponse(Response):
    media_type = "application/json"


def ok(data: Any = _NO_DATA) -> Response:
    """Success; `ok()` sends `{"s":"ok"}`, `ok(x)` sends `{"s":"ok","d":x}`."""
    if data is _NO_DATA:
        return EnvelopeResponse(_OK_EMPTY)
    return EnvelopeResponse(orjson.dumps({"s": "ok", "d": data}))


def error(message: str, status: int = 200) -> Response:
    """A refusal with a human sentence; callers never put secrets or tokens in `message`."""
    return EnvelopeResponse(orjson.dumps({"s": "error", "errmsg": message}), status_code=status)
