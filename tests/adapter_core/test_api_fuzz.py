"""Fuzzing the whole HTTP surface from its OpenAPI document: no input gives a 5xx.

Schemathesis loads /openapi.json from a real `tv-adapter serve --demo` and, for every documented
operation but the endless /admin/events stream, Hypothesis draws valid and invalid requests from
it. Each request carries the credential its operation's security scheme names. Every answer must
be below 500 and match the document: status code, content type, headers and body schema.

The fuzz swaps generated ids and names, field by field, for ones that exist (the token's
account, a working order and its brackets, an open position, an issued token id, a traded
symbol), so it also reaches the handlers behind the "no such account" refusals.

One pytest test per operation, listed from `openapi_document` at collection time; the first test
proves that document is byte for byte the served one. (Schemathesis's own `parametrize` and lazy
`from_fixture` loader do not fit pytest 9.2: the former gives every operation the same node id,
the latter fails on the removed `Function._nodeid`.) Generation is derandomized: a run is
reproducible.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from adapter_core.api.openapi import openapi_document
from tests.support.adapter_process import AdapterProcess
from tests.support.tradingview_client import TradingViewClient, mint

MAX_EXAMPLES = 60
ACCOUNT = "137780091"
"""User 14601's live BESTBROKER account: the fuzz trades on it."""
SPARE_ACCOUNT = "137792301"
"""User 14601's demo BESTBROKER account: the pinned inputs below trade on it."""
USER_ID = 14601
SYMBOL = "EURUSD"
FAR = 0.05
"""Five hundred EURUSD pips below the market: a buy limit there stays working."""
WAIT_TIMEOUT = 5.0
Case = schemathesis.Case[Any]
CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
UVICORN_REPEAT = " ERROR uvicorn.error: Exception in ASGI application"
EXCLUDED = "/admin/events"
"""An endless Server-Sent Events stream: nothing to fuzz, and the request never ends."""
DOCUMENT = openapi_document(demo_crm=True)
OPERATIONS = [
    pytest.param(method.upper(), path, id=f"{method.upper()} {path}")
    for path, item in DOCUMENT["paths"].items()
    if path != EXCLUDED
    for method in item
]
MANY_DIGITS = "9" * 4301
"""One digit more than int() converts from text."""
TRICKY_TEXT = ["¹", "\u0661\u0662", "0", "-1", " 7", "1e3", MANY_DIGITS]
"""'¹' passes str.isdigit() but not int(); Arabic-Indic digits pass both."""
TRICKY_NUMBERS = ["1e308", "-1e308", "1e-320", "nan", "inf", "-0", "1_000"]
TRICKY_PATH = dict.fromkeys(
    ("account_id", "order_id", "position_id", "token_id", "user_id"), TRICKY_TEXT
)
TRICKY_QUERY = dict.fromkeys(("maxCount", "limit", "offset", "userId", "account"), TRICKY_TEXT)
PRICE_FIELDS = ("limitPrice", "stopPrice", "stopLoss", "takeProfit")
TRICKY_BODY: dict[str, list[Any]] = {
    **dict.fromkeys(("qty", "amount", *PRICE_FIELDS), TRICKY_NUMBERS),
    "userId": [0, -1, 2**63, 2**64, 1e308],
    "balance": [1e308, -0.0, 2**64],
}
CONFIG = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
"""Credentials are ours to set (see `credential`), not Schemathesis's to generate."""
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@dataclass
class Known:
    """Values that exist on the server, per parameter or field name, for the fuzz to swap in."""

    path: dict[str, list[Any]]
    demo_path: dict[str, list[Any]]
    query: dict[str, list[Any]]
    body: dict[str, list[Any]]

    def hooks(self) -> list[Any]:
        """Schemathesis `flatmap_*` hooks that swap known and tricky values in."""

        def flatmap_path_parameters(
            context: schemathesis.HookContext, path_parameters: Any
        ) -> st.SearchStrategy[Any]:
            demo = context.operation is not None and context.operation.path.startswith("/demo/")
            return _swap(path_parameters, self.demo_path if demo else self.path, TRICKY_PATH)

        def flatmap_query(context: schemathesis.HookContext, query: Any) -> st.SearchStrategy[Any]:
            return _swap(query, self.query, TRICKY_QUERY)

        def flatmap_body(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
            return _swap(body, self.body, TRICKY_BODY)

        return [flatmap_path_parameters, flatmap_query, flatmap_body]


def _swap(
    generated: Any, known: dict[str, list[Any]], tricky: dict[str, list[Any]]
) -> st.SearchStrategy[Any]:
    """The generated mapping with each field kept, or swapped for a known or a tricky value.

    Most ids must exist for a request to get past the first lookup, so a known value is
    drawn for about three fields in five, the generated one or a tricky one for one each.
    """
    if not isinstance(generated, dict):
        return st.just(generated)

    def field(name: str, value: Any) -> st.SearchStrategy[Any]:
        sources = {
            "known": st.sampled_from(known[name]) if name in known else st.just(value),
            "generated": st.just(value),
            "tricky": st.sampled_from(tricky[name]) if name in tricky else st.just(value),
        }
        picks = ["known"] * 3 + ["generated", "tricky"]
        return st.sampled_from(picks).flatmap(sources.__getitem__)

    return st.fixed_dictionaries({name: field(name, value) for name, value in generated.items()})


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdapterProcess]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz") / "data"
    with AdapterProcess(data_dir, ["--demo"]) as process:
        yield process


