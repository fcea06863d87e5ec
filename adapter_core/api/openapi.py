"""The OpenAPI 3.1 description of the adapter's whole HTTP surface, served at /openapi.json.

Written out rather than generated: the wire shapes are fixed by TradingView and the source
document, and a test checks this document against the routes the running app serves. Limits and
enums come from the constants the code enforces, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapter_core import __version__
from adapter_core.admin.search import MAX_QUERY_LENGTH, MIN_TOKEN_ID_PREFIX
from adapter_core.admin.sessions_view import TokenState
from adapter_core.api.admin import MAX_PAGE, ORDERS, SORTS
from adapter_core.events import REPLAY_EVENTS, RESUME_WINDOW
from adapter_core.tokens.claims import (
    MAX_ACCOUNT_IDS,
    MAX_BROKER_NAME_LENGTH,
    MAX_BROKER_NAMES,
    MAX_INT64,
)

JSON = dict[str, Any]
_NUMBER = {"type": "number"}
_INTEGER = {"type": "integer"}
_STRING = {"type": "string"}
_BOOLEAN = {"type": "boolean"}
_STATE = {"enum": [state.value for state in TokenState]}
_SEARCH = (
    "Search text, stripped; empty finds every token. ASCII digits find tokens whose userId, one "
    "of whose listed ctidTraderAccountIds, or the account of one of whose open trader sessions "
    f"starts with them. At least {MIN_TOKEN_ID_PREFIX} hexadecimal digits also find tokens whose "
    "id starts with them, ignoring case. Any other text finds tokens one of whose brokerNames "
    "equals it, ignoring ASCII case (BESTBROKER does not find BESTBROKER-EU). At most "
    f"{MAX_QUERY_LENGTH} characters; combines with every other filter, paging and sort."
)


def _ref(name: str) -> JSON:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required: list[str], properties: JSON, *, closed: bool = False) -> JSON:
    schema: JSON = {"type": "object", "required": required, "properties": properties}
    if closed:
        schema["additionalProperties"] = False
    return schema


def _ok(data: JSON | None) -> JSON:
    properties: JSON = {"s": {"const": "ok"}}
    if data is not None:
        properties["d"] = data
    return _object(["s", "d"] if data is not None else ["s"], properties)


def _array(items: JSON) -> JSON:
    return {"type": "array", "items": items}


def _answer(description: str, data: JSON | None, *errors: int) -> JSON:
    """200 with the ok envelope, or an envelope error (200 included: business errors)."""
    body = {"oneOf": [_ok(data), _ref("Error")]}
    responses: JSON = {
        "200": {"description": description, "content": {"application/json": {"schema": body}}}
    }
    for status in errors:
        responses[str(status)] = {"$ref": f"#/components/responses/E{status}"}
    return responses


def _parameter(name: str, where: str, schema: JSON, required: bool = False) -> JSON:
    return {"name": name, "in": where, "required": required, "schema": schema}


_LOCALE = _parameter("locale", "query", _STRING)
_ACCOUNT_ID = _parameter("account_id", "path", _STRING, True)
_TRADINGVIEW: list[JSON] = [{"tradingViewToken": []}]
_BROKER: list[JSON] = [{"brokerSecret": []}]


def _with_form(operation: JSON, properties: JSON, required: list[str]) -> JSON:
    """A TradingView action: a form body, refused with 413 past the size cap."""
    responses = {**operation["responses"], "413": {"$ref": "#/components/responses/E413"}}
    return {**operation, "responses": responses, "requestBody": _form(properties, required)}


def _form(properties: JSON, required: list[str]) -> JSON:
    return {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": _object(required, properties)}},
    }


def _tv(summary: str, data: JSON | None, *, extra: list[JSON] | None = None) -> JSON:
    return {
        "tags": ["TradingView"],
        "summary": summary,
        "security": _TRADINGVIEW,
        "parameters": [_LOCALE, *(extra or [])],
        "responses": _answer(summary, data, 401),
    }


def _account_op(summary: str, data: JSON | None, *, extra: list[JSON] | None = None) -> JSON:
    return _tv(summary, data, extra=[_ACCOUNT_ID, *(extra or [])])


_ORDER_FORM = {
    "instrument": _STRING,
    "qty": _NUMBER,
    "side": {"enum": ["buy", "sell"]},
    "type": {"enum": ["market", "limit", "stop", "stoplimit"]},
    "limitPrice": _NUMBER,
    "stopPrice": _NUMBER,
    "stopLoss": _NUMBER,
    "takeProfit": _NUMBER,
    "currentAsk": _NUMBER,
    "currentBid": _NUMBER,
    "durationType": _STRING,
}
_SCHEMAS: JSON = {
    "Error": _object(["s", "errmsg"], {"s": {"const": "error"}, "errmsg": _STRING}),
    "TokenRequest": _object(
        ["userId", "brokerNames"],
        {
            "userId": {"type": "integer", "minimum": 1, "maximum": MAX_INT64},
            "brokerNames": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_BROKER_NAMES,
                "items": {"type": "string", "minLength": 1, "maxLength": MAX_BROKER_NAME_LENGTH},
            },
            "ctidTraderAccountIds": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_ACCOUNT_IDS,
                "items": {"type": "integer", "minimum": 1, "maximum": MAX_INT64},
            },
            "isVerified": _BOOLEAN,
        },
        closed=True,
    ),
    "Account": _object(
        ["id", "name", "type", "config"],
        {
            "id": _STRING,
            "name": _STRING,
            "type": {"enum": ["live", "demo"]},
            "currency": _STRING,
            "currencySign": _STRING,
            "isVerified": _BOOLEAN,
            "config": {"type": "object", "additionalProperties": _BOOLEAN},
        },
    ),
    "Instrument": _object(
        ["name", "description", "type", "minTick", "pipSize", "pipValue"],
        {
            "name": _STRING,
            "description": _STRING,
            "type": _STRING,
            "minTick": _NUMBER,
            "pipSize": _NUMBER,
            "pipValue": _NUMBER,
            "lotSize": _NUMBER,
            "minQty": _NUMBER,
            "maxQty": _NUMBER,
            "qtyStep": _NUMBER,
            "marginRate": _NUMBER,
            "hasQuotes": _BOOLEAN,
        },
    ),
    "AccountState": _object(
        ["balance", "unrealizedPl"],
        {"balance": _NUMBER, "unrealizedPl": _NUMBER, "equity": _NUMBER},
    ),
    "Order": _object(
        ["id", "instrument", "qty", "side", "type", "status"],
        {
            "id": _STRING,
            "instrument": _STRING,
            "qty": _NUMBER,
            "side": {"enum": ["buy", "sell"]},
            "type": {"enum": ["market", "limit", "stop", "stoplimit"]},
            "status": {
                "enum": ["placing", "inactive", "working", "rejected", "filled", "cancelled"]
            },
            "filledQty": _NUMBER,
            "avgPrice": _NUMBER,
            "limitPrice": _NUMBER,
            "stopPrice": _NUMBER,
            "stopLoss": _NUMBER,
            "takeProfit": _NUMBER,
            "parentId": _STRING,
            "parentType": {"enum": ["order", "position"]},
            "lastModified": _INTEGER,
        },
    ),
    "Position": _object(
        ["id", "instrument", "qty", "side", "avgPrice"],
        {
            "id": _STRING,
            "instrument": _STRING,
            "qty": _NUMBER,
            "side": {"enum": ["buy", "sell"]},
            "avgPrice": _NUMBER,
            "unrealizedPl": _NUMBER,
        },
    ),
    "Execution": _object(
        ["id", "instrument", "price", "time", "qty", "side", "orderId", "isClose"],
        {
            "id": _STRING,
            "instrument": _STRING,
            "price": _NUMBER,
            "time": _INTEGER,
            "qty": _NUMBER,
            "side": {"enum": ["buy", "sell"]},
            "orderId": _STRING,
            "positionId": _STRING,
            "isClose": _BOOLEAN,
        },
    ),
    "Quote": {
        "description": "TradingView requires s, n and v in every entry; an unknown symbol's "
        "v is empty and errmsg says why.",
        "oneOf": [
            _object(
                ["s", "n", "v"],
                {
                    "s": {"const": "ok"},
                    "n": _STRING,
                    "v": _object(["ask", "bid"], {"ask": _NUMBER, "bid": _NUMBER}),
                },
            ),
            _object(
                ["s", "n", "v", "errmsg"],
                {
                    "s": {"const": "error"},
                    "n": _STRING,
                    "v": _object([], {}, closed=True),
                    "errmsg": _STRING,
                },
            ),
        ],
    },
    "TokenRow": _object(
        ["tokenId", "userId", "brokerNames", "state", "issuedAt", "expiresAt", "traderSessions"],
        {
            "tokenId": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
            "userId": _INTEGER,
            "brokerNames": _array(_STRING),
            "ctidTraderAccountIds": {"type": ["array", "null"], "items": _INTEGER},
            "isVerified": _BOOLEAN,
            "issuedAt": _INTEGER,
            "expiresAt": _INTEGER,
            "keyId": {"type": ["string", "null"]},
            "state": _STATE,
            "revokedAt": {"type": ["integer", "null"]},
            "lastActivity": {"type": ["number", "null"]},
            "requestCount": _INTEGER,
            "traderSessions": _array(_ref("TraderSession")),
        },
    ),
    "TraderSession": _object(
        ["accountId", "brokerName", "openedAt", "lastActivity", "requestCount", "cached"],
        {
            "accountId": _INTEGER,
            "brokerName": _STRING,
            "openedAt": _NUMBER,
            "lastActivity": _NUMBER,
            "requestCount": _INTEGER,
            "clientAddress": _STRING,
            "userAgent": _STRING,
            "closedAt": {**_NUMBER, "description": "Set when logout or expiry closed it"},
            "cached": _object(
                ["positions", "orders", "orderHistory", "deals"],
                dict.fromkeys(("positions", "orders", "orderHistory", "deals"), _INTEGER),
            ),
            "instance": {
                **_STRING,
                "description": "The adapter instance holding the session, where several "
                "share a store (tv-adapter serve --store redis://...); absent otherwise",
            },
            "positions": {**_array({"type": "object"}), "description": "Detail only"},
            "orders": {**_array({"type": "object"}), "description": "Detail only"},
            "deals": {**_array({"type": "object"}), "description": "Detail only"},
        },
    ),
    "Store": _object(
        ["kind", "address", "instance", "healthy", "problem", "instances"],
        {
            "kind": {"enum": ["sqlite", "redis"]},
            "address": {
                "type": ["string", "null"],
                "description": "The shared store's address, never with its password",
            },
            "instance": {"type": ["string", "null"], "description": "This instance's id"},
            "healthy": _BOOLEAN,
            "problem": {"type": ["string", "null"]},
            "instances": {
                **_array(_STRING),
                "description": "The live instances sharing the store, this one included",
            },
        },
    ),
}
_RESPONSES = {
    f"E{status}": {
        "description": text,
        "content": {"application/json": {"schema": _ref("Error")}},
    }
    for status, text in (
        (400, "A parameter or the body is invalid; errmsg names it."),
        (401, "Missing or refused credential."),
        (404, "No such token."),
        (409, "The token is already revoked."),
        (413, "The body is too large."),
        (503, "The token store is unavailable; nothing was done."),
    )
}


def _admin(summary: str, data: JSON | None, *errors: int, extra: list[JSON] | None = None) -> JSON:
    return {
        "tags": ["Admin"],
        "summary": summary,
        "security": _BROKER,
        "parameters": extra or [],
        "responses": _answer(summary, data, 401, 503, *errors),
    }


_TOKEN_ID = _parameter("token_id", "path", _STRING, True)


def _paths(demo_crm: bool) -> JSON:
    paths: JSON = {
        "/generate/token": {
            "post": {
                "tags": ["Broker"],
                "summary": "Mint a TradingView token (source document)",
                "security": _BROKER,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("TokenRequest")}},
                },
                "responses": _answer("The token", _STRING, 400, 401, 413, 503),
            }
        },
        "/logout": {
            "post": {
                "tags": ["Broker", "TradingView"],
                "summary": "Revoke the bearer token (always HTTP 200)",
                "security": _TRADINGVIEW,
                "responses": _answer("Logged out", None),
            }
        },
        "/config": {"get": _tv("Broker configuration", {"type": "object"})},
        "/accounts": {"get": _tv("Accounts this token grants", _array(_ref("Account")))},
        "/accounts/{account_id}/instruments": {
            "get": _account_op("Instruments", _array(_ref("Instrument")))
        },
        "/accounts/{account_id}/state": {"get": _account_op("State", _ref("AccountState"))},
        "/accounts/{account_id}/orders": {
            "get": _account_op("Orders (final ones for a while)", _array(_ref("Order"))),
            "post": _with_form(
                _account_op(
                    "Place an order",
                    _object([], {"orderId": _STRING}),
                    extra=[_parameter("requestId", "query", _STRING)],
                ),
                _ORDER_FORM,
                ["instrument", "qty", "side", "type"],
            ),
        },
        "/accounts/{account_id}/orders/{order_id}": {
            "put": _with_form(
                _account_op(
                    "Modify an order", None, extra=[_parameter("order_id", "path", _STRING, True)]
                ),
                _ORDER_FORM,
                ["qty"],
            ),
            "delete": _account_op(
                "Cancel an order", None, extra=[_parameter("order_id", "path", _STRING, True)]
            ),
        },
        "/accounts/{account_id}/ordersHistory": {
            "get": _account_op(
                "Orders in a final status",
                _array(_ref("Order")),
                extra=[_parameter("maxCount", "query", _INTEGER)],
            )
        },
        "/accounts/{account_id}/positions": {
            "get": _account_op("Positions", _array(_ref("Position")))
        },
        "/accounts/{account_id}/positions/{position_id}": {
            "put": _with_form(
                _account_op(
                    "Set position brackets",
                    None,
                    extra=[_parameter("position_id", "path", _STRING, True)],
                ),
                {"stopLoss": _NUMBER, "takeProfit": _NUMBER},
                [],
            ),
            "delete": _with_form(
                _account_op(
                    "Close a position (all or `amount`)",
                    None,
                    extra=[_parameter("position_id", "path", _STRING, True)],
                ),
                {"amount": _NUMBER},
                [],
            ),
        },
        "/accounts/{account_id}/executions": {
            "get": _account_op(
                "Executions of one instrument",
                _array(_ref("Execution")),
                extra=[
                    _parameter("instrument", "query", _STRING, True),
                    _parameter("maxCount", "query", _INTEGER),
                ],
            )
        },
        "/quotes": {
            "get": _tv(
                "Quotes",
                _array(_ref("Quote")),
                extra=[
                    _parameter("accountId", "query", _STRING),
                    _parameter("symbols", "query", _STRING, True),
                ],
            )
        },
        "/depth": {
            "get": _tv(
                "Market depth",
                _object(
                    ["asks", "bids"],
                    {"asks": _array(_array(_NUMBER)), "bids": _array(_array(_NUMBER))},
                ),
                extra=[
                    _parameter("accountId", "query", _STRING),
                    _parameter("symbol", "query", _STRING, True),
                ],
            )
        },
        "/admin/info": {
            "get": _admin(
                "Version, capabilities, uptime, this instance's counts, the token store",
                _object(
                    ["version", "capabilities", "startedAt", "uptimeSeconds", "counts", "store"],
                    {
                        "version": _STRING,
                        "capabilities": _array(_STRING),
                        "startedAt": _NUMBER,
                        "uptimeSeconds": _NUMBER,
                        "counts": {"type": "object"},
                        "store": _ref("Store"),
                    },
                ),
            )
        },
        "/admin/sessions": {
            "get": _admin(
                "Issued tokens and their trader sessions, paged",
                _object(
                    ["total", "offset", "limit", "rows"],
                    {
                        "total": _INTEGER,
                        "offset": _INTEGER,
                        "limit": _INTEGER,
                        "rows": _array(_ref("TokenRow")),
                    },
                ),
                400,
                extra=[
                    _parameter("userId", "query", _INTEGER),
                    _parameter("broker", "query", _STRING),
                    _parameter("account", "query", _INTEGER),
                    _parameter("state", "query", _STATE),
                    _parameter("tokenIdPrefix", "query", _STRING),
                    _parameter("tokenIds", "query", _STRING),
                    {
                        **_parameter(
                            "q", "query", {"type": "string", "maxLength": MAX_QUERY_LENGTH}
                        ),
                        "description": _SEARCH,
                    },
                    _parameter("sort", "query", {"enum": list(SORTS)}),
                    _parameter("order", "query", {"enum": list(ORDERS)}),
                    _parameter("offset", "query", _INTEGER),
                    _parameter("limit", "query", {"type": "integer", "maximum": MAX_PAGE}),
                ],
            )
        },
        "/admin/sessions/{token_id}": {
            "get": _admin(
                "One token with its cached data", _ref("TokenRow"), 404, extra=[_TOKEN_ID]
            )
        },
        "/admin/sessions/{token_id}/logout": {
            "post": _admin(
                "Log a token out as /logout would",
                {"type": "object"},
                404,
                409,
                extra=[_TOKEN_ID],
            )
        },
        "/admin/tokens/introspect": {
            "post": {
                **_admin("A token's claims and state", {"type": "object"}, 400, 413),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": _object(["token"], {"token": _STRING})}
                    },
                },
            }
        },
        "/admin/events": {
            "get": {
                "tags": ["Admin"],
                "summary": "Server-Sent Events: token.issued, session.opened, session.activity, "
                "session.closed, token.logged_out, token.expired",
                "description": "Each event carries its sequence as `id`. A client that "
                "reconnects with `Last-Event-ID` is sent the events it missed, when the adapter "
                f"still holds them (the last {REPLAY_EVENTS}, kept {RESUME_WINDOW:g} s after the "
                "last client left); the first event, `hello`, says so with `resumed`. When it "
                "is false the client must reload what it shows.",
                "security": _BROKER,
                "parameters": [
                    {
                        "name": "Last-Event-ID",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "The id of the last event received",
                    }
                ],
                "responses": {
                    "200": {"description": "An event stream", "content": {"text/event-stream": {}}},
                    "401": {"$ref": "#/components/responses/E401"},
                },
            }
        },
        "/healthz": {
            "get": {
                "tags": ["Meta"],
                "summary": "Whether this instance can answer TradingView (no credential)",
                "description": "503 names the unhealthy part of a shared store.",
                "responses": _answer(
                    "Healthy",
                    _object(
                        ["store", "healthy"],
                        {
                            "store": {"enum": ["sqlite", "redis"]},
                            "healthy": _BOOLEAN,
                            "instance": _STRING,
                            "problem": _STRING,
                        },
                    ),
                    503,
                ),
            }
        },
        "/openapi.json": {
            "get": {
                "tags": ["Meta"],
                "summary": "This document",
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }
    if demo_crm:
        paths.update(_demo_crm_paths())
    return paths


def _demo_crm_paths() -> JSON:
    def crm(summary: str, body: JSON | None, extra: list[JSON] | None = None) -> JSON:
        operation: JSON = {
            "tags": ["Demo CRM"],
            "summary": summary,
            "security": _BROKER,
            "parameters": extra or [],
            "responses": _answer(summary, {"type": ["object", "array"]}, 400, 401),
        }
        operation["responses"]["409"] = {
            "description": "The backend refused",
            "content": {"application/json": {"schema": _ref("Error")}},
        }
        if body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": body}},
            }
        return operation

    return {
        "/demo/users": {"post": crm("Create a user (cTID)", _object(["name"], {"name": _STRING}))},
        "/demo/accounts": {
            "post": crm(
                "Create an account under a broker",
                _object(
                    ["brokerName"],
                    {
                        "brokerName": _STRING,
                        "isLive": _BOOLEAN,
                        "depositCurrency": _STRING,
                        "balance": _NUMBER,
                    },
                ),
            )
        },
        "/demo/accounts/{account_id}/link": {
            "post": crm(
                "Link an account to a user",
                _object(["userId"], {"userId": _INTEGER}),
                [_ACCOUNT_ID],
            )
        },
        "/demo/users/{user_id}/accounts": {
            "get": crm(
                "A user's linked accounts", None, [_parameter("user_id", "path", _STRING, True)]
            )
        },
    }


def openapi_document(demo_crm: bool) -> JSON:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "TradingView adapter",
            "version": __version__,
            "description": "A cTrader-style TradingView adapter: token issuance and logout "
            "(source document), TradingView's Broker REST API, and an admin API.",
        },
        "paths": _paths(demo_crm),
        "components": {
            "schemas": _SCHEMAS,
            "responses": _RESPONSES,
            "securitySchemes": {
                "brokerSecret": {"type": "http", "scheme": "bearer"},
                "tradingViewToken": {"type": "http", "scheme": "bearer"},
            },
        },
    }


def openapi_route(demo_crm: bool) -> Route:
    body = orjson.dumps(openapi_document(demo_crm))

    async def serve(request: Request) -> Response:
        return Response(body, media_type="application/json")

    return Route("/openapi.json", serve, methods=["GET"])
