"""The broker-facing endpoints of the source document: POST /generate/token and POST /logout."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapter_core.api.envelope import error, ok
from adapter_core.api.requests import BodyTooLarge, CredentialError, bearer_credential, read_body
from adapter_core.events import token_summary
from adapter_core.revocation import RevokeOutcome
from adapter_core.services import AdapterServices
from adapter_core.store.base import IssuedToken, StoreUnavailable
from adapter_core.token_request import MAX_BODY_BYTES, TokenRequestError, parse_token_request_body
from adapter_core.tokens.codec import InvalidToken, TokenFault

LOGOUT_MESSAGES = {
    TokenFault.MALFORMED: "The token is not valid.",
    TokenFault.EXPIRED: "The token has expired.",
}
ALREADY_REVOKED = "The token has already been revoked."


def broker_routes(services: AdapterServices) -> list[Route]:
    async def generate_token(request: Request) -> Response:
        try:
            secret = bearer_credential(request)
        except CredentialError as exc:
            return error(str(exc), 401)
        if not services.broker_secrets.accepts(secret):
            return error("The broker secret is not accepted.", 401)
        try:
            body = await read_body(request, MAX_BODY_BYTES)
            token_request = parse_token_request_body(body)
        except BodyTooLarge as exc:
            return error(str(exc), 413)
        except TokenRequestError as exc:
            return error(str(exc), 400)
        minted = services.codec.mint(
            token_request.user_id,
            token_request.broker_names,
            token_request.account_ids,
            token_request.is_verified,
        )
        try:
            await services.store.record_issued(IssuedToken(minted.claims, minted.key_id))
        except StoreUnavailable:
            return error("The token could not be recorded, so none was issued. Try again.", 503)
        services.events.publish("token.issued", token_summary(minted.claims))
        return ok(minted.token)

    async def logout(request: Request) -> Response:
        try:
            token = bearer_credential(request)
            claims = services.codec.open(token)
        except CredentialError as exc:
            return error(str(exc))
        except InvalidToken as exc:
            return error(LOGOUT_MESSAGES[exc.fault])
        if services.revocations.is_revoked(claims.token_id):
            return error(ALREADY_REVOKED)
        try:
            outcome = await services.revocations.revoke(claims)
        except StoreUnavailable:
            return error("The logout could not be recorded. Try again.")
        if outcome is RevokeOutcome.ALREADY_REVOKED:
            return error(ALREADY_REVOKED)
        return ok()

    return [
        Route("/generate/token", generate_token, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]
