"""The broker-facing endpoints of the source document: POST /generate/token and POST /logout."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapter_core.api.envelope import ok
from adapter_core.api.requests import (
    CredentialError,
    bearer_credential,
    read_body,
    require_broker_secret,
)
from adapter_core.events import token_summary
from adapter_core.refusals import BadRequest, Refusal, Unavailable
from adapter_core.revocation import RevokeOutcome
from adapter_core.services import AdapterServices
from adapter_core.store.base import IssuedToken, StoreFull, StoreUnavailable
from adapter_core.token_request import MAX_BODY_BYTES, TokenRequestError, parse_token_request_body
from adapter_core.tokens.codec import InvalidToken, TokenFault

LOGOUT_MESSAGES = {
    TokenFault.MALFORMED: "The token is not valid.",
    TokenFault.EXPIRED: "The token has expired.",
}
ALREADY_REVOKED = "The token has already been revoked."
NOT_ISSUED_FULL = (
    "The token store is full, so no token was issued. It takes tokens again once its operator "
    "frees room."
)
LOGOUT_FULL = (
    "The logout could not be recorded: the token store is full. It takes logouts again once "
    "its operator frees room."
)


def broker_routes(services: AdapterServices) -> list[Route]:
    async def generate_token(request: Request) -> Response:
        require_broker_secret(request, services.broker_secrets)
        body = await read_body(request, MAX_BODY_BYTES)
        try:
            token_request = parse_token_request_body(body)
        except TokenRequestError as exc:
            raise BadRequest(str(exc)) from None
        minted = services.codec.mint(
            token_request.user_id,
            token_request.broker_names,
            token_request.account_ids,
            token_request.is_verified,
        )
        try:
            await services.store.record_issued(IssuedToken(minted.claims, minted.key_id))
        except StoreFull:
            raise Unavailable(NOT_ISSUED_FULL) from None
        except StoreUnavailable:
            raise Unavailable(
                "The token could not be recorded, so none was issued. Try again."
            ) from None
        services.events.publish("token.issued", token_summary(minted.claims))
        return ok(minted.token)

    async def logout(request: Request) -> Response:
        """Always HTTP 200 (source document): every refusal here is a plain `Refusal`."""
        try:
            claims = services.codec.open(bearer_credential(request))
        except CredentialError as exc:
            raise Refusal(str(exc)) from None
        except InvalidToken as exc:
            raise Refusal(LOGOUT_MESSAGES[exc.fault]) from None
        if services.revocations.is_revoked(claims.token_id):
            raise Refusal(ALREADY_REVOKED)
        try:
            outcome = await services.revocations.revoke(claims)
        except StoreFull:
            raise Refusal(LOGOUT_FULL) from None
        except StoreUnavailable:
            raise Refusal("The logout could not be recorded. Try again.") from None
        if outcome is RevokeOutcome.ALREADY_REVOKED:
            raise Refusal(ALREADY_REVOKED)
        return ok()

    return [
        Route("/generate/token", generate_token, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]