@pytest.fixture(scope="module")
def token(demo: AdapterProcess) -> str:
    """The bearer every TradingView operation but /logout shares."""
    return mint(demo.url, demo.broker_secret, brokerNames=["BESTBROKER", "BESTBROKER-EU"])


def broker(demo: AdapterProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {demo.broker_secret}"}


def credential(case: Case, demo: AdapterProcess, token: str) -> dict[str, str]:
    """The Authorization header the operation's security requirement names.

    /logout revokes the token it is called with, so it gets a fresh one every time.
    """
    security = case.operation.definition.raw.get("security", [])
    schemes = {name for requirement in security for name in requirement}
    if "brokerSecret" in schemes:
        return broker(demo)
    if "tradingViewToken" in schemes:
        if case.operation.path == "/logout":
            return {"Authorization": f"Bearer {mint(demo.url, demo.broker_secret)}"}
        return {"Authorization": f"Bearer {token}"}
    return {}


@dataclass
class Targets:
    """A working order with both brackets and an open position with a stop loss."""

    order_ids: list[str]
    position_id: str
    prices: list[str]
    """Prices around the market: each valid for some order type, side or bracket."""


def place_targets(client: TradingViewClient, account: str) -> Targets:
    quote = client.ok("GET", "/quotes", params={"accountId": account, "symbols": SYMBOL})[0]
    bid = float(quote["v"]["bid"])
    orders = f"/accounts/{account}/orders"
    form = {"instrument": SYMBOL, "qty": "0.1", "side": "buy", "durationType": "GTC"}
    limit = round(bid - FAR, 5)
    working = client.ok(
        "POST",
        orders,
        form={
            **form,
            "type": "limit",
            "limitPrice": limit,
            "stopLoss": round(limit - 0.01, 5),
            "takeProfit": round(limit + 0.01, 5),
        },
    )["orderId"]
    before = {p["id"] for p in client.ok("GET", f"/accounts/{account}/positions")}
    client.ok("POST", orders, form={**form, "type": "market", "stopLoss": round(bid - FAR, 5)})
    deadline = time.monotonic() + WAIT_TIMEOUT
    while True:
        opened = [
            p["id"]
            for p in client.ok("GET", f"/accounts/{account}/positions")
            if p["id"] not in before and p["qty"] > 0
        ]
        if opened:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"a market order on {account} opened no position in {WAIT_TIMEOUT}s")
        time.sleep(0.1)
    brackets = [o["id"] for o in client.ok("GET", orders) if "parentId" in o]
    prices = [str(round(bid + offset, 5)) for offset in (-FAR, -0.001, 0.001, FAR)]
    return Targets(order_ids=[working, *brackets], position_id=opened[0], prices=prices)


