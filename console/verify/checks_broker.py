"""Suite `broker`: the source document's two endpoints, `/generate/token` and `/logout`."""

from __future__ import annotations

import json
import secrets
from typing import Any

from console.services.client import AdapterUnavailable, Answer
from console.verify.catalogue import Check
from console.verify.context import Failed, Outcome, RunContext, describe, envelope

REFUSED = 'an HTTP 4xx answer with {"s":"error","errmsg":...} and no token'
TAMPER_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _refused(answer: Answer, status: int | None = None) -> bool:
    document = envelope(answer)
    wanted = answer.status == status if status is not None else 400 <= answer.status < 500
    return (
        wanted
        and isinstance(document, dict)
        and document.get("s") == "error"
        and isinstance(document.get("errmsg"), str)
        and "d" not in document
    )


async def mint_seed_example(ctx: RunContext) -> Outcome:
    answer, token = await ctx.main_mint()
    document = envelope(answer)
    if answer.ok and token is None and isinstance(document, dict):
        found = type(document.get("d")).__name__ if "d" in document else "nothing"
        raise Failed(f"HTTP {answer.status} with s:ok, but d is not a token string ({found})")
    if answer.status != 200 or token is None or not isinstance(document, dict):
        raise Failed(describe(answer))
    if set(document) != {"s", "d"}:
        extra = ", ".join(sorted(set(document) - {"s", "d"}))
        raise Failed(f"HTTP 200 with a token, but the answer also has {extra}")
    return Outcome(f"HTTP 200 with a token of {len(token)} characters")


async def _post_token(ctx: RunContext, *, bearer: str | None) -> Answer:
    answer = await ctx.client.request(
        "POST", "/generate/token", bearer=bearer, json_body=ctx.identity.body()
    )
    ctx.keep(answer)
    return answer


async def mint_wrong_secret(ctx: RunContext) -> Outcome:
    wrong = secrets.token_urlsafe(48)
    ctx.recorder.masker.add_wrong_secret(wrong)
    answer = await _post_token(ctx, bearer=wrong)
    if not _refused(answer, 401):
        raise Failed(f"a wrong secret earned {describe(answer)}")
    return Outcome("HTTP 401 with the error envelope")


async def mint_missing_auth(ctx: RunContext) -> Outcome:
    answer = await _post_token(ctx, bearer=None)
    if not _refused(answer, 401):
        raise Failed(f"no Authorization header earned {describe(answer)}")
    return Outcome("HTTP 401 with the error envelope")


def _invalid_bodies(body: dict[str, Any]) -> list[tuple[str, bytes]]:
    def changed(**fields: Any) -> bytes:
        return json.dumps(body | fields).encode()

    misspelt = {k: v for k, v in body.items() if k != "ctidTraderAccountIds"}
    misspelt["ctidTraderAccountId"] = body.get("ctidTraderAccountIds") or [137780091]
    ids = body.get("ctidTraderAccountIds") or [137780091]
    return [
        ("a string userId", changed(userId=str(body["userId"]))),
        ("a boolean userId", changed(userId=True)),
        ("a zero userId", changed(userId=0)),
        ("an empty brokerNames", changed(brokerNames=[])),
        ("a misspelt ctidTraderAccountIds", json.dumps(misspelt).encode()),
        ("an unknown field", changed(comment="verify")),
        ("account ids as strings", changed(ctidTraderAccountIds=[str(i) for i in ids])),
        ("isVerified as a string", changed(isVerified="true")),
        ("a body that is not JSON", b"userId=14601&brokerNames=BESTBROKER"),
        ("an empty object", b"{}"),
    ]


async def mint_invalid_bodies(ctx: RunContext) -> Outcome:
    accepted: list[str] = []
    unanswered: list[str] = []
    cases = _invalid_bodies(ctx.identity.body())
    for label, content in cases:
        try:
            answer = await ctx.client.request(
                "POST",
                "/generate/token",
                bearer=ctx.target.secret,
                content=content,
                headers={"Content-Type": "application/json"},
            )
        except AdapterUnavailable as exc:
            unanswered.append(f"{label} (no answer: {exc})")
            continue
        ctx.keep(answer)
        if not _refused(answer):
            accepted.append(f"{label} ({describe(answer)})")
    if accepted:
        raise Failed(
            f"did not refuse {len(accepted)} of {len(cases)}: " + "; ".join(accepted + unanswered)
        )
    if unanswered:
        raise AdapterUnavailable("; ".join(unanswered))
    return Outcome(f"all {len(cases)} refused with 4xx and s:error")


