"""The real adapter in-process, behind an ASGI layer that can break it on purpose.

`DefectiveAdapter` serves the whole adapter app (or, with `broker_only`, just its two broker
endpoints) with uvicorn on 127.0.0.1 in a thread of its own, like the console's embedded
adapter. Its `defect` switches one misbehaviour on, between requests; each is meant to make
exactly one conformance check fail (`EXPECTED_FAILURE`). Whatever the defect, the layer
records every token the adapter issued (the `d` of a `/generate/token` answer) in `issued`,
so a test can look for them where they must not be.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope, Send

from adapter_core.api.app import create_app
from adapter_core.broker_auth import BrokerSecrets, generate_secret
from adapter_core.datadir import STORE_FILE, ensure_private_dir
from adapter_core.headless import adapter_services, build_app
from adapter_core.server import server_config
from adapter_core.store.sqlite import SqliteTokenStore
from adapter_core.token_request import TokenRequestError, parse_token_request_body
from adapter_core.tokens.codec import DEFAULT_TTL_SECONDS
from adapter_core.tokens.keyring import KeyRing
from tests.support.threaded_server import ThreadedServer

SEED_BODY = {
    "userId": 14601,
    "brokerNames": ["BESTBROKER"],
    "ctidTraderAccountIds": [137780091, 137792301],
    "isVerified": True,
}
"""The source document's example request: what `lax-bodies` turns an invalid body into."""

EXPECTED_FAILURE = {
    "logout-keeps-token": "token.revoked-refused",
    "cors-any-origin": "cors.foreign-origin-refused",
    "accounts-beyond-token": "accounts.scope",
    "lax-bodies": "mint.invalid-bodies",
    "missing-field": "accounts.schema",
    "any-secret": "mint.wrong-secret",
}
"""Each defect, and the one check it should fail."""
DEFECTS = tuple(EXPECTED_FAILURE)
DROPPED_FIELD = "type"
"""The required Account field `missing-field` leaves out."""
PREFLIGHT_MAX_AGE = "600"


