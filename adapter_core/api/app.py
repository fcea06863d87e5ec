"""Assemble the Starlette application: routes, envelope errors, access log, upkeep tasks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapter_core.api.access_log import AccessLogMiddleware, redact_path
from adapter_core.api.broker import broker_routes
from adapter_core.api.envelope import error
from adapter_core.api.health import health_routes
from adapter_core.refusals import Refusal
from adapter_core.services import AdapterServices

log = logging.getLogger(__name__)

REVOCATION_PURGE_INTERVAL = 3600.0
TRADINGVIEW_ORIGINS = r"https://([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+tradingview\.com"
"""TradingView calls from www.tradingview.com and its other subdomains, over HTTPS only, on
the default port: one or more valid host name labels under tradingview.com. Not the bare
tradingview.com (TradingView serves its pages from www), not `-.tradingview.com`, not
`http://`, and not an origin with a port."""
PREFLIGHT_MAX_AGE = 3600
BackgroundJob = Callable[[], Coroutine[Any, Any, None]]
LifespanHook = Callable[[], AbstractAsyncContextManager[None]]


async def _refusal(request: Request, exc: Exception) -> Response:
    """Every `Refusal` subclass lands here: Starlette looks handlers up along the MRO."""
    assert isinstance(exc, Refusal)
    return error(str(exc), exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error("There is no endpoint at this path.", 404)
    if exc.status_code == 405:
        refusal = error(f"This endpoint does not accept {request.method} requests.", 405)
        refusal.headers.update(exc.headers or {})
        return refusal
    return error("The request could not be handled.", exc.status_code)


async def _client_gone(request: Request, exc: Exception) -> Response:
    """The client hung up while sending its request (a tab closed, a console quitting): no
    error of ours, and nobody is left to read the answer."""
    log.debug("client disconnected during %s %s", request.method, request.url.path)
    return Response(status_code=400)


class HostRequiredMiddleware:
    """HTTP/1.1 requires a Host header (RFC 9112 §3.2): without one, 400 before anything else."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lacks_host = scope["type"] == "http" and scope.get("http_version") == "1.1"
        if lacks_host and not any(name == b"host" for name, _ in scope.get("headers", [])):
            await error("An HTTP/1.1 request needs a Host header.", 400)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class InternalErrorMiddleware:
    """A bug of ours answers the error envelope with HTTP 500, inside the CORS middleware.

    Starlette's own last-resort handler sits outside every middleware, so its 500 carries no
    CORS headers and a browser on TradingView would see a CORS failure instead of the error.
    The logged path is redacted as in the access log: a token in a path never reaches a log.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            log.error(
                "unhandled error on %s %s",
                scope["method"],
                redact_path(scope["path"]),
                exc_info=exc,
            )
            if started:
                raise
            answer = error("The adapter hit an internal error; the request was not completed.", 500)
            await answer(scope, receive, send)


async def _purge_revocations(services: AdapterServices) -> None:
    while True:
        try:
            purged = await services.revocations.purge_expired()
        except Exception:
            log.exception("purging expired revocations failed")
        else:
            if purged:
                log.info("purged %d revocations of expired tokens", purged)
        await asyncio.sleep(REVOCATION_PURGE_INTERVAL)


def create_app(
    services: AdapterServices,
    *,
    extra_routes: Sequence[BaseRoute] = (),
    background: Sequence[BackgroundJob] = (),
    hooks: Sequence[LifespanHook] = (),
    cors_origins: Sequence[str] = (),
) -> Starlette:
    """The adapter app.

    `hooks` are entered in order before the first request is served and left in reverse at
    shutdown; `background` jobs run for the app's lifetime and are cancelled at shutdown.
    Browsers on TradingView's origins (and `cors_origins`) may call every endpoint.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(services.store.close)
            if services.revocations.shared is None:  # a shared store's link loads them
                await services.revocations.load()
            for hook in hooks:
                await stack.enter_async_context(hook())
            tasks = [asyncio.create_task(_purge_revocations(services))]
            tasks += [asyncio.create_task(job()) for job in background]
            if services.cluster is not None and not await services.cluster.wait_trusted():
                log.warning(
                    "serving without the shared store (%s): tokens are refused until it is back",
                    services.cluster.health.problem,
                )
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    app = Starlette(
        routes=[*broker_routes(services), *health_routes(services), *extra_routes],
        middleware=[
            Middleware(AccessLogMiddleware),  # outermost: refused preflights are logged too
            Middleware(HostRequiredMiddleware),
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors_origins),
                allow_origin_regex=TRADINGVIEW_ORIGINS,
                allow_methods=["GET", "POST", "PUT", "DELETE"],
                allow_headers=["Authorization", "Content-Type"],
                max_age=PREFLIGHT_MAX_AGE,
            ),
            Middleware(InternalErrorMiddleware),
        ],
        exception_handlers={
            Refusal: _refusal,
            HTTPException: _http_error,
            ClientDisconnect: _client_gone,
        },
        lifespan=lifespan,
    )
    # No redirect for a trailing slash: Starlette's would be absolute, built from the Host
    # header before any authentication (an open redirect). `/accounts/` is simply not found.
    app.router.redirect_slashes = False
    return app
