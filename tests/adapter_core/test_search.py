"""The operator's search: the rule itself, and the store's SQL held to it over random tokens."""

from __future__ import annotations

import asyncio
import string
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapter_core.admin.search import (
    MAX_QUERY_LENGTH,
    SearchQuery,
    SearchQueryError,
    token_matches,
)
from adapter_core.store.base import IssuedToken, TokenQuery
from adapter_core.store.sqlite import SqliteTokenStore
from adapter_core.tokens.claims import MAX_INT64, TokenClaims
from tests.adapter_core.strategies import broker_names

TOKEN_ID = "fc55711f0a1b2c3d4e5f60718293a4b5"


def finds(
    q: str,
    *,
    token_id: str = TOKEN_ID,
    user_id: int = 14601,
    broker_names: tuple[str, ...] = ("BESTBROKER",),
    account_ids: tuple[int, ...] | None = (137780091,),
    session_account_ids: tuple[int, ...] = (),
) -> bool:
    return token_matches(
        q,
        token_id=token_id,
        user_id=user_id,
        broker_names=broker_names,
        account_ids=account_ids,
        session_account_ids=session_account_ids,
    )


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("", True),
        ("   ", True),
        ("146", True),
        (" 14601 ", True),
        ("14602", False),
        ("1377", True),
        ("137780091", True),
        ("1377800910", False),
        ("BESTBROKER", True),
        ("bestbroker", True),
        ("BESTBROKER-EU", False),
        ("BEST", False),
        ("fc5571", True),
        ("FC55711F", True),
        ("fc557", False),
        (TOKEN_ID, True),
        ("fc55711e", False),
    ],
)
def test_the_rule_on_one_token(q: str, found: bool) -> None:
    assert finds(q) is found


def test_digits_find_the_accounts_of_open_trader_sessions() -> None:
    assert finds("1378", account_ids=None, session_account_ids=(137800001,))
    assert not finds("1378", account_ids=None)
    assert not finds("1378", account_ids=(137780091,), session_account_ids=(137780412,))


def test_short_numbers_never_match_token_ids() -> None:
    assert not finds("14655", token_id="14655" + "0" * 27, user_id=9)
    assert finds("146550", token_id="14655" + "0" * 27, user_id=9)


def test_broker_names_compare_ascii_case_only_and_whole() -> None:
    assert finds("bestbroker-eu", broker_names=("X", "BESTBROKER-EU"))
    assert not finds("bestbroker", broker_names=("BESTBROKER-EU",))
    assert finds("ärger", broker_names=("äRGER",))
    assert not finds("ärger", broker_names=("ÄRGER",))  # only ASCII letters fold


def test_text_that_looks_like_a_number_or_token_id_is_not_a_broker_name() -> None:
    assert not finds("146", broker_names=("146",), user_id=9, account_ids=None)
    assert not finds("facade", broker_names=("FACADE",))


def test_too_long_text_is_refused_after_stripping() -> None:
    assert SearchQuery.parse(f"  {'x' * MAX_QUERY_LENGTH}  ").text == "x" * MAX_QUERY_LENGTH
    with pytest.raises(SearchQueryError, match=f"at most {MAX_QUERY_LENGTH}"):
        SearchQuery.parse("x" * (MAX_QUERY_LENGTH + 1))


# Small pools, so that random tokens share prefixes, users, accounts and brokers often.
USER_IDS = st.sampled_from([14601, 14602, 146, 1460, 9, 137780091, MAX_INT64]) | st.integers(
    1, MAX_INT64
)
ACCOUNT_IDS = st.sampled_from([137780091, 137780412, 137800001, 1377, 14601, 7]) | st.integers(
    1, MAX_INT64
)
BROKERS = st.sampled_from(["BESTBROKER", "BESTBROKER-EU", "bestBroker", "ÄRGER", "äRGER", "146"])
TOKEN_IDS = st.tuples(st.sampled_from([b"", b"\x14\x60\x10", b"\xfc\x55\x71"]), st.binary()).map(
    lambda parts: (parts[0] + parts[1] + bytes(16))[:16]
)


