"""The admin API (ours): sessions, operator logout, token introspection, a live event stream.

Protected by the broker secret, like /generate/token: whoever may mint tokens may see and end
them. Answers use the same envelope; a bad parameter is HTTP 400 naming the parameter.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from adapter_core import __version__
from adapter_core.admin.sessions_view import SessionsView, TokenState, token_row
from adapter_core.api.envelope import error, ok
from adapter_core.api.requests import (
    BodyTooLarge,
    CredentialError,
    bearer_credential,
    read_body,
    whole_number,
)
from adapter_core.backend.port import TradingBackend
from adapter_core.revocation import RevokeOutcome
from adapter_core.services import AdapterServices
from adapter_core.sessions import SessionRegistry
from adapter_core.store.base import StoreUnavailable, TokenQuery, TokenSort
from adapter_core.tokens.codec import InvalidToken
from adapter_core.tradingview import mapping
from adapter_core.tradingview.market import MarketBoard

MAX_PAGE = 500
DEFAULT_PAGE = 50
HEARTBEAT_SECONDS = 15.0
_SORTS = {sort.value: sort for sort in TokenSort}
LAST_ACTIVITY = "lastActivity"


class AdminRefusal(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class AdminApi:
    services: AdapterServices
    backend: TradingBackend
    sessions: SessionRegistry
    market: MarketBoard
    view: SessionsView
    capabilities: tuple[str, ...]

    def authorize(self, request: Request) -> None:
        try:
            secret = bearer_credential(request)
        except CredentialError as exc:
            raise AdminRefusal(str(exc), 401) from None
        if not self.services.broker_secrets.accepts(secret):
            raise AdminRefusal("The broker secret is not accepted.", 401)


def _int_param(request: Request, name: str, default: int | None, upper: int) -> int | None:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    value = whole_number(text, upper)
    if value is None:
        raise AdminRefusal(f"{name} must be a whole number from 0 to {upper}.", 400)
    return value


def _token_id(text: str) -> bytes:
    try:
        token_id = bytes.fromhex(text)
    except ValueError:
        token_id = b""
    if len(token_id) != 16:
        raise AdminRefusal("A token id is 32 hexadecimal digits.", 404)
    return token_id


def _token_ids(text: str) -> frozenset[bytes] | None:
    """`tokenIds=a,b,c`: at most MAX_PAGE full ids, so a live view can refresh what changed."""
    if not text:
        return None
    parts = text.split(",")
    if len(parts) > MAX_PAGE:
        raise AdminRefusal(f"tokenIds may list at most {MAX_PAGE} token ids.", 400)
    try:
        ids = frozenset(bytes.fromhex(part) for part in parts)
    except ValueError:
        ids = frozenset()
    if not ids or any(len(token_id) != 16 for token_id in ids):
        raise AdminRefusal(
            "tokenIds must be token ids (32 hexadecimal digits), comma-separated.", 400
        )
    return ids


def _query(request: Request, now: float) -> tuple[TokenQuery, TokenState | None, bool]:
    params = request.query_params
    state_text = params.get("state") or None
    states = {state.value: state for state in TokenState}
    if state_text is not None and state_text not in states:
        raise AdminRefusal(f"state must be one of {', '.join(states)}.", 400)
    sort_text = params.get("sort") or TokenSort.ISSUED_AT.value
    if sort_text not in _SORTS and sort_text != LAST_ACTIVITY:
        raise AdminRefusal(f"sort must be one of {', '.join([*_SORTS, LAST_ACTIVITY])}.", 400)
    order = params.get("order") or "desc"
    if order not in ("asc", "desc"):
        raise AdminRefusal("order must be asc or desc.", 400)
    prefix = (params.get("tokenIdPrefix") or "").lower()
    if len(prefix) > 32 or any(char not in "0123456789abcdef" for char in prefix):
        raise AdminRefusal("tokenIdPrefix must be up to 32 hexadecimal digits.", 400)
    only = _token_ids(params.get("tokenIds") or "")
    broker = params.get("broker") or None
    if broker is not None and len(broker) > 64:
        raise AdminRefusal("broker must be at most 64 characters.", 400)
    query = TokenQuery(
        now=int(now),
        user_id=_int_param(request, "userId", None, 2**63 - 1),
        broker=broker,
        account_id=_int_param(request, "account", None, 2**63 - 1),
        token_id_prefix=prefix,
        only_token_ids=only,
        sort=_SORTS.get(sort_text, TokenSort.ISSUED_AT),
        descending=order == "desc",
        offset=_int_param(request, "offset", 0, 10**9) or 0,
        limit=_int_param(request, "limit", DEFAULT_PAGE, MAX_PAGE) or 0,
    )
    return query, None if state_text is None else states[state_text], sort_text == LAST_ACTIVITY


def _sse(kind: str, data: Any, sequence: int | None = None) -> bytes:
    head = f"id: {sequence}\n" if sequence is not None else ""
    return f"{head}event: {kind}\ndata: ".encode() + orjson.dumps(data) + b"\n\n"


def admin_routes(api: AdminApi) -> list[Route]:
    services = api.services

    async def info(request: Request) -> Response:
        now = services.clock()
        sessions = api.sessions.all_sessions()
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
            }
        )

    async def list_sessions(request: Request) -> Response:
        query, state, by_activity = _query(request, services.clock())
        listing = await api.view.list(query, state, by_activity)
        return ok(
            {
                "total": listing.total,
                "offset": query.offset,
                "limit": query.limit,
                "rows": listing.rows,
            }
        )

    async def session_detail(request: Request) -> Response:
        token_id = _token_id(request.path_params["token_id"])
        record = await services.store.issued_token(token_id)
        if record is None:
            raise AdminRefusal("No token with this id was issued here.", 404)
        row = api.view.row(record, services.clock())
        symbols = api.market.symbols_by_id
        for summary, session in zip(
            row["traderSessions"], api.sessions.sessions_of(token_id), strict=True
        ):
            summary["positions"] = [
                mapping.position_json(
                    p,
                    symbols[p.symbol_id],
                    mapping.money(api.backend.position_pnl(p, session.account), p.money_digits),
                )
                for p in session.positions.values()
            ]
            summary["orders"] = [
                mapping.order_json(o, symbols[o.symbol_id]) for o in session.orders.values()
            ]
            summary["deals"] = [
                mapping.execution_json(d, symbols[d.symbol_id], str(d.order_id))
                for d in session.deals.values()
            ]
        return ok(row)

    async def logout(request: Request) -> Response:
        token_id = _token_id(request.path_params["token_id"])
        record = await services.store.issued_token(token_id)
        if record is None:
            raise AdminRefusal("No token with this id was issued here.", 404)
        if services.revocations.is_revoked(token_id):
            raise AdminRefusal("The token has already been revoked.", 409)
        closing = len(api.sessions.sessions_of(token_id))
        outcome = await services.revocations.revoke(record.claims)
        if outcome is RevokeOutcome.ALREADY_REVOKED:
            raise AdminRefusal("The token has already been revoked.", 409)
        return ok({"tokenId": token_id.hex(), "state": "revoked", "sessionsClosed": closing})

    async def introspect(request: Request) -> Response:
        try:
            document = orjson.loads(await read_body(request, 16 * 1024))
        except BodyTooLarge as exc:
            raise AdminRefusal(str(exc), 413) from None
        except orjson.JSONDecodeError:
            raise AdminRefusal("The request body is not valid JSON.", 400) from None
        token = document.get("token") if isinstance(document, dict) else None
        if not isinstance(token, str) or not token:
            raise AdminRefusal("token must be a non-empty string.", 400)
        try:
            claims = services.codec.open_uncached(token)
        except InvalidToken:
            return ok({"valid": False, "reason": "The token does not open with any key here."})
        record = await services.store.issued_token(claims.token_id)
        row = token_row(
            claims,
            None if record is None else record.key_id,
            None if record is None else record.revoked_at,
            api.sessions.sessions_of(claims.token_id),
            services.clock(),
            revoked=services.revocations.is_revoked(claims.token_id),
        )
        return ok({"valid": row["state"] not in ("revoked", "expired"), "token": row})

    async def events(request: Request) -> Response:
        subscription = services.events.subscribe()

        async def stream() -> AsyncIterator[bytes]:
            try:
                yield _sse("hello", {"version": __version__, "capabilities": api.capabilities})
                while True:
                    try:
                        event = await asyncio.wait_for(subscription.next(), HEARTBEAT_SECONDS)
                    except TimeoutError:
                        yield b": heartbeat\n\n"
                        continue
                    if event is None:
                        return
                    yield _sse(event.kind, event.data, event.sequence)
            finally:
                subscription.close()

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    def guarded(
        handler: Callable[[Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                api.authorize(request)
                return await handler(request)
            except AdminRefusal as exc:
                return error(str(exc), exc.status)
            except StoreUnavailable:
                return error("The token store cannot be read right now. Try again.", 503)

        return endpoint

    return [
        Route("/admin/info", guarded(info), methods=["GET"]),
        Route("/admin/sessions", guarded(list_sessions), methods=["GET"]),
        Route("/admin/sessions/{token_id}", guarded(session_detail), methods=["GET"]),
        Route("/admin/sessions/{token_id}/logout", guarded(logout), methods=["POST"]),
        Route("/admin/tokens/introspect", guarded(introspect), methods=["POST"]),
        Route("/admin/events", guarded(events), methods=["GET"]),
    ]
