"""A small stand-alone adapter on 127.0.0.1 whose quirks a test switches on, one run at a time.

Not the real adapter behind a filter (that is tests/support/defective_adapter.py) but a
second, independent implementation of the two broker endpoints, TradingView's Broker REST API
(accounts, config, instruments, state, orders, positions, executions, orders history, quotes,
placing and cancelling orders) and CORS, small enough that each misbehaviour a review found in
foreign adapters is one switch in `Quirks`: how strings are escaped in JSON (PHP's `\\/`, Go's
`\\u003c`, upper-case `\\u002F`, everything), error messages that echo the credential they
were sent, tokens that are short or wrapped in an object, a token minted for the empty body,
a long `pullingInterval`, quotes that are missing or have no `v`, `Access-Control-Max-Age: 0`,
an order list that breaks once an order is placed or answers slowly, the status of unknown
paths and of a refused secret.

Without quirks it conforms: every check passes except `tls.certificate` (plain HTTP on
loopback is skipped). `use()` switches quirks and forgets the previous run's tokens, orders
and requests, so `live_tokens`, `working_orders` and `requests` describe the test's own run.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs

import uvicorn
from starlette.datastructures import Headers, QueryParams
from starlette.types import Receive, Scope, Send

from adapter_core.token_request import TokenRequestError, parse_token_request_body
from tests.support.threaded_server import ThreadedServer

TRADINGVIEW_ORIGIN = "https://www.tradingview.com"
DEFAULT_SECRET = "Qk/CanarySecret7Xw<&>+Tail9Zr4Qm="
"""ASCII (a header can carry it) with `/`, `<`, `&`, `>`, `+`, `=`: characters JSON encoders
and URL encoders spell differently. Its letter runs (`CanarySecret7Xw`, `Tail9Zr4Qm`) survive
any escaping, so finding one of them in a report is a leak whatever the spelling around it."""
ACCOUNT_IDS: tuple[str, ...] = ("137780091", "137792301")
"""The test identity's accounts (the source document's example), both demo accounts."""
INSTRUMENTS = (
    ("EURUSD", "Euro / US Dollar", 1.10012),
    ("GBPUSD", "British Pound / US Dollar", 1.27031),
    ("USDJPY", "US Dollar / Japanese Yen", 151.234),
)
UNKNOWN = "ungültig"
"""A non-ASCII word in every error message, so escaping styles show on non-ASCII text too."""

Escape = Literal["php", "go", "upper", "all"]
QuoteQuirk = Literal["ok", "empty", "no-v", "one-error"]


@dataclass(frozen=True, slots=True)
class Quirks:
    """The switches; the defaults make a conforming adapter."""

    escape: Escape | None = None
    """How strings are escaped in every JSON answer: `php` writes `/` as `\\/`, `go` writes
    `<`, `>`, `&` as `\\u003c`, `\\u003e`, `\\u0026`, `upper` writes every ASCII punctuation
    character and every non-ASCII one as `\\u` with upper-case hex (`\\u002F`, `\\u00FC`),
    `all` writes every character of every string as `\\u` with lower-case hex."""
    echo_credentials: bool = False
    """Error messages quote the credential of the request (secret or token) they refuse."""
    token_shape: Literal["string", "object"] = "string"
    """`object`: a mint answers `{"s":"ok","d":{token_key: <token>}}` instead of `d: <token>`."""
    token_key: str = "token"
    short_tokens: bool = False
    """Tokens are 16 hex digits (too short for any token-like heuristic) instead of 70+."""
    lax_empty_body: bool = False
    """A token is minted for the body `{}` (the console's connection probe) as if it were valid."""
    pulling_interval: dict[str, int] | None = None
    """`/config`'s `pullingInterval` (None: none declared, TradingView's defaults apply)."""
    quotes: QuoteQuirk = "ok"
    """`empty`: `d: []`; `no-v`: `{"s":"ok","n":...}` without `v`; `one-error`: the second
    symbol asked answers `{"s":"error"}`."""
    max_age: str | None = "600"
    """The preflight's Access-Control-Max-Age (None: the header is left out)."""
    orders_fail_after_placing: bool = False
    """Once an order is placed, `GET /accounts/{id}/orders` answers HTTP 500 (so a client
    that needs the list before cancelling never cancels)."""
    orders_delay: float = 0.0
    """Seconds `GET /accounts/{id}/orders` takes to answer (a slow order book)."""
    unknown_status: int = 404
    """The status of a path the adapter does not serve (a wrong base URL lands there)."""
    refusal_status: int = 401
    """The status `/generate/token` refuses a wrong or missing broker secret with."""


@dataclass(slots=True)
class Minted:
    token: str
    accounts: tuple[str, ...]
    verified: bool
    live: bool = True


@dataclass(slots=True)
class Order:
    id: str
    account: str
    instrument: str
    qty: float
    side: str
    limit_price: float
    status: str = "working"


@dataclass(slots=True)
class _State:
    tokens: dict[str, Minted] = field(default_factory=dict)
    orders: list[Order] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


class _Request:
    def __init__(self, scope: Scope, body: bytes) -> None:
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.headers = Headers(scope=scope)
        self.query = QueryParams(scope.get("query_string", b""))
        self.body = body

    @property
    def bearer(self) -> str | None:
        value = self.headers.get("authorization")
        if value is None:
            return None
        scheme, _, credential = value.strip().partition(" ")
        return credential.strip() if scheme.lower() == "bearer" else None


Serve = Callable[[_Request, Minted, str | None], tuple[int, Any]]
"""A TradingView endpoint: (the request, its token, the account in its path) to an answer."""


# JSON as quirky encoders write it


def _escaped_char(char: str, style: Escape | None) -> str:
    standard = json.dumps(char, ensure_ascii=False)[1:-1]
    if style == "all":
        return "".join(f"\\u{unit:04x}" for unit in _utf16(char))
    if style == "php" and char == "/":
        return "\\/"
    if style == "go" and char in "<>&":
        return f"\\u{ord(char):04x}"
    if style == "upper" and (not char.isascii() or (not char.isalnum() and char != " ")):
        if char in '"\\':
            return standard
        return "".join(f"\\u{unit:04X}" for unit in _utf16(char))
    return standard


def _utf16(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def encode(document: Any, style: Escape | None = None) -> bytes:
    """`document` as JSON, its strings escaped in `style` (the same value once decoded)."""
    if isinstance(document, str):
        return ('"' + "".join(_escaped_char(c, style) for c in document) + '"').encode()
    if isinstance(document, dict):
        items = (encode(str(k), style) + b":" + encode(v, style) for k, v in document.items())
        return b"{" + b",".join(items) + b"}"
    if isinstance(document, list | tuple):
        return b"[" + b",".join(encode(item, style) for item in document) + b"]"
    return json.dumps(document).encode()


# The adapter


class QuirkyAdapter(ThreadedServer):
    """A conforming adapter with switchable quirks, served on 127.0.0.1 (port 0) in a thread."""

    def __init__(self, secret: str = DEFAULT_SECRET) -> None:
        super().__init__()
        self.secret = secret
        self.quirks = Quirks()
        self._state = _State()
        self.serve_with(
            uvicorn.Config(
                self, log_level="warning", log_config=None, lifespan="off", access_log=False
            )
        )

    def use(self, quirks: Quirks | None = None, *, secret: str = DEFAULT_SECRET) -> None:
        """Switch to `quirks` (None: none) and `secret`, forgetting tokens, orders, requests."""
        self.quirks = quirks or Quirks()
        self.secret = secret
        self._state = _State()

    # What the run left behind

    @property
    def issued(self) -> list[str]:
        """Every token minted since `use()`, in order."""
        return list(self._state.tokens)

    @property
    def live_tokens(self) -> list[str]:
        """The tokens minted since `use()` that were never logged out."""
        return [minted.token for minted in self._state.tokens.values() if minted.live]

    @property
    def working_orders(self) -> list[str]:
        return [order.id for order in self._state.orders if order.status == "working"]

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request received since `use()`."""
        return list(self._state.requests)

    # ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        request = _Request(scope, bytes(body))
        self._state.requests.append((request.method, request.path))
        if self.quirks.orders_delay and request.method == "GET" and path_is_orders(request.path):
            await asyncio.sleep(self.quirks.orders_delay)
        status, document, headers = self._answer(request)
        origin = request.headers.get("origin")
        if origin == TRADINGVIEW_ORIGIN:
            headers = {**headers, "Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        if document is None:
            content, kind = b"", "text/plain; charset=utf-8"
        else:
            content, kind = encode(document, self.quirks.escape), "application/json"
        listed = [(b"content-type", kind.encode()), (b"content-length", str(len(content)).encode())]
        listed += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": listed})
        await send({"type": "http.response.body", "body": content, "more_body": False})

    def _answer(self, request: _Request) -> tuple[int, Any, dict[str, str]]:
        method, path = request.method, request.path
        if method == "OPTIONS" and "access-control-request-method" in request.headers:
            return self._preflight(request)
        if (method, path) == ("POST", "/generate/token"):
            return (*self._mint(request), {})
        if (method, path) == ("POST", "/logout"):
            return (*self._logout(request), {})
        if method == "GET" and path == "/accounts":
            return (*self._tradingview(request, None, self._accounts), {})
        if method == "GET" and path == "/config":
            return (*self._tradingview(request, None, self._config), {})
        if method == "GET" and path == "/quotes":
            account = request.query.get("accountId")
            return (*self._tradingview(request, account, self._quotes), {})
        found = re.fullmatch(r"/accounts/([^/]+)/([A-Za-z]+)(?:/([^/]+))?", path)
        if found is not None:
            account, endpoint, item = found.groups()
            served = self._account_endpoint(method, endpoint, item)
            if served is not None:
                return (*self._tradingview(request, account, served), {})
        return self.quirks.unknown_status, _error(f"{method} {path} is {UNKNOWN}"), {}

    # Broker endpoints

    def _mint(self, request: _Request) -> tuple[int, Any]:
        quirks = self.quirks
        bearer = request.bearer
        if bearer != self.secret:
            said = f"the broker secret {bearer} is {UNKNOWN}" if quirks.echo_credentials else ""
            return quirks.refusal_status, _error(said or f"Unauthorized ({UNKNOWN})")
        if quirks.lax_empty_body and _json_or_none(request.body) == {}:
            return 200, self._minted(ACCOUNT_IDS, verified=True)
        try:
            parsed = parse_token_request_body(request.body)
        except TokenRequestError as exc:
            said = f" (sent with {bearer})" if quirks.echo_credentials else ""
            return 400, _error(f"{exc} {UNKNOWN}{said}")
        wanted = ACCOUNT_IDS
        if parsed.account_ids is not None:
            wanted = tuple(i for i in map(str, parsed.account_ids) if i in ACCOUNT_IDS)
        return 200, self._minted(wanted, verified=parsed.is_verified)

    def _minted(self, accounts: tuple[str, ...], *, verified: bool) -> dict[str, Any]:
        if self.quirks.short_tokens:
            token = secrets.token_hex(8)
        else:
            tail = base64.b64encode(secrets.token_bytes(30)).decode()
            token = f"{uuid.uuid4().hex}/{tail}+{uuid.uuid4().hex}"
        self._state.tokens[token] = Minted(token, accounts, verified)
        if self.quirks.token_shape == "object":
            return {"s": "ok", "d": {self.quirks.token_key: token}}
        return {"s": "ok", "d": token}

    def _logout(self, request: _Request) -> tuple[int, Any]:
        bearer = request.bearer
        minted = self._state.tokens.get(bearer or "")
        said = f" ({bearer})" if self.quirks.echo_credentials and bearer else ""
        if minted is None:
            return 200, _error(f"The token is {UNKNOWN}{said}.")
        if not minted.live:
            return 200, _error(f"The token has already been logged out{said}.")
        minted.live = False
        return 200, {"s": "ok"}

    # TradingView's API

    def _tradingview(
        self,
        request: _Request,
        account: str | None,
        serve: Serve,
    ) -> tuple[int, Any]:
        minted = self._state.tokens.get(request.bearer or "")
        if minted is None or not minted.live:
            said = f" {request.bearer}" if self.quirks.echo_credentials and request.bearer else ""
            return 401, _error(f"The token{said} is {UNKNOWN}.")
        if account is not None and account not in minted.accounts:
            return 403, _error(f"The token does not name account {account}.")
        return serve(request, minted, account)

    def _accounts(self, _: _Request, minted: Minted, __: str | None) -> tuple[int, Any]:
        accounts = [
            {
                "id": account,
                "name": f"Demo {account}",
                "type": "demo",
                "currency": "USD",
                "config": {"supportExecutions": True, "supportOrdersHistory": True},
                "isVerified": minted.verified,
            }
            for account in minted.accounts
        ]
        return 200, {"s": "ok", "d": accounts}

    def _config(self, *_: Any) -> tuple[int, Any]:
        config: dict[str, Any] = {"durations": [{"id": "GTC", "title": "Good till cancelled"}]}
        if self.quirks.pulling_interval is not None:
            config["pullingInterval"] = dict(self.quirks.pulling_interval)
        return 200, {"s": "ok", "d": config}

    def _quotes(self, request: _Request, *_: Any) -> tuple[int, Any]:
        asked = [name for name in request.query.get("symbols", "").split(",") if name]
        prices = {name: price for name, _, price in INSTRUMENTS}
        quirk = self.quirks.quotes
        if quirk == "empty":
            return 200, {"s": "ok", "d": []}
        quotes: list[dict[str, Any]] = []
        for index, name in enumerate(asked):
            if name not in prices or (quirk == "one-error" and index == 1):
                quotes.append({"s": "error", "n": name, "errmsg": f"{name} is {UNKNOWN}"})
            elif quirk == "no-v":
                quotes.append({"s": "ok", "n": name})
            else:
                bid = prices[name]
                quotes.append({"s": "ok", "n": name, "v": {"bid": bid, "ask": bid + 0.0002}})
        return 200, {"s": "ok", "d": quotes}

    def _account_endpoint(self, method: str, endpoint: str, item: str | None) -> Serve | None:
        if method == "GET" and item is None:
            return {
                "instruments": self._instruments,
                "state": self._account_state,
                "orders": self._orders,
                "positions": _empty_list,
                "executions": _empty_list,
                "ordersHistory": self._orders_history,
            }.get(endpoint)
        if (method, endpoint, item) == ("POST", "orders", None):
            return self._place
        if (method, endpoint) == ("DELETE", "orders") and item is not None:
            return self._cancel
        return None

    def _instruments(self, *_: Any) -> tuple[int, Any]:
        listed = [
            {
                "name": name,
                "description": description,
                "type": "forex",
                "minTick": 0.001 if name.endswith("JPY") else 0.00001,
                "pipSize": 0.01 if name.endswith("JPY") else 0.0001,
                "pipValue": 1,
                "minQty": 1000,
                "qtyStep": 1000,
            }
            for name, description, _ in INSTRUMENTS
        ]
        return 200, {"s": "ok", "d": listed}

    def _account_state(self, *_: Any) -> tuple[int, Any]:
        return 200, {"s": "ok", "d": {"balance": 10000.0, "unrealizedPl": 0.0, "equity": 10000.0}}

    def _orders(self, _: _Request, __: Minted, account: str | None) -> tuple[int, Any]:
        mine = [order for order in self._state.orders if order.account == account]
        if self.quirks.orders_fail_after_placing and mine:
            return 500, _error(f"The order book is {UNKNOWN} right now.")
        return 200, {"s": "ok", "d": [_order_json(order) for order in mine]}

    def _orders_history(self, _: _Request, __: Minted, account: str | None) -> tuple[int, Any]:
        final = [
            _order_json(order)
            for order in self._state.orders
            if order.account == account and order.status == "cancelled"
        ]
        return 200, {"s": "ok", "d": final}

    def _place(self, request: _Request, _: Minted, account: str | None) -> tuple[int, Any]:
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        try:
            order = Order(
                id=f"order-{next(self._state.numbers)}",
                account=str(account),
                instrument=form["instrument"],
                qty=float(form["qty"]),
                side=form["side"],
                limit_price=float(form["limitPrice"]),
            )
        except (KeyError, ValueError):
            return 400, _error(f"The order is {UNKNOWN}.")
        if form.get("type") != "limit" or order.side not in ("buy", "sell"):
            return 400, _error(f"Only limit orders are accepted, not {UNKNOWN} ones.")
        self._state.orders.append(order)
        return 200, {"s": "ok", "d": {"orderId": order.id}}

    def _cancel(self, request: _Request, _: Minted, account: str | None) -> tuple[int, Any]:
        order_id = request.path.rsplit("/", 1)[1]
        for order in self._state.orders:
            if order.id == order_id and order.account == account and order.status == "working":
                order.status = "cancelled"
                return 200, {"s": "ok"}
        return 400, _error(f"Order {order_id} is {UNKNOWN}.")

    # CORS

    def _preflight(self, request: _Request) -> tuple[int, Any, dict[str, str]]:
        if request.headers.get("origin") != TRADINGVIEW_ORIGIN:
            return 400, None, {}
        headers = {
            "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE",
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
        }
        if self.quirks.max_age is not None:
            headers["Access-Control-Max-Age"] = self.quirks.max_age
        return 200, None, headers


def path_is_orders(path: str) -> bool:
    return re.fullmatch(r"/accounts/[^/]+/orders", path) is not None


def _empty_list(*_: Any) -> tuple[int, Any]:
    return 200, {"s": "ok", "d": []}


def _error(message: str) -> dict[str, Any]:
    return {"s": "error", "errmsg": message}


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _order_json(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "instrument": order.instrument,
        "qty": order.qty,
        "side": order.side,
        "type": "limit",
        "status": order.status,
        "limitPrice": order.limit_price,
        "duration": {"type": "GTC"},
    }