@st.composite
def tokens(draw: st.DrawFn) -> tuple[TokenClaims, tuple[int, ...]]:
    """Claims as the validation admits them, and the accounts of the token's open sessions."""
    issued = draw(st.integers(0, 10))
    claims = TokenClaims(
        token_id=draw(TOKEN_IDS),
        user_id=draw(USER_IDS),
        broker_names=tuple(draw(st.lists(BROKERS | broker_names, min_size=1, max_size=3))),
        account_ids=draw(st.none() | st.lists(ACCOUNT_IDS, min_size=1, max_size=3).map(tuple)),
        is_verified=True,
        issued_at=issued,
        expires_at=issued + 1000,
    )
    return claims, tuple(draw(st.lists(ACCOUNT_IDS, max_size=2)))


@st.composite
def searches(draw: st.DrawFn, found: list[tuple[TokenClaims, tuple[int, ...]]]) -> str:
    """Mostly text made from the tokens (prefixes of their numbers and ids, their brokers)."""
    claims, sessions = draw(st.sampled_from(found))
    numbers = [claims.user_id, *(claims.account_ids or ()), *sessions]
    number = str(draw(st.sampled_from(numbers)))
    hex_id = claims.token_id.hex()
    made = draw(
        st.one_of(
            st.integers(1, len(number)).map(lambda n: number[:n]),
            st.integers(1, 32).map(lambda n: hex_id[:n]),
            st.sampled_from(claims.broker_names),
            st.text(string.hexdigits, max_size=8),
            st.text(max_size=MAX_QUERY_LENGTH),
        )
    )
    flips = draw(st.lists(st.booleans(), min_size=len(made), max_size=len(made)))
    made = "".join(c.swapcase() if flip else c for c, flip in zip(made, flips, strict=True))
    padding = draw(st.sampled_from(["", " ", "\t"]))
    return f"{padding}{made[:MAX_QUERY_LENGTH]}{padding}"


async def _listed(
    found: list[tuple[TokenClaims, tuple[int, ...]]], query: TokenQuery
) -> tuple[int, list[bytes]]:
    with tempfile.TemporaryDirectory() as directory:
        store = SqliteTokenStore(Path(directory) / "store.sqlite3")
        try:
            await asyncio.gather(*(store.record_issued(IssuedToken(c, 1)) for c, _ in found))
            total, records = await store.query_issued(query)
        finally:
            await store.close()
    return total, [record.claims.token_id for record in records]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_sql_search_equals_the_python_rule(data: st.DataObject) -> None:
    found = data.draw(
        st.lists(tokens(), min_size=1, max_size=12, unique_by=lambda token: token[0].token_id)
    )
    q = data.draw(searches(found))
    search = SearchQuery.parse(q)
    user_filter = data.draw(st.none() | st.sampled_from([c.user_id for c, _ in found]))
    offset, limit = data.draw(st.integers(0, 3)), data.draw(st.integers(1, 20))
    expected = [
        claims
        for claims, sessions in found
        if (user_filter is None or claims.user_id == user_filter)
        and token_matches(
            q,
            token_id=claims.token_id.hex(),
            user_id=claims.user_id,
            broker_names=claims.broker_names,
            account_ids=claims.account_ids,
            session_account_ids=sessions,
        )
    ]
    expected.sort(key=lambda claims: (claims.issued_at, claims.token_id), reverse=True)
    on_matching_accounts = frozenset(
        claims.token_id
        for claims, sessions in found
        if any(search.matches_account(account) for account in sessions)
    )
    query = TokenQuery(
        now=0,
        user_id=user_filter,
        search=search,
        search_token_ids=on_matching_accounts,
        offset=offset,
        limit=limit,
    )
    total, page = asyncio.run(_listed(found, query))
    assert total == len(expected)
    assert page == [claims.token_id for claims in expected[offset : offset + limit]]