@pytest.fixture(scope="module")
def known(demo: AdapterProcess, token: str) -> Known:
    admin = broker(demo)
    victim = mint(demo.url, demo.broker_secret)
    introspected = httpx.post(
        f"{demo.url}/admin/tokens/introspect", json={"token": victim}, headers=admin, timeout=10
    )
    token_id: str = introspected.json()["d"]["token"]["tokenId"]
    created = httpx.post(
        f"{demo.url}/demo/accounts", json={"brokerName": "BESTBROKER"}, headers=admin, timeout=10
    )
    demo_account = str(created.json()["d"]["ctidTraderAccountId"])
    client = TradingViewClient(demo.url, token)
    try:
        targets = place_targets(client, ACCOUNT)
    finally:
        client.close()
    ids = {"order_id": targets.order_ids, "position_id": [targets.position_id]}
    return Known(
        path=ids | {"account_id": [ACCOUNT], "token_id": [token_id]},
        demo_path={"account_id": [demo_account], "user_id": [str(USER_ID)]},
        query={
            "accountId": [ACCOUNT],
            "instrument": [SYMBOL],
            "symbol": [SYMBOL],
            "symbols": [SYMBOL, f"{SYMBOL},GBPUSD,NOSUCH"],
            "userId": [USER_ID],
            "account": [int(ACCOUNT)],
            "broker": ["BESTBROKER"],
            "tokenIdPrefix": [token_id[:6]],
            "q": [str(USER_ID)[:3], ACCOUNT[:4], "bestbroker-eu", token_id[:8].upper()],
        },
        body={
            "instrument": [SYMBOL],
            "qty": ["0.01", "0.1"],
            "amount": ["0.01"],
            "side": ["buy", "sell"],
            "type": ["market", "limit", "stop", "stoplimit"],
            **dict.fromkeys(PRICE_FIELDS, targets.prices),
            "token": [token, victim],
            "userId": [USER_ID],
        },
    )


@pytest.fixture(scope="module")
def served(demo: AdapterProcess, known: Known) -> schemathesis.BaseSchema:
    """The document as the server serves it, with the known-value hooks."""
    loaded = schemathesis.openapi.from_url(f"{demo.url}/openapi.json", config=CONFIG)
    for hook in known.hooks():
        loaded.hook(hook)
    return loaded


def send(case: Case, demo: AdapterProcess, token: str) -> None:
    """Send the case and run the checks; a failure carries what the server logged meanwhile."""
    logged = demo.stderr_path.stat().st_size
    try:
        case.call_and_validate(
            base_url=demo.url, headers=credential(case, demo, token), checks=CHECKS, timeout=10
        )
    except schemathesis.errors.FailureGroup as failure:
        with demo.stderr_path.open("rb") as log:
            log.seek(logged)
            text = log.read().decode(errors="replace")
        # uvicorn logs the same exception a second time: keep the adapter's own report.
        failure.add_note("The server's log meanwhile:\n" + text.split(UVICORN_REPEAT)[0])
        raise


