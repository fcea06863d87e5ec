"""Validation of the /generate/token body: each failure names its field."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapter_core.token_request import (
    TokenRequest,
    TokenRequestError,
    parse_token_request_body,
    validate_token_request,
)

SEED_BODY = (
    b'{"userId":14601,"brokerNames":["BESTBROKER"],'
    b'"ctidTraderAccountIds":[137780091, 137792301], "isVerified": true}'
)


def problems_of(body: bytes) -> list[tuple[str, str]]:
    with pytest.raises(TokenRequestError) as refused:
        parse_token_request_body(body)
    return [(problem.field, problem.message) for problem in refused.value.problems]


def test_the_seed_example_is_accepted() -> None:
    assert parse_token_request_body(SEED_BODY) == TokenRequest(
        user_id=14601,
        broker_names=("BESTBROKER",),
        account_ids=(137780091, 137792301),
        is_verified=True,
    )


def test_optional_fields_default_to_every_account_and_unverified() -> None:
    request = parse_token_request_body(b'{"userId":1,"brokerNames":["A","B"]}')
    assert request.account_ids is None
    assert request.is_verified is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"", "body"),
        (b"not json", "body"),
        (b"\xff\xfe", "body"),
        (b"[1,2]", "body"),
        (b'"text"', "body"),
        (b"null", "body"),
        (b'{"brokerNames":["B"]}', "userId"),
        (b'{"userId":true,"brokerNames":["B"]}', "userId"),
        (b'{"userId":1.0,"brokerNames":["B"]}', "userId"),
        (b'{"userId":1e3,"brokerNames":["B"]}', "userId"),
        (b'{"userId":"14601","brokerNames":["B"]}', "userId"),
        (b'{"userId":0,"brokerNames":["B"]}', "userId"),
        (b'{"userId":-5,"brokerNames":["B"]}', "userId"),
        (b'{"userId":9223372036854775808,"brokerNames":["B"]}', "userId"),
        (b'{"userId":NaN,"brokerNames":["B"]}', "body"),
        (b'{"userId":1}', "brokerNames"),
        (b'{"userId":1,"brokerNames":[]}', "brokerNames"),
        (b'{"userId":1,"brokerNames":"BESTBROKER"}', "brokerNames"),
        (b'{"userId":1,"brokerNames":[""]}', "brokerNames"),
        (b'{"userId":1,"brokerNames":[5]}', "brokerNames"),
        (b'{"userId":1,"brokerNames":[" B"]}', "brokerNames"),
        (b'{"userId":1,"brokerNames":["A\\u001fB"]}', "brokerNames"),
        (b'{"userId":1,"brokerNames":["A","A"]}', "brokerNames"),
        (b'{"userId":1,"brokerNames":["B"],"ctidTraderAccountIds":5}', "ctidTraderAccountIds"),
        (b'{"userId":1,"brokerNames":["B"],"ctidTraderAccountIds":[]}', "ctidTraderAccountIds"),
        (b'{"userId":1,"brokerNames":["B"],"ctidTraderAccountIds":[0]}', "ctidTraderAccountIds"),
        (b'{"userId":1,"brokerNames":["B"],"ctidTraderAccountIds":["1"]}', "ctidTraderAccountIds"),
        (b'{"userId":1,"brokerNames":["B"],"ctidTraderAccountIds":[1,1]}', "ctidTraderAccountIds"),
        (b'{"userId":1,"brokerNames":["B"],"ctidTraderAccountIds":null}', "ctidTraderAccountIds"),
        (b'{"userId":1,"brokerNames":["B"],"isVerified":"true"}', "isVerified"),
        (b'{"userId":1,"brokerNames":["B"],"isVerified":null}', "isVerified"),
        (b'{"userId":1,"brokerNames":["B"],"ctidTraderAccountId":[1]}', "ctidTraderAccountId"),
        (b'{"userId":1,"userId":2,"brokerNames":["B"]}', "userId"),
    ],
)
def test_each_invalid_body_names_its_field(body: bytes, field: str) -> None:
    found = problems_of(body)
    assert field in [name for name, _ in found]
    if field != "body":
        assert any(field in message for name, message in found if name == field)


def test_a_misspelt_account_list_never_silently_grants_every_account() -> None:
    found = problems_of(b'{"userId":1,"brokerNames":["B"],"ctidTraderAccountId":[137780091]}')
    assert found[0][0] == "ctidTraderAccountId"
    assert "Unknown field" in found[0][1]


def test_all_problems_are_reported_together() -> None:
    fields = {name for name, _ in problems_of(b'{"userId":0,"brokerNames":[],"isVerified":1}')}
    assert fields == {"userId", "brokerNames", "isVerified"}


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"userId": 1, "brokerNames": ["B"] * 17}, "brokerNames"),
        ({"userId": 1, "brokerNames": ["B" * 65]}, "brokerNames"),
        ({"userId": 1, "brokerNames": ["B"], "ctidTraderAccountIds": list(range(1, 102))}, None),
    ],
)
def test_caps_on_counts_and_lengths(document: dict[str, object], field: str | None) -> None:
    with pytest.raises(TokenRequestError) as refused:
        validate_token_request(document)
    assert refused.value.problems[0].field == (field or "ctidTraderAccountIds")


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(), st.lists, max_leaves=8))
def test_nothing_but_a_valid_object_gets_through(document: object) -> None:
    body = json.dumps(document).encode()
    with pytest.raises(TokenRequestError):
        parse_token_request_body(body)