def _json(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def _with_header(headers: list[tuple[bytes, bytes]], name: bytes, value: bytes) -> list[Any]:
    """`headers` with every `name` header replaced by one with `value`."""
    return [(k, v) for k, v in headers if k.lower() != name] + [(name, value)]


def _bearer(headers: Headers) -> str | None:
    value = headers.get("authorization")
    if value is None:
        return None
    return value.strip().partition(" ")[2].strip()


def _envelope(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


async def _read_body(receive: Receive) -> bytes:
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return bytes(body)
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return bytes(body)


async def _answer(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    listed = [(k, v) for k, v in (headers or []) if k.lower() != b"content-length"]
    if headers is None:
        listed = [(b"content-type", b"application/json")]
    listed.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": listed})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class DefectiveAdapter(ThreadedServer):
    """The adapter app with switchable defects, served on 127.0.0.1 (port 0) in a thread."""

    def __init__(
        self, data_dir: Path, *, defect: str | None = None, broker_only: bool = False
    ) -> None:
        super().__init__()
        self.secret = generate_secret()
        self.issued: list[str] = []
        """Every token the adapter issued, in order (whatever the defect)."""
        self._defect: str | None = None
        self._kept_logouts: set[str] = set()
        self._users: dict[str, int] = {}
        self._widest: dict[int, list[dict[str, Any]]] = {}
        self.use(defect)
        store = SqliteTokenStore(ensure_private_dir(data_dir) / STORE_FILE)
        services = adapter_services(
            store, KeyRing.generate(), BrokerSecrets([self.secret]), DEFAULT_TTL_SECONDS
        )
        self._app = create_app(services) if broker_only else build_app(services, demo_crm=True)
        self.serve_with(server_config(self, "warning"))

    @property
    def defect(self) -> str | None:
        return self._defect

    def use(self, defect: str | None) -> None:
        """Switch to `defect` (None: the adapter as it is), forgetting the previous one's state."""
        if defect is not None and defect not in EXPECTED_FAILURE:
            raise ValueError(f"unknown defect {defect!r}; known: {', '.join(DEFECTS)}")
        self._kept_logouts = set()
        self._widest = {}
        self._defect = defect

    # The ASGI layer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        defect = self._defect
        method, path = scope["method"], scope["path"]
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if defect == "cors-any-origin" and origin is not None:
            if method == "OPTIONS" and "access-control-request-method" in headers:
                await self._grant_preflight(send, origin, headers)
                return
            send = self._granting(send, origin)
        if (method, path) == ("POST", "/generate/token"):
            await self._generate_token(scope, receive, send, defect)
        elif (method, path) == ("POST", "/logout") and defect == "logout-keeps-token":
            await self._logout(scope, receive, send)
        elif (method, path) == ("GET", "/accounts") and defect in (
            "accounts-beyond-token",
            "missing-field",
        ):
            await self._accounts(scope, receive, send, defect)
        else:
            await self._app(scope, receive, send)

    async def _forward(
        self, scope: Scope, receive: Receive, body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """The adapter's whole answer to the request `scope` with `body`."""
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self._app(scope, replay, capture)
        return int(start["status"]), list(start.get("headers", [])), b"".join(chunks)

    async def _generate_token(
        self, scope: Scope, receive: Receive, send: Send, defect: str | None
    ) -> None:
        body = await _read_body(receive)
        headers: list[tuple[bytes, bytes]] = list(scope["headers"])
        if defect == "any-secret" and _bearer(Headers(scope=scope)) not in (None, self.secret):
            headers = _with_header(headers, b"authorization", f"Bearer {self.secret}".encode())
        if defect == "lax-bodies" and _envelope(body) != {}:  # keep the health probe a 400
            try:
                parse_token_request_body(body)
            except TokenRequestError:
                body = _json(SEED_BODY)
                headers = _with_header(headers, b"content-type", b"application/json")
        headers = _with_header(headers, b"content-length", str(len(body)).encode())
        status, answer_headers, answer = await self._forward(
            dict(scope, headers=headers), receive, body
        )
        document = _envelope(answer)
        if status == 200 and isinstance(document, dict) and isinstance(document.get("d"), str):
            token = document["d"]
            self.issued.append(token)
            sent = _envelope(body)
            if isinstance(sent, dict) and isinstance(sent.get("userId"), int):
                self._users[token] = sent["userId"]
        await _answer(send, status, answer, answer_headers)

    async def _logout(self, scope: Scope, receive: Receive, send: Send) -> None:
        """`logout-keeps-token`: a token's first logout is answered ok and never forwarded."""
        token = _bearer(Headers(scope=scope))
        if token is None or token not in self.issued:
            await self._app(scope, receive, send)
            return
        await _read_body(receive)
        if token in self._kept_logouts:
            document = {"s": "error", "errmsg": "The token has already been logged out."}
        else:
            self._kept_logouts.add(token)
            document = {"s": "ok"}
        await _answer(send, 200, _json(document))

    async def _accounts(self, scope: Scope, receive: Receive, send: Send, defect: str) -> None:
        body = await _read_body(receive)
        status, headers, answer = await self._forward(scope, receive, body)
        document = _envelope(answer)
        if status == 200 and isinstance(document, dict) and isinstance(document.get("d"), list):
            accounts = [item for item in document["d"] if isinstance(item, dict)]
            if defect == "missing-field":
                accounts = [
                    {k: v for k, v in item.items() if k != DROPPED_FIELD} for item in accounts
                ]
            else:
                accounts = self._widened(Headers(scope=scope), accounts)
            answer = _json({**document, "d": accounts})
        await _answer(send, status, answer, headers)

    def _widened(self, headers: Headers, accounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`accounts-beyond-token`: the answer plus every account the user's tokens ever saw."""
        user = self._users.get(_bearer(headers) or "")
        if user is None:
            return accounts
        shown = {item.get("id") for item in accounts}
        widest = accounts + [item for item in self._widest.get(user, []) if item["id"] not in shown]
        self._widest[user] = widest
        return widest

    async def _grant_preflight(self, send: Send, origin: str, headers: Headers) -> None:
        """`cors-any-origin`: every preflight granted, whoever asks."""
        asked = headers.get("access-control-request-headers", "authorization, content-type")
        await _answer(
            send,
            200,
            b"OK",
            [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"access-control-allow-origin", origin.encode()),
                (b"access-control-allow-methods", b"GET, POST, PUT, DELETE"),
                (b"access-control-allow-headers", asked.encode()),
                (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
                (b"vary", b"Origin"),
            ],
        )

    @staticmethod
    def _granting(send: Send, origin: str) -> Send:
        """`cors-any-origin`: `send` with every answer granting `origin`."""

        async def granting(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = _with_header(
                    list(message.get("headers", [])),
                    b"access-control-allow-origin",
                    origin.encode(),
                )
                message = {**message, "headers": headers}
            await send(message)

        return granting
