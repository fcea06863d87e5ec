"""POST /generate/token and POST /logout against a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import httpx
import pytest

from adapter_core.tokens import MAX_BEARER_LENGTH, TokenClaims, TokenCodec
from adapter_core.tokens.keyfile import load_key_ring
from tests.support.adapter_process import AdapterProcess

SEED_BODY = (
    '{"userId":14601,"brokerNames":["BESTBROKER"],'
    '"ctidTraderAccountIds":[137780091, 137792301], "isVerified": true}'
)


def mint(client: httpx.Client, adapter: AdapterProcess, body: str = SEED_BODY) -> str:
    response = client.post(
        "/generate/token",
        content=body,
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Authorization": f"Bearer {adapter.broker_secret}",
        },
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["d"]
    return token


def logout(client: httpx.Client, token: str) -> httpx.Response:
    return client.post(
        "/logout", headers={"Accept": "application/json", "Authorization": f"Bearer {token}"}
    )


def server_codec(adapter: AdapterProcess) -> TokenCodec:
    return TokenCodec(load_key_ring(adapter.data_dir / "token-keys.json"))


def test_the_seed_example_mints_a_token_carrying_its_claims(
    client: httpx.Client, adapter: AdapterProcess
) -> None:
    response = client.post(
        "/generate/token",
        content=SEED_BODY,
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Authorization": f"Bearer {adapter.broker_secret}",
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    envelope = response.json()
    assert set(envelope) == {"s", "d"}
    assert envelope["s"] == "ok"
    claims = server_codec(adapter).open(envelope["d"])
    assert claims.user_id == 14601
    assert claims.broker_names == ("BESTBROKER",)
    assert claims.account_ids == (137780091, 137792301)
    assert claims.is_verified is True
    assert claims.expires_at - claims.issued_at == 30 * 86400
    assert abs(claims.issued_at - time.time()) < 60


def test_every_issuance_is_recorded_without_the_token(
    client: httpx.Client, adapter: AdapterProcess
) -> None:
    token = mint(client, adapter)
    claims = server_codec(adapter).open(token)
    database = sqlite3.connect(adapter.data_dir / "adapter.sqlite3")
    row = database.execute(
        "SELECT user_id, issued_at, expires_at FROM issued_tokens WHERE token_id = ?",
        (claims.token_id,),
    ).fetchone()
    assert row == (14601, claims.issued_at, claims.expires_at)
    assert token.encode() not in (adapter.data_dir / "adapter.sqlite3").read_bytes()


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, "missing"),
        ("Bearer wrong-secret-0123456789", "not accepted"),
        ("Basic dXNlcjpwYXNz", "Bearer"),
        ("Bearer", "Bearer"),
        ("Bearer a b", "Bearer"),
        ("Bearer " + "x" * (MAX_BEARER_LENGTH + 64), "too long"),
    ],
)
def test_a_wrong_or_missing_broker_secret_gets_401(
    client: httpx.Client, authorization: str | None, message: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = client.post("/generate/token", content=SEED_BODY, headers=headers)
    assert response.status_code == 401
    assert response.json()["s"] == "error"
    assert message in response.json()["errmsg"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("not json", "JSON"),
        ("[]", "JSON object"),
        ('{"brokerNames":["B"]}', "userId"),
        ('{"userId":true,"brokerNames":["B"]}', "userId"),
        ('{"userId":14601.0,"brokerNames":["B"]}', "userId"),
        ('{"userId":"14601","brokerNames":["B"]}', "userId"),
        ('{"userId":9223372036854775808,"brokerNames":["B"]}', "userId"),
        ('{"userId":1}', "brokerNames"),
        ('{"userId":1,"brokerNames":[]}', "brokerNames"),
        ('{"userId":1,"brokerNames":"B"}', "brokerNames"),
        ('{"userId":1,"brokerNames":[""]}', "brokerNames"),
        ('{"userId":1,"brokerNames":[1]}', "brokerNames"),
        ('{"userId":1,"brokerNames":["B"],"ctidTraderAccountIds":"1"}', "ctidTraderAccountIds"),
        ('{"userId":1,"brokerNames":["B"],"ctidTraderAccountIds":[-1]}', "ctidTraderAccountIds"),
        ('{"userId":1,"brokerNames":["B"],"ctidTraderAccountIds":[1.5]}', "ctidTraderAccountIds"),
        ('{"userId":1,"brokerNames":["B"],"isVerified":"yes"}', "isVerified"),
        ('{"userId":1,"brokerNames":["B"],"ctidTraderAccountId":[1]}', "ctidTraderAccountId"),
    ],
)
def test_each_invalid_body_gets_400_naming_the_field(
    client: httpx.Client, adapter: AdapterProcess, body: str, field: str
) -> None:
    response = client.post(
        "/generate/token",
        content=body,
        headers={"Authorization": f"Bearer {adapter.broker_secret}"},
    )
    assert response.status_code == 400
    assert response.json()["s"] == "error"
    assert field in response.json()["errmsg"]


def test_an_oversize_body_gets_413_declared_or_streamed(
    client: httpx.Client, adapter: AdapterProcess
) -> None:
    headers = {"Authorization": f"Bearer {adapter.broker_secret}"}
    big = b'{"userId":1,"brokerNames":["' + b"B" * 20_000 + b'"]}'
    declared = client.post("/generate/token", content=big, headers=headers)
    streamed = client.post(
        "/generate/token", content=iter([big[:10_000], big[10_000:]]), headers=headers
    )
    for response in (declared, streamed):
        assert response.status_code == 413
        assert "larger than" in response.json()["errmsg"]


def test_logout_then_logout_again(client: httpx.Client, adapter: AdapterProcess) -> None:
    token = mint(client, adapter)
    first = logout(client, token)
    assert (first.status_code, first.json()) == (200, {"s": "ok"})
    second = logout(client, token)
    assert second.status_code == 200
    assert second.json() == {"s": "error", "errmsg": "The token has already been revoked."}


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "The Authorization header is missing."),
        (
            {"Authorization": "Token abc"},
            "The Authorization header must have the form 'Bearer <value>'.",
        ),
        ({"Authorization": "Bearer garbage"}, "The token is not valid."),
        ({"Authorization": "Bearer " + "A" * 8000}, "The token is not valid."),
    ],
)
def test_logout_refusals_are_200_with_distinct_messages(
    client: httpx.Client, headers: dict[str, str], message: str
) -> None:
    response = client.post("/logout", headers=headers)
    assert response.status_code == 200
    assert response.json() == {"s": "error", "errmsg": message}


def test_a_tampered_copy_is_refused_and_the_real_token_stays_valid(
    client: httpx.Client, adapter: AdapterProcess
) -> None:
    token = mint(client, adapter)
    middle = len(token) // 2
    tampered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    assert logout(client, tampered).json()["errmsg"] == "The token is not valid."
    assert logout(client, token).json() == {"s": "ok"}


def test_an_expired_token_is_refused(client: httpx.Client, adapter: AdapterProcess) -> None:
    codec = server_codec(adapter)
    long_ago = int(time.time()) - 31 * 86400
    expired = TokenClaims(
        b"\x11" * 16, 14601, ("BESTBROKER",), None, False, long_ago, long_ago + 30 * 86400
    )
    token = codec.seal(expired).token
    assert logout(client, token).json() == {"s": "error", "errmsg": "The token has expired."}


def test_fifty_concurrent_logouts_of_one_token_give_exactly_one_ok(
    client: httpx.Client, adapter: AdapterProcess
) -> None:
    token = mint(client, adapter)

    async def storm() -> list[dict[str, str]]:
        async with httpx.AsyncClient(base_url=adapter.url, timeout=10) as http:
            responses = await asyncio.gather(
                *(
                    http.post("/logout", headers={"Authorization": f"Bearer {token}"})
                    for _ in range(50)
                )
            )
        return [response.json() for response in responses]

    answers = asyncio.run(storm())
    assert answers.count({"s": "ok"}) == 1
    assert all(answer["s"] == "error" for answer in answers if answer != {"s": "ok"})


def test_unknown_paths_and_methods_answer_in_the_envelope(client: httpx.Client) -> None:
    missing = client.get("/no/such/path")
    wrong_method = client.get("/generate/token")
    assert (missing.status_code, missing.json()["s"]) == (404, "error")
    assert (wrong_method.status_code, wrong_method.json()["s"]) == (405, "error")


def test_the_access_log_never_holds_a_token_or_the_secret(
    client: httpx.Client, adapter: AdapterProcess
) -> None:
    token = mint(client, adapter)
    client.get(f"/{token}?access_token={token}")
    logout(client, token)
    time.sleep(0.2)
    log = adapter.stderr_text()
    assert '"POST /logout" 200' in log
    assert "<redacted>" in log
    assert token not in log
    assert adapter.broker_secret not in log