def test_the_fuzzed_document_is_the_served_one(demo: AdapterProcess) -> None:
    response = httpx.get(f"{demo.url}/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.json() == orjson.loads(orjson.dumps(DOCUMENT))
    assert EXCLUDED in response.json()["paths"]


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_no_input_gives_a_server_error(
    served: schemathesis.BaseSchema, demo: AdapterProcess, token: str, method: str, path: str
) -> None:
    operation = served[path][method]
    cases = st.one_of(
        operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
    )

    @FUZZ_SETTINGS
    @given(case=cases)
    def fuzz(case: Case) -> None:
        send(case, demo, token)

    fuzz()


# Inputs the fuzz (or a probe of the code it pointed at) found to fail, pinned one by one.

# Inputs that once gave a 500 (or a reply the document did not describe), kept as regressions:
# digits that are not ASCII ('¹'), numbers int() refuses (over 4300 digits), a quantity whose
# volume overflows (1e308), and a form body over the size cap (413).


def _pinned(
    test_id: str,
    method: str,
    path: str,
    *,
    parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> Any:
    return pytest.param(
        method,
        path,
        parameters or {},
        query or {},
        body,
        id=test_id,
    )


PINNED = [
    _pinned(
        "state-account-superscript",
        "GET",
        "/accounts/{account_id}/state",
        parameters={"account_id": "¹"},
    ),
    _pinned(
        "state-account-4301-digits",
        "GET",
        "/accounts/{account_id}/state",
        parameters={"account_id": MANY_DIGITS},
    ),
    _pinned(
        "cancel-order-superscript",
        "DELETE",
        "/accounts/{account_id}/orders/{order_id}",
        parameters={"order_id": "¹"},
    ),
    _pinned(
        "position-brackets-superscript",
        "PUT",
        "/accounts/{account_id}/positions/{position_id}",
        parameters={"position_id": "¹"},
        body={},
    ),
    _pinned(
        "history-maxCount-superscript",
        "GET",
        "/accounts/{account_id}/ordersHistory",
        query={"maxCount": "¹"},
    ),
    _pinned(
        "executions-maxCount-4301-digits",
        "GET",
        "/accounts/{account_id}/executions",
        query={"instrument": SYMBOL, "maxCount": MANY_DIGITS},
    ),
    _pinned(
        "sessions-limit-superscript",
        "GET",
        "/admin/sessions",
        query={"limit": "¹"},
    ),
    _pinned(
        "sessions-offset-4301-digits",
        "GET",
        "/admin/sessions",
        query={"offset": MANY_DIGITS},
    ),
    _pinned(
        "demo-link-superscript",
        "POST",
        "/demo/accounts/{account_id}/link",
        parameters={"account_id": "¹"},
        body={"userId": USER_ID},
    ),
    _pinned(
        "demo-user-superscript",
        "GET",
        "/demo/users/{user_id}/accounts",
        parameters={"user_id": "¹"},
    ),
    _pinned(
        "place-qty-1e308",
        "POST",
        "/accounts/{account_id}/orders",
        body={"instrument": SYMBOL, "qty": "1e308", "side": "buy", "type": "market"},
    ),
    _pinned(
        "modify-qty-1e308",
        "PUT",
        "/accounts/{account_id}/orders/{order_id}",
        body={"qty": "1e308"},
    ),
    _pinned(
        "close-amount-1e308",
        "DELETE",
        "/accounts/{account_id}/positions/{position_id}",
        body={"amount": "1e308"},
    ),
    _pinned(
        "place-17k-form-413",
        "POST",
        "/accounts/{account_id}/orders",
        body={"durationType": "x" * 17_000},
    ),
]


@pytest.fixture(scope="module")
def spare_targets(demo: AdapterProcess, token: str) -> Targets:
    client = TradingViewClient(demo.url, token)
    try:
        return place_targets(client, SPARE_ACCOUNT)
    finally:
        client.close()


@pytest.mark.parametrize(("method", "path", "parameters", "query", "body"), PINNED)
def test_pinned_input(
    served: schemathesis.BaseSchema,
    demo: AdapterProcess,
    token: str,
    request: pytest.FixtureRequest,
    method: str,
    path: str,
    parameters: dict[str, str],
    query: dict[str, str],
    body: dict[str, Any] | None,
) -> None:
    """One request the fuzz can generate, sent as is and checked like the fuzz checks it."""
    defaults: dict[str, str] = {"account_id": SPARE_ACCOUNT}
    if "{order_id}" in path or "{position_id}" in path:
        targets: Targets = request.getfixturevalue("spare_targets")
        defaults |= {"order_id": targets.order_ids[0], "position_id": targets.position_id}
    names = [name for name in defaults if f"{{{name}}}" in path]
    operation = served[path][method]
    path_parameters = {**{name: defaults[name] for name in names}, **parameters}
    if body is None:
        case = operation.Case(path_parameters=path_parameters, query=query)
    else:
        media_type = next(iter(operation.definition.raw["requestBody"]["content"]))
        case = operation.Case(
            path_parameters=path_parameters, query=query, body=body, media_type=media_type
        )
    send(case, demo, token)


def test_a_405_names_the_allowed_methods(demo: AdapterProcess, token: str) -> None:
    response = httpx.request(
        "TRACE", f"{demo.url}/config", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 405
    allowed = {method.strip() for method in response.headers.get("allow", "").split(",")}
    assert "GET" in allowed
