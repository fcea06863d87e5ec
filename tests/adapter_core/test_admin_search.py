"""`GET /admin/sessions?q=` on a real `tv-adapter serve` holding exactly three tokens."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from adapter_core.admin.search import MAX_QUERY_LENGTH
from tests.support.adapter_process import AdapterProcess
from tests.support.tradingview_client import mint


@pytest.fixture
def admin(adapter: AdapterProcess) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {adapter.broker_secret}"}
    with httpx.Client(base_url=adapter.url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def tokens(adapter: AdapterProcess) -> dict[str, str]:
    """Token ids by name: the only tokens this server ever issues."""
    bodies = {
        "a": {"userId": 14601, "ctidTraderAccountIds": [137780091]},
        "b": {"userId": 14602, "ctidTraderAccountIds": [137780412]},
        "c": {"userId": 14603, "brokerNames": ["BESTBROKER-EU"]},
    }
    headers = {"Authorization": f"Bearer {adapter.broker_secret}"}
    ids = {}
    for name, body in bodies.items():
        token = mint(adapter.url, adapter.broker_secret, **body)
        answer = httpx.post(
            f"{adapter.url}/admin/tokens/introspect",
            json={"token": token},
            headers=headers,
            timeout=10,
        ).json()
        ids[name] = answer["d"]["token"]["tokenId"]
    return ids


def listing(admin: httpx.Client, **params: Any) -> dict[str, Any]:
    response = admin.get("/admin/sessions", params={"limit": 500, **params})
    body = response.json()
    assert response.status_code == 200, body
    found: dict[str, Any] = body["d"]
    return found


def found(admin: httpx.Client, tokens: dict[str, str], **params: Any) -> set[str]:
    names = {token_id: name for name, token_id in tokens.items()}
    rows = listing(admin, **params)["rows"]
    return {names[row["tokenId"]] for row in rows}


@pytest.mark.parametrize(
    ("q", "names"),
    [
        ("1377", {"a", "b"}),
        ("137780091", {"a"}),
        ("146", {"a", "b", "c"}),
        ("14602", {"b"}),
        ("BESTBROKER-EU", {"c"}),
        (" bestbroker-eu ", {"c"}),
        ("BESTBROKER", {"a", "b"}),
        ("", {"a", "b", "c"}),
        ("nosuchbroker", set()),
    ],
)
def test_q_finds_exactly_the_matching_tokens(
    admin: httpx.Client, tokens: dict[str, str], q: str, names: set[str]
) -> None:
    assert found(admin, tokens, q=q) == names


@pytest.mark.parametrize("name", ["a", "b", "c"])
def test_q_finds_a_token_by_the_start_of_its_id(
    admin: httpx.Client, tokens: dict[str, str], name: str
) -> None:
    assert found(admin, tokens, q=tokens[name][:8]) == {name}
    assert found(admin, tokens, q=tokens[name][:8].upper()) == {name}


def test_q_combines_with_filters_paging_and_sort(
    admin: httpx.Client, tokens: dict[str, str]
) -> None:
    assert found(admin, tokens, q="146", userId=14602) == {"b"}
    assert found(admin, tokens, q="1377", broker="BESTBROKER", account=137780412) == {"b"}
    assert found(admin, tokens, q="146", state="issued") == {"a", "b", "c"}
    assert found(admin, tokens, q="146", state="active") == set()
    assert found(admin, tokens, q="146", tokenIds=f"{tokens['a']},{tokens['c']}") == {"a", "c"}
    ascending = listing(admin, q="146", sort="userId", order="asc")["rows"]
    assert [row["userId"] for row in ascending] == [14601, 14602, 14603]
    pages = [
        listing(admin, q="146", sort="userId", order="asc", limit=2, offset=offset)
        for offset in (0, 2)
    ]
    assert [page["total"] for page in pages] == [3, 3]
    assert [row["userId"] for page in pages for row in page["rows"]] == [14601, 14602, 14603]
    by_activity = listing(admin, q="1377", sort="lastActivity", limit=1)
    assert by_activity["total"] == 2


def test_q_longer_than_the_maximum_is_refused(admin: httpx.Client) -> None:
    assert listing(admin, q=f"  {'x' * MAX_QUERY_LENGTH}  ")["total"] == 0
    response = admin.get("/admin/sessions", params={"q": "x" * (MAX_QUERY_LENGTH + 1)})
    assert response.status_code == 400
    errmsg = response.json()["errmsg"]
    assert errmsg.startswith("q must be at most 64 characters")
