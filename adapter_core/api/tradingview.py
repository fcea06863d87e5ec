"""TradingView's Broker REST API: config, accounts, trading data and trading actions.

Every endpoint authenticates the bearer token (missing, malformed, expired or revoked → 401)
and answers business errors as HTTP 200 with `s:error`, as TradingView expects: a plain
`Refusal`, which the backend's and the form reader's errors also are. Reads come from the
token's trader session cache; only actions reach the backend.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapter_core.api.envelope import ok
from adapter_core.api.requests import bearer_credential, read_body, whole_number
from adapter_core.backend.model import (
    NewOrder,
    OrderStatus,
    OrderType,
    PositionStatus,
    Spot,
    Symbol,
    TraderAccount,
    TradeSide,
)
from adapter_core.backend.port import TradingBackend
from adapter_core.refusals import Refusal, Unauthorized, Unavailable
from adapter_core.services import AdapterServices
from adapter_core.sessions import SessionRegistry, TraderSession
from adapter_core.store.base import StoreUnavailable
from adapter_core.tokens.claims import TokenClaims
from adapter_core.tokens.codec import InvalidToken, TokenFault
from adapter_core.tradingview import forms, mapping
from adapter_core.tradingview.brackets import Bracket
from adapter_core.tradingview.forms import MAX_FORM_BYTES, Form
from adapter_core.tradingview.market import MarketBoard

UNAUTHORIZED = {
    TokenFault.MALFORMED: "The token is not valid. Log in again.",
    TokenFault.EXPIRED: "The token has expired. Log in again.",
}
REVOKED = "The token has been logged out. Log in again."
SHARED_STORE_DOWN = (
    "The adapter cannot check tokens right now (its shared store is unreachable). Try again."
)
FOREIGN_ACCOUNT = "This account is not available to your login."
CONFIG: dict[str, Any] = {
    "durations": [{"id": "GTC", "title": "Good till cancelled", "default": True}],
    "pullingInterval": {"quotes": 500, "orders": 500, "positions": 1000, "accountManager": 500},
}

DURATION_IDS = {str(duration["id"]): duration for duration in CONFIG["durations"]}
"""The order durations `/config` offers; an order naming another is refused, not ignored."""
_LIMIT_TYPES = (OrderType.LIMIT, OrderType.STOP_LIMIT)
_STOP_TYPES = (OrderType.STOP, OrderType.STOP_LIMIT)


@dataclass
class TradingViewApi:
    services: AdapterServices
    backend: TradingBackend
    sessions: SessionRegistry
    market: MarketBoard

    async def claims(self, request: Request) -> TokenClaims:
        try:
            claims = self.services.codec.open(bearer_credential(request))
        except InvalidToken as exc:
            raise Unauthorized(UNAUTHORIZED[exc.fault]) from None
        revocations = self.services.revocations
        if revocations.is_revoked(claims.token_id):
            raise Unauthorized(REVOKED)
        if revocations.shared is not None:
            try:
                revoked = await revocations.check(claims.token_id)
            except StoreUnavailable:
                raise Unavailable(SHARED_STORE_DOWN) from None
            if revoked:
                raise Unauthorized(REVOKED)
        return claims

    async def visible_accounts(self, claims: TokenClaims) -> list[TraderAccount]:
        """The user's linked accounts under the token's brokers (and listed ids, if any)."""
        brokers = set(claims.broker_names)
        listed = None if claims.account_ids is None else set(claims.account_ids)
        return [
            account
            for account in await self.backend.accounts_of(claims.user_id)
            if account.broker_name in brokers
            and (listed is None or account.ctid_trader_account_id in listed)
        ]

    async def session(self, request: Request, account_text: str) -> TraderSession:
        claims = await self.claims(request)
        account_id = whole_number(account_text)
        if account_id is None:
            raise Refusal(FOREIGN_ACCOUNT)
        known = self.sessions.session(claims.token_id, account_id)
        account = None if known is None else known.account
        if account is None:
            visible = {a.ctid_trader_account_id: a for a in await self.visible_accounts(claims)}
            account = visible.get(account_id)
            if account is None:
                raise Refusal(FOREIGN_ACCOUNT)
        client = request.client.host if request.client else ""
        agent = request.headers.get("user-agent", "")[:256]
        return await self.sessions.session_for(claims, account, client, agent)

    def symbol(self, name: str) -> Symbol:
        symbol = self.market.symbols_by_name.get(name)
        if symbol is None:
            raise Refusal(f"The instrument {name[:32]} is not traded here.")
        return symbol


async def _form(request: Request) -> Form:
    return Form.parse(await read_body(request, MAX_FORM_BYTES))


def tradingview_routes(api: TradingViewApi) -> list[Route]:
    market = api.market
    shown_order = mapping.ShownOrders()

    async def config(request: Request) -> Response:
        await api.claims(request)
        return ok(CONFIG)

    async def accounts(request: Request) -> Response:
        claims = await api.claims(request)
        found = await api.visible_accounts(claims)
        if not found:
            raise Refusal("No trading account is linked to this login for these brokers.")
        return ok([mapping.account_json(account, claims.is_verified) for account in found])

    async def instruments(request: Request) -> Response:
        session = await api.session(request, request.path_params["account_id"])
        return ok(
            [
                mapping.instrument_json(symbol, api.backend.pip_value(symbol, session.account))
                for symbol in market.symbols_by_id.values()
            ]
        )

    async def state(request: Request) -> Response:
        session = await api.session(request, request.path_params["account_id"])
        digits = session.book.balance.money_digits
        unrealized = sum(
            api.backend.position_pnl(position, session.account)
            for position in session.book.positions.values()
            if position.status is PositionStatus.OPEN
        )
        balance = session.book.balance.balance
        return ok(
            {
                "balance": mapping.money(balance, digits),
                "unrealizedPl": mapping.money(unrealized, digits),
                "equity": mapping.money(balance + unrealized, digits),
            }
        )

    async def orders(request: Request) -> Response:
        session = await api.session(request, request.path_params["account_id"])
        shown = [
            shown_order(order, market.symbols_by_id[order.symbol_id])
            for order in session.book.orders.values()
            if order.order_type is not OrderType.STOP_LOSS_TAKE_PROFIT
        ]
        shown += [
            mapping.bracket_json(bracket, market.symbols_by_id[bracket.symbol_id])
            for bracket in session.book.brackets.brackets.values()
        ]
        return ok(shown)

    async def orders_history(request: Request) -> Response:
        session = await api.session(request, request.path_params["account_id"])
        shown = [
            shown_order(order, market.symbols_by_id[order.symbol_id])
            for order in session.book.order_history.values()
            if order.order_type is not OrderType.STOP_LOSS_TAKE_PROFIT
        ]
        shown += [
            mapping.bracket_json(bracket, market.symbols_by_id[bracket.symbol_id])
            for bracket in session.book.brackets.final()
        ]
        return ok(shown[-_max_count(request) :])

    async def positions(request: Request) -> Response:
        session = await api.session(request, request.path_params["account_id"])
        shown = []
        for position in session.book.positions.values():
            symbol = market.symbols_by_id[position.symbol_id]
            is_open = position.status is PositionStatus.OPEN
            pnl = api.backend.position_pnl(position, session.account) if is_open else 0
            shown.append(
                mapping.position_json(position, symbol, mapping.money(pnl, position.money_digits))
            )
        return ok(shown)

    async def executions(request: Request) -> Response:
        session = await api.session(request, request.path_params["account_id"])
        instrument = request.query_params.get("instrument")
        if not instrument:
            raise Refusal("The instrument parameter is required.")
        symbol = api.symbol(instrument)
        deals = [d for d in session.book.deals.values() if d.symbol_id == symbol.symbol_id]
        fired = session.book.brackets.fired_orders
        return ok(
            [
                mapping.execution_json(d, symbol, fired.get(d.order_id, str(d.order_id)))
                for d in deals[-_max_count(request) :]
            ]
        )

    async def place_order(request: Request) -> Response:
        session = await api.session(request, request.path_params["account_id"])
        form = await _form(request)
        request_id = forms.request_id(request.query_params.get("requestId"))
        if request_id and request_id in session.request_ids:
            return ok({"orderId": str(session.request_ids[request_id])})
        symbol = api.symbol(form.text("instrument"))
        if "durationType" in form:
            form.choice("durationType", DURATION_IDS)
        kind = form.choice("type", mapping.ORDER_TYPE_BY_NAME)
        new_order = NewOrder(
            symbol_id=symbol.symbol_id,
            side=form.choice("side", mapping.SIDE_BY_NAME),
            volume=mapping.volume_of(form.number("qty"), symbol),
            order_type=kind,
            limit_price=form.number("limitPrice") if kind in _LIMIT_TYPES else None,
            stop_price=form.number("stopPrice") if kind in _STOP_TYPES else None,
            stop_loss=form.optional_number("stopLoss"),
            take_profit=form.optional_number("takeProfit"),
            client_order_id=request_id,
        )
        _check_stop_side(new_order, market.spots.get(symbol.symbol_id), symbol)
        placed = await api.backend.place_order(session.account.ctid_trader_account_id, new_order)
        if placed.status is OrderStatus.REJECTED:
            raise Refusal(placed.reject_reason or "The order was rejected.")
        if request_id:
            session.remember_request(request_id, placed.order_id)
        return ok({"orderId": str(placed.order_id)})

    async def move_bracket(session: TraderSession, bracket: Bracket, level: float | None) -> None:
        """Set (or with None remove) one bracket's level on the order or position it hangs on."""
        account_id = session.account.ctid_trader_account_id
        if bracket.parent_type == "position":
            position = session.book.positions[bracket.parent_id]
            sl, tp = position.stop_loss, position.take_profit
        else:
            order = session.book.orders[bracket.parent_id]
            sl, tp = order.stop_loss, order.take_profit
        sl, tp = (level, tp) if bracket.is_stop_loss else (sl, level)
        if bracket.parent_type == "position":
            await api.backend.amend_position_protection(
                account_id, bracket.parent_id, stop_loss=sl, take_profit=tp
            )
            return
        await api.backend.amend_order(
            account_id,
            order.order_id,
            volume=order.volume,
            limit_price=order.limit_price,
            stop_price=order.stop_price,
            stop_loss=sl,
            take_profit=tp,
        )

    def live_bracket(session: TraderSession, bracket_id: str) -> Bracket | None:
        bracket = session.book.brackets.brackets.get(bracket_id)
        if bracket is None:
            return None
        if bracket.ended_at is not None:
            raise Refusal("This stop loss or take profit is no longer working.")
        return bracket

    async def modify_order(request: Request) -> Response:
        session = await api.session(request, request.path_params["account_id"])
        form = await _form(request)
        account_id = session.account.ctid_trader_account_id
        bracket = live_bracket(session, request.path_params["order_id"])
        if bracket is not None:
            field = "stopPrice" if bracket.is_stop_loss else "limitPrice"
            await move_bracket(session, bracket, form.number(field))
            return ok()
        order_id = _order_id(request.path_params["order_id"])
        order = session.book.orders.get(order_id)
        if order is None or order.status is not OrderStatus.ACCEPTED:
            raise Refusal("The order is no longer working and cannot be modified.")
        symbol = market.symbols_by_id[order.symbol_id]
        await api.backend.amend_order(
            account_id,
            order_id,
            volume=mapping.volume_of(form.number("qty"), symbol),
            limit_price=form.optional_number("limitPrice") or order.limit_price,
            stop_price=form.optional_number("stopPrice") or order.stop_price,
            stop_loss=form.optional_number("stopLoss"),
            take_profit=form.optional_number("takeProfit"),
        )
        return ok()

    async def cancel_order(request: Request) -> Response:
        session = await api.session(request, request.path_params["account_id"])
        bracket = live_bracket(session, request.path_params["order_id"])
        if bracket is not None:
            await move_bracket(session, bracket, None)
            return ok()
        order_id = _order_id(request.path_params["order_id"])
        await api.backend.cancel_order(session.account.ctid_trader_account_id, order_id)
        return ok()

    async def modify_position(request: Request) -> Response:
        session = await api.session(request, request.path_params["account_id"])
        form = await _form(request)
        position_id = _order_id(request.path_params["position_id"])
        await api.backend.amend_position_protection(
            session.account.ctid_trader_account_id,
            position_id,
            stop_loss=form.optional_number("stopLoss"),
            take_profit=form.optional_number("takeProfit"),
        )
        return ok()

    async def close_position(request: Request) -> Response:
        session = await api.session(request, request.path_params["account_id"])
        form = await _form(request)
        position_id = _order_id(request.path_params["position_id"])
        position = session.book.positions.get(position_id)
        if position is None:
            raise Refusal("There is no such position.")
        if position.status is not PositionStatus.OPEN:
            raise Refusal("The position is already closed.")
        symbol = market.symbols_by_id[position.symbol_id]
        amount = form.optional_number("amount")
        volume = position.volume if amount is None else mapping.volume_of(amount, symbol)
        await api.backend.close_position(
            session.account.ctid_trader_account_id, position_id, volume
        )
        return ok()

    async def quotes(request: Request) -> Response:
        await api.claims(request)
        names = [n for n in request.query_params.get("symbols", "").split(",") if n]
        if not names:
            raise Refusal("The symbols parameter is required.")
        answers: list[dict[str, Any]] = []
        for name in names[:200]:
            symbol = market.symbols_by_name.get(name)
            entry = market.quote(symbol) if symbol else None
            if entry is None:
                answers.append({"s": "error", "n": name, "v": {}, "errmsg": "Unknown symbol."})
            else:
                answers.append(entry)
        return ok(answers)

    async def depth(request: Request) -> Response:
        await api.claims(request)
        symbol = api.symbol(request.query_params.get("symbol", ""))
        return ok(mapping.depth_json(api.backend.depth(symbol.symbol_id), symbol))

    prefix = "/accounts/{account_id}"
    # Starlette tries routes in order, one pattern match each: what every TradingView tab polls
    # every second or so comes first (listed last, `/quotes` paid for 15 more matches).
    table: list[tuple[str, Callable[[Request], Awaitable[Response]], str]] = [
        ("/quotes", quotes, "GET"),
        (f"{prefix}/orders", orders, "GET"),
        (f"{prefix}/positions", positions, "GET"),
        (f"{prefix}/state", state, "GET"),
        ("/config", config, "GET"),
        ("/accounts", accounts, "GET"),
        (f"{prefix}/instruments", instruments, "GET"),
        (f"{prefix}/orders", place_order, "POST"),
        (f"{prefix}/orders/{{order_id}}", modify_order, "PUT"),
        (f"{prefix}/orders/{{order_id}}", cancel_order, "DELETE"),
        (f"{prefix}/ordersHistory", orders_history, "GET"),
        (f"{prefix}/positions/{{position_id}}", modify_position, "PUT"),
        (f"{prefix}/positions/{{position_id}}", close_position, "DELETE"),
        (f"{prefix}/executions", executions, "GET"),
        ("/depth", depth, "GET"),
    ]
    return [
        Route(path, handler, methods=[method], name=f"{method} {path}")
        for path, handler, method in table
    ]


def _check_stop_side(order: NewOrder, spot: Spot | None, symbol: Symbol) -> None:
    """A stop waits for the market to come to it: a buy stop above the ask, a sell stop below
    the bid. The account does not set supportStopOrdersInBothDirections, so a stop on the
    wrong side (which would fill at once, at market) is refused with a sentence."""
    if order.stop_price is None or spot is None:
        return
    ask, bid = mapping.price(spot.ask, symbol), mapping.price(spot.bid, symbol)
    if order.side is TradeSide.BUY and order.stop_price <= ask:
        raise Refusal(f"A buy stop must be above the market price ({ask}).")
    if order.side is TradeSide.SELL and order.stop_price >= bid:
        raise Refusal(f"A sell stop must be below the market price ({bid}).")


def _max_count(request: Request) -> int:
    text = request.query_params.get("maxCount", "")
    return whole_number(text) or 1000


def _order_id(text: str) -> int:
    found = whole_number(text)
    if found is None:
        raise Refusal("There is no such order or position.")
    return found
