"""A small demo CRM on the simulated backend: the source document's cases A, B and C.

Case A: create the user (cTID), create an account, link it. Case B: the user exists; create
and link an account. Case C: accounts exist and are linked; only a token is minted. A broker's
real CRM does this against cTrader; here the broker secret protects the same steps so a demo
can act them out. Offered only when the headless server runs with `--demo`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapter_core.api.envelope import error, ok
from adapter_core.api.requests import (
    BodyTooLarge,
    CredentialError,
    bearer_credential,
    read_body,
    whole_number,
)
from adapter_core.backend.model import TraderAccount
from adapter_core.backend.port import BackendError, TradingBackend
from adapter_core.services import AdapterServices

MAX_CRM_BODY = 4096
MAX_DEMO_BALANCE = 10**9


CrmHandler = Callable[[Request, dict[str, Any]], Awaitable[Response]]


_KINDS = {str: "a string", int: "a whole number", bool: "true or false"}


class _BadRequest(Exception):
    pass


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
        raise _BadRequest(f"{name} must be {_KINDS[kind]}.")
    return value


def demo_crm_routes(services: AdapterServices, backend: TradingBackend) -> list[Route]:
    async def document_of(request: Request) -> dict[str, Any]:
        try:
            secret = bearer_credential(request)
        except CredentialError as exc:
            raise PermissionError(str(exc)) from None
        if not services.broker_secrets.accepts(secret):
            raise PermissionError("The broker secret is not accepted.")
        try:
            body = await read_body(request, MAX_CRM_BODY)
            document = json.loads(body or b"{}")
        except BodyTooLarge as exc:
            raise _BadRequest(str(exc)) from None
        except ValueError:
            raise _BadRequest("The request body is not valid JSON.") from None
        if not isinstance(document, dict):
            raise _BadRequest("The request body must be a JSON object.")
        return document

    def guarded(handler: CrmHandler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request, await document_of(request))
            except PermissionError as exc:
                return error(str(exc), 401)
            except _BadRequest as exc:
                return error(str(exc), 400)
            except BackendError as exc:
                return error(str(exc), 409)

        return endpoint

    async def create_user(request: Request, document: dict[str, Any]) -> Response:
        user = await backend.create_user(_field(document, "name", str))
        return ok({"userId": user.user_id, "name": user.name})

    async def create_account(request: Request, document: dict[str, Any]) -> Response:
        balance = document.get("balance", 10_000)
        if isinstance(balance, bool) or not isinstance(balance, int | float):
            raise _BadRequest("balance must be a number.")
        if not 0 <= balance <= MAX_DEMO_BALANCE:
            raise _BadRequest(f"balance must be between 0 and {MAX_DEMO_BALANCE}.")
        account = await backend.create_account(
            _field(document, "brokerName", str),
            is_live=_field(document, "isLive", bool, False),
            deposit_currency=_field(document, "depositCurrency", str, "USD"),
            balance=round(balance * 100),
        )
        return ok(_account_json(account))

    async def link_account(request: Request, document: dict[str, Any]) -> Response:
        account_id = whole_number(request.path_params["account_id"])
        if account_id is None:
            raise _BadRequest("The account id must be a number.")
        account = await backend.link_account(account_id, _field(document, "userId", int))
        return ok(_account_json(account))

    async def user_accounts(request: Request, document: dict[str, Any]) -> Response:
        user_id = whole_number(request.path_params["user_id"])
        if user_id is None or await backend.user(user_id) is None:
            raise BackendError("There is no such user.")
        return ok([_account_json(a) for a in await backend.accounts_of(user_id)])

    return [
        Route("/demo/users", guarded(create_user), methods=["POST"]),
        Route("/demo/accounts", guarded(create_account), methods=["POST"]),
        Route("/demo/accounts/{account_id}/link", guarded(link_account), methods=["POST"]),
        Route("/demo/users/{user_id}/accounts", guarded(user_accounts), methods=["GET"]),
    ]
