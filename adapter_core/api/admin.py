"""The admin API (ours): sessions, operator logout, token introspection, a live event stream.

Protected by the broker secret, like /generate/token: whoever may mint tokens may see and end
them. Answers use the same envelope; a bad parameter is HTTP 400 naming the parameter, and a
token store that cannot answer is 503. Where instances share a store, the listings and the
detail show every instance's trader sessions, and /admin/info says how the store is doing
(its counts stay this instance's, so it answers even while the store does not).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from adapter_core import __version__
from adapter_core.admin.search import MAX_QUERY_LENGTH, SearchQuery, SearchQueryError
from adapter_core.admin.sessions_view import SessionsView, TokenState, token_row
from adapter_core.admin.shared_store import store_info
from adapter_core.api.broker import ALREADY_REVOKED
from adapter_core.api.envelope import ok
from adapter_core.api.requests import read_body, require_broker_secret, whole_number
from adapter_core.backend.port import TradingBackend
from adapter_core.events import TooManySubscribers, sse_frame
from adapter_core.refusals import BadRequest, Conflict, NotFound, Unavailable
from adapter_core.revocation import RevokeOutcome
from adapter_core.services import AdapterServices
from adapter_core.sessions import SessionRegistry
from adapter_core.store.base import StoreFull, StoreUnavailable, TokenQuery, TokenRecord, TokenSort
from adapter_core.tokens.claims import MAX_BROKER_NAME_LENGTH, MAX_INT64
from adapter_core.tokens.codec import InvalidToken
from adapter_core.tradingview import mapping
from adapter_core.tradingview.market import MarketBoard

MAX_PAGE = 500
DEFAULT_PAGE = 50
HEARTBEAT_SECONDS = 15.0
_SORTS = {sort.value: sort for sort in TokenSort}
LAST_ACTIVITY = "lastActivity"
SORTS = (*_SORTS, LAST_ACTIVITY)
"""Every `sort=` value: the store's sort keys, and last activity, which lives in memory."""
ORDERS = ("asc", "desc")
NOT_ISSUED = "No token with this id was issued here."
STORE_UNAVAILABLE = "The token store cannot be read right now. Try again."
STORE_FULL = (
    "The token store is full and refuses writes, so nothing was changed. It takes them again "
    "once its operator frees room."
)
T = TypeVar("T")


async def _from_store(reading: Awaitable[T]) -> T:
    """A store that cannot answer is 503 for the operator, not an internal error."""
    try:
        return await reading
    except StoreFull:
        raise Unavailable(STORE_FULL) from None
    except StoreUnavailable:
        raise Unavailable(STORE_UNAVAILABLE) from None


@dataclass
class AdminApi:
    services: AdapterServices
    backend: TradingBackend
    sessions: SessionRegistry
    market: MarketBoard
    view: SessionsView
    capabilities: tuple[str, ...]

    def authorize(self, request: Request) -> None:
        """First thing in every admin handler: only the broker secret opens the admin API."""
        require_broker_secret(request, self.services.broker_secrets)

    async def issued(self, token_id: bytes) -> TokenRecord:
        record = await _from_store(self.services.store.issued_token(token_id))
        if record is None:
            raise NotFound(NOT_ISSUED)
        return record


def _int_param(request: Request, name: str, default: int | None, upper: int) -> int | None:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    value = whole_number(text, upper)
    if value is None:
        raise BadRequest(f"{name} must be a whole number from 0 to {upper}.")
    return value


def _token_id(text: str) -> bytes:
    try:
        token_id = bytes.fromhex(text)
    except ValueError:
        token_id = b""
    if len(token_id) != 16:
        raise NotFound("A token id is 32 hexadecimal digits.")
    return token_id


def _token_ids(text: str) -> frozenset[bytes] | None:
    """`tokenIds=a,b,c`: at most MAX_PAGE full ids, so a live view can refresh what changed."""
    if not text:
        return None
    parts = text.split(",")
    if len(parts) > MAX_PAGE:
        raise BadRequest(f"tokenIds may list at most {MAX_PAGE} token ids.")
    try:
        ids = frozenset(bytes.fromhex(part) for part in parts)
    except ValueError:
        ids = frozenset()
    if not ids or any(len(token_id) != 16 for token_id in ids):
        raise BadRequest("tokenIds must be token ids (32 hexadecimal digits), comma-separated.")
    return ids


def _query(request: Request, now: float) -> tuple[TokenQuery, TokenState | None, bool]:
    params = request.query_params
    state_text = params.get("state") or None
    states = {state.value: state for state in TokenState}
    if state_text is not None and state_text not in states:
        raise BadRequest(f"state must be one of {', '.join(states)}.")
    sort_text = params.get("sort") or TokenSort.ISSUED_AT.value
    if sort_text not in SORTS:
        raise BadRequest(f"sort must be one of {', '.join(SORTS)}.")
    order = params.get("order") or "desc"
    if order not in ORDERS:
        raise BadRequest(f"order must be {' or '.join(ORDERS)}.")
    prefix = (params.get("tokenIdPrefix") or "").lower()
    if len(prefix) > 32 or any(char not in "0123456789abcdef" for char in prefix):
        raise BadRequest("tokenIdPrefix must be up to 32 hexadecimal digits.")
    only = _token_ids(params.get("tokenIds") or "")
    broker = params.get("broker") or None
    if broker is not None and len(broker) > MAX_BROKER_NAME_LENGTH:
        raise BadRequest(f"broker must be at most {MAX_BROKER_NAME_LENGTH} characters.")
    try:
        search = SearchQuery.parse(params.get("q") or "")
    except SearchQueryError:
        raise BadRequest(
            f"q must be at most {MAX_QUERY_LENGTH} characters once surrounding spaces are removed."
        ) from None
    query = TokenQuery(
        now=int(now),
        user_id=_int_param(request, "userId", None, MAX_INT64),
        broker=broker,
        account_id=_int_param(request, "account", None, MAX_INT64),
        token_id_prefix=prefix,
        search=search if search.text else None,
        only_token_ids=only,
        sort=_SORTS.get(sort_text, TokenSort.ISSUED_AT),
        descending=order == "desc",
        offset=_int_param(request, "offset", 0, 10**9) or 0,
        limit=_int_param(request, "limit", DEFAULT_PAGE, MAX_PAGE) or 0,
    )
    return query, None if state_text is None else states[state_text], sort_text == LAST_ACTIVITY