def _logged_out(answer: Answer) -> bool:
    document = envelope(answer)
    return answer.status == 200 and document == {"s": "ok"}


def _logout_refused(answer: Answer) -> bool:
    document = envelope(answer)
    return answer.status == 200 and isinstance(document, dict) and document.get("s") == "error"


async def logout_ok(ctx: RunContext) -> Outcome:
    token = await ctx.fresh_token()
    answer = await ctx.logout(token)
    if not _logged_out(answer):
        raise Failed(describe(answer))
    ctx.remember("revoked-token", token)
    return Outcome('HTTP 200 {"s":"ok"}')


async def logout_twice(ctx: RunContext) -> Outcome:
    token = await ctx.revoked_token()
    answer = await ctx.logout(token)
    if not _logout_refused(answer):
        raise Failed(f"a second logout of the same token earned {describe(answer)}")
    return Outcome("HTTP 200 with s:error")


async def logout_garbage(ctx: RunContext) -> Outcome:
    wrong: list[str] = []
    for label, token in (("a malformed token", "garbage"), ("no Authorization header", None)):
        answer = await ctx.logout(token)
        if not _logout_refused(answer):
            wrong.append(f"{label} earned {describe(answer)}")
    if wrong:
        raise Failed("; ".join(wrong))
    return Outcome("HTTP 200 with s:error for both")


def tampered(token: str) -> str:
    """The token with one character in its middle replaced by another of its alphabet."""
    middle = len(token) // 2
    old = token[middle]
    new = TAMPER_ALPHABET[(TAMPER_ALPHABET.find(old) + 1) % len(TAMPER_ALPHABET)]
    return f"{token[:middle]}{new}{token[middle + 1 :]}"


async def logout_tampered(ctx: RunContext) -> Outcome:
    token = await ctx.fresh_token()
    copy = tampered(token)
    ctx.recorder.masker.add_token(copy)
    answer = await ctx.logout(copy)
    if not _logout_refused(answer):
        raise Failed(f"a token with one character changed earned {describe(answer)}")
    real = await ctx.logout(token)
    if not _logged_out(real):
        raise Failed(
            "the tampered copy was refused, but the real token no longer logs out: "
            f"{describe(real)}"
        )
    return Outcome("the tampered copy earned s:error; the real token still worked (logged out)")


CHECKS = (
    Check(
        "mint.seed-example",
        "broker",
        "Mint a token with the test identity",
        'HTTP 200 with {"s":"ok","d":<token string>} and no errmsg',
        mint_seed_example,
    ),
    Check(
        "mint.wrong-secret",
        "broker",
        "Minting with a wrong broker secret is refused",
        "HTTP 401 with the error envelope and no token",
        mint_wrong_secret,
    ),
    Check(
        "mint.missing-auth",
        "broker",
        "Minting without an Authorization header is refused",
        "HTTP 401 with the error envelope and no token",
        mint_missing_auth,
    ),
    Check(
        "mint.invalid-bodies",
        "broker",
        "Invalid /generate/token bodies are refused",
        f"each invalid body earns {REFUSED}",
        mint_invalid_bodies,
    ),
    Check(
        "logout.ok",
        "broker",
        "Log out a freshly minted token",
        'HTTP 200 with {"s":"ok"}',
        logout_ok,
    ),
    Check(
        "logout.twice",
        "broker",
        "Logging out the same token twice is refused",
        "the second logout earns HTTP 200 with s:error",
        logout_twice,
    ),
    Check(
        "logout.garbage",
        "broker",
        "Logout with a malformed token or no header is refused",
        "HTTP 200 with s:error (the document's status for unsuccessful logouts)",
        logout_garbage,
    ),
    Check(
        "logout.tampered",
        "broker",
        "Logout with a tampered copy of a live token is refused",
        "s:error for the copy, and the real token still logs out afterwards",
        logout_tampered,
    ),
)
