"""A small demo CRM on the simulated backend: the source document's cases A, B and C.

Case A: create the user (cTID), create an account, link it. Case B: the user exists; create
and link an account. Case C: accounts exist and are linked; only a token is minted. A broker's
real CRM does this against cTrader; here the broker secret protects the same steps so a demo
can act them out. Offered only when the headless server runs with `--demo`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapter_core.api.envelope import ok
from adapter_core.api.requests import (
    BodyTooLarge,
    read_body,
    require_broker_secret,
    whole_number,
)
from adapter_core.backend.model import TraderAccount
from adapter_core.backend.port import BackendError, TradingBackend
from adapter_core.refusals import BadRequest, Conflict
from adapter_core.services import AdapterServices

MAX_CRM_BODY = 4096
MAX_DEMO_BALANCE = 10**9
T = TypeVar("T")


_KINDS = {str: "a string", int: "a whole number", bool: "true or false"}


def _account_json(account: TraderAccount) -> dict[str, Any]:
    return {
        "ctidTraderAccountId": account.ctid_trader_account_id,
        "traderLogin": account.trader_login,
        "brokerName": account.broker_name,
        "isLive": account.is_live,
        "depositCurrency": account.deposit_currency,
        "userId": account.user_id,
    }


def _field(document: dict[str, Any], name: str, kind: type, default: Any = None) -> Any:
    value = document.get(name, default)
    if value is None or not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadRequest(f"{name} must be {_KINDS[kind]}.")
    return value


async def _backend(call: Awaitable[T]) -> T:
    """The backend's refusals are conflicts here (HTTP 409), not TradingView's HTTP 200."""
    try:
        return await call
    except BackendError as exc:
        raise Conflict(str(exc)) from None


async def _document(request: Request) -> dict[str, Any]:
    """The JSON object body; too large is HTTP 400 here, as it always was, not 413."""
    try:
        body = await read_body(request, MAX_CRM_BODY)
    except BodyTooLarge as exc:
        raise BadRequest(str(exc)) from None
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        raise BadRequest("The request body is not valid JSON.") from None
    if not isinstance(document, dict):
        raise BadRequest("The request body must be a JSON object.")
    return document


def demo_crm_routes(services: AdapterServices, backend: TradingBackend) -> list[Route]:
    async def document_of(request: Request) -> dict[str, Any]:
        require_broker_secret(request, services.broker_secrets)
        return await _document(request)

    async def create_user(request: Request) -> Response:
        document = await document_of(request)
        user = await _backend(backend.create_user(_field(document, "name", str)))
        return ok({"userId": user.user_id, "name": user.name})

    async def create_account(request: Request) -> Response:
        document = await document_of(request)
        balance = document.get("balance", 10_000)
        if isinstance(balance, bool) or not isinstance(balance, int | float):
            raise BadRequest("balance must be a number.")
        if not 0 <= balance <= MAX_DEMO_BALANCE:
            raise BadRequest(f"balance must be between 0 and {MAX_DEMO_BALANCE}.")
        account = await _backend(
            backend.create_account(
                _field(document, "brokerName", str),
                is_live=_field(document, "isLive", bool, False),
                deposit_currency=_field(document, "depositCurrency", str, "USD"),
                balance=round(balance * 100),
            )
        )
        return ok(_account_json(account))

    async def link_account(request: Request) -> Response:
        document = await document_of(request)
        account_id = whole_number(request.path_params["account_id"])
        if account_id is None:
            raise BadRequest("The account id must be a number.")
        account = await _backend(backend.link_account(account_id, _field(document, "userId", int)))
        return ok(_account_json(account))

    async def user_accounts(request: Request) -> Response:
        require_broker_secret(request, services.broker_secrets)
        user_id = whole_number(request.path_params["user_id"])
        if user_id is None or await _backend(backend.user(user_id)) is None:
            raise Conflict("There is no such user.")
        return ok([_account_json(a) for a in await _backend(backend.accounts_of(user_id))])

    return [
        Route("/demo/users", create_user, methods=["POST"]),
        Route("/demo/accounts", create_account, methods=["POST"]),
        Route("/demo/accounts/{account_id}/link", link_account, methods=["POST"]),
        Route("/demo/users/{user_id}/accounts", user_accounts, methods=["GET"]),
    ]
