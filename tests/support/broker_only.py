"""A foreign adapter on 127.0.0.1 that documents only /generate/token and /logout.

Like a Spotware-run deployment: no admin API, no introspection. Its tokens are opaque, and
`GET /accounts` (TradingView's API) answers 401 once one is logged out.
"""

from __future__ import annotations

import threading

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapter_core.server import bind_socket


class BrokerOnlyAdapter:
    """An adapter that documents only /generate/token and /logout (plus TradingView's /accounts)."""

    secret = "broker-only-secret-broker-only"

    def __init__(self) -> None:
        self.revoked: set[str] = set()
        self.issued = 0
        app = Starlette(
            routes=[
                Route("/generate/token", self._mint, methods=["POST"]),
                Route("/logout", self._logout, methods=["POST"]),
                Route("/accounts", self._accounts, methods=["GET"]),
            ]
        )
        self.sock = bind_socket("127.0.0.1", 0)
        host, port = self.sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})

    def _bearer(self, request: Request) -> str:
        return request.headers.get("authorization", "").removeprefix("Bearer ")

    async def _mint(self, request: Request) -> Response:
        if self._bearer(request) != self.secret:
            return JSONResponse({"s": "error", "errmsg": "Unauthorized"}, 401)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"s": "error", "errmsg": "The body is not JSON."}, 400)
        if not isinstance(body, dict) or "userId" not in body:
            return JSONResponse({"s": "error", "errmsg": "userId is required"}, 400)
        self.issued += 1
        return JSONResponse({"s": "ok", "d": f"opaque-token-number-{self.issued:04d}-" + "x" * 40})

    async def _logout(self, request: Request) -> Response:
        token = self._bearer(request)
        if token in self.revoked:
            return JSONResponse({"s": "error", "errmsg": "The token has already been revoked."})
        self.revoked.add(token)
        return JSONResponse({"s": "ok"})

    async def _accounts(self, request: Request) -> Response:
        if self._bearer(request) in self.revoked:
            return JSONResponse({"s": "error", "errmsg": "The token has been logged out."}, 401)
        return JSONResponse({"s": "ok", "d": []})

    def __enter__(self) -> BrokerOnlyAdapter:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
