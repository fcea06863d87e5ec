"""Our access log: method, path, status and time, and nothing that could hold a credential.

uvicorn's own access log is switched off: it prints query strings. Here the query string is
never logged, and any path segment long enough to be a token or secret is masked.
"""

from __future__ import annotations

import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("tv_adapter.access")
_CREDENTIAL_LIKE = re.compile(r"[A-Za-z0-9_\-+/=.~%]{40,}")


def redact_path(path: str) -> str:
    return _CREDENTIAL_LIKE.sub("<redacted>", path)


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            client = scope.get("client")
            log.info(
                '%s "%s %s" %d %.1fms',
                client[0] if client else "-",
                scope["method"],
                redact_path(scope["path"]),
                status,
                (time.perf_counter() - started) * 1000,
            )