def _last_event_id(request: Request) -> int | None:
    """The sequence a reconnecting client saw last; anything unreadable means none."""
    text = request.headers.get("last-event-id", "")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None


def admin_routes(api: AdminApi) -> list[Route]:
    services = api.services

    async def info(request: Request) -> Response:
        now = services.clock()
        sessions = api.sessions.all_sessions()
        api.authorize(request)
        return ok(
            {
                "version": __version__,
                "capabilities": list(api.capabilities),
                "startedAt": services.started_at,
                "uptimeSeconds": round(now - services.started_at, 3),
                "counts": {
                    "revokedTokens": len(services.revocations),
                    "traderSessions": len(sessions),
                    "tokensWithSessions": len(api.sessions.token_ids()),
                    "eventSubscribers": services.events.subscriber_count,
                },
                "store": await store_info(services.cluster),
            }
        )

    async def list_sessions(request: Request) -> Response:
        api.authorize(request)
        query, state, by_activity = _query(request, services.clock())
        listing = await _from_store(api.view.list(query, state, by_activity))
        return ok(
            {
                "total": listing.total,
                "offset": query.offset,
                "limit": query.limit,
                "rows": listing.rows,
            }
        )

    async def session_detail(request: Request) -> Response:
        api.authorize(request)
        token_id = _token_id(request.path_params["token_id"])
        record = await api.issued(token_id)
        directory = await _from_store(api.view.directory())
        row = api.view.row(record, services.clock(), directory)
        symbols = api.market.symbols_by_id
        live = directory.local_sessions_of(token_id)  # listed first; the others' caches are theirs
        for summary, session in zip(row["traderSessions"][: len(live)], live, strict=True):
            summary["positions"] = [
                mapping.position_json(
                    p,
                    symbols[p.symbol_id],
                    mapping.money(api.backend.position_pnl(p, session.account), p.money_digits),
                )
                for p in session.book.positions.values()
            ]
            summary["orders"] = [
                mapping.order_json(o, symbols[o.symbol_id]) for o in session.book.orders.values()
            ]
            summary["deals"] = [
                mapping.execution_json(d, symbols[d.symbol_id], str(d.order_id))
                for d in session.book.deals.values()
            ]
        return ok(row)

    async def logout(request: Request) -> Response:
        api.authorize(request)
        token_id = _token_id(request.path_params["token_id"])
        record = await api.issued(token_id)
        if services.revocations.is_revoked(token_id):
            raise Conflict(ALREADY_REVOKED)
        directory = await _from_store(api.view.directory())
        closing = len(directory.sessions_of(token_id))  # on every instance
        outcome = await _from_store(services.revocations.revoke(record.claims))
        if outcome is RevokeOutcome.ALREADY_REVOKED:
            raise Conflict(ALREADY_REVOKED)
        return ok({"tokenId": token_id.hex(), "state": "revoked", "sessionsClosed": closing})

    async def introspect(request: Request) -> Response:
        api.authorize(request)
        body = await read_body(request, 16 * 1024)
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise BadRequest("The request body is not valid JSON.") from None
        token = document.get("token") if isinstance(document, dict) else None
        if not isinstance(token, str) or not token:
            raise BadRequest("token must be a non-empty string.")
        try:
            claims = services.codec.open_uncached(token)
        except InvalidToken:
            return ok({"valid": False, "reason": "The token does not open with any key here."})
        record = await _from_store(services.store.issued_token(claims.token_id))
        directory = await _from_store(api.view.directory())
        row = token_row(
            claims,
            None if record is None else record.key_id,
            None if record is None else record.revoked_at,
            directory.sessions_of(claims.token_id),
            services.clock(),
            revoked=services.revocations.is_revoked(claims.token_id),
            closed=directory.closed_sessions_of(claims.token_id),
            instance=directory.instance,
        )
        valid = row["state"] not in (TokenState.REVOKED, TokenState.EXPIRED)
        return ok({"valid": valid, "token": row})

    async def events(request: Request) -> Response:
        api.authorize(request)
        try:
            subscription, resumed = services.events.subscribe(_last_event_id(request))
        except TooManySubscribers as exc:
            raise Unavailable(f"{exc}; close one and try again.") from None
        hello = {"version": __version__, "capabilities": api.capabilities, "resumed": resumed}

        async def stream() -> AsyncIterator[bytes]:
            try:
                yield sse_frame("hello", hello)
                while True:
                    try:
                        async with asyncio.timeout(HEARTBEAT_SECONDS):
                            frames = await subscription.take()
                    except TimeoutError:
                        yield b": heartbeat\n\n"
                        continue
                    if frames is None:
                        return
                    yield frames
            finally:
                subscription.close()

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return [
        Route("/admin/info", info, methods=["GET"]),
        Route("/admin/sessions", list_sessions, methods=["GET"]),
        Route("/admin/sessions/{token_id}", session_detail, methods=["GET"]),
        Route("/admin/sessions/{token_id}/logout", logout, methods=["POST"]),
        Route("/admin/tokens/introspect", introspect, methods=["POST"]),
        Route("/admin/events", events, methods=["GET"]),
    ]
