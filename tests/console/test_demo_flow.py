"""The onboarding demo acted out with no window: cases A, B and C against a real embedded
adapter with its demo CRM, the exchanges each stage makes, trading and logging out with the
minted token, the masked transcript and `tv-adapter-console demo`."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest

from adapter_core.embedded import EmbeddedAdapter
from adapter_core.tokens.keyring import KeyRing
from console.demo import cli
from console.demo.cli import demo_main
from console.demo.flow import (
    EXISTING_USER,
    Arrow,
    ArrowKind,
    ClientAreaForm,
    DemoError,
    DemoFlow,
)
from console.demo.handout import transcript_html
from console.demo.stages import STAGES, Actor, Case
from console.services.client import Answer, RawExchange
from console.verify.model import Exchange

LIVE, DEMO, EU = 137780091, 137792301, 137800001
"""User 14601's accounts in the demo data set: two with BESTBROKER, one with BESTBROKER-EU."""
AWKWARD = '/+="\\&%?#'
"""Characters that JSON-escaping or percent-encoding spell differently."""
CRM_STAGES = {Case.A: {9, 10, 11, 12}, Case.B: {9, 10, 11, 12}, Case.C: {7}}
LONG_TOKEN_LIKE = re.compile(r"[A-Za-z0-9_-]{60,}")


@dataclass(frozen=True, slots=True)
class DemoAdapter:
    url: str
    secret: str


@pytest.fixture(scope="module")
def demo_adapter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoAdapter]:
    """One embedded adapter with the demo CRM for the module, as `demo` starts it."""
    secret = f"demo-{secrets.token_urlsafe(24)}{AWKWARD}"
    adapter = EmbeddedAdapter(
        tmp_path_factory.mktemp("demo-adapter"), KeyRing.generate(), secret, log_level="warning"
    )
    url = adapter.start()
    try:
        yield DemoAdapter(url, secret)
    finally:
        adapter.stop()


Then = Callable[[DemoFlow, httpx.AsyncClient], Awaitable[None]]


def act(
    adapter: DemoAdapter,
    case: Case,
    *,
    form: ClientAreaForm | None = None,
    then: Then | None = None,
    until: int = len(STAGES),
) -> DemoFlow:
    """The flow up to stage `until`, then `then(flow, http)` with a plain HTTP client."""

    async def go() -> DemoFlow:
        flow = DemoFlow(adapter.url, adapter.secret, case, form=form)
        try:
            async with httpx.AsyncClient(base_url=adapter.url, timeout=10) as http:
                await flow.prepare()
                while flow.position < until:
                    await flow.advance()
                if then is not None:
                    await then(flow, http)
        finally:
            await flow.aclose()
        return flow

    return asyncio.run(go())


async def crm_accounts(http: httpx.AsyncClient, secret: str, user: int) -> list[dict[str, Any]]:
    """The demo CRM's list of a user's accounts, read with the broker secret."""
    answer = await http.get(
        f"/demo/users/{user}/accounts", headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["s"] == "ok", body
    accounts = body["d"]
    assert isinstance(accounts, list)
    return accounts


async def tradingview(http: httpx.AsyncClient, token: str | None, path: str) -> httpx.Response:
    """A TradingView call with the token, as the Trading Panel makes it."""
    assert token is not None
    return await http.get(
        path, params={"locale": "en"}, headers={"Authorization": f"Bearer {token}"}
    )


def path_of(exchange: Exchange) -> str:
    return "/" + exchange.url.split("://", 1)[-1].partition("/")[2].split("?", 1)[0]


def calls(exchanges: list[Exchange]) -> list[str]:
    return [f"{exchange.method} {path_of(exchange)}" for exchange in exchanges]


def granted(flow: DemoFlow) -> list[int]:
    """The accounts the Trading Panel was given with the token (stage 17's GET /accounts)."""
    return sorted(int(account["id"]) for account in flow.panel.accounts)


def spellings(value: str) -> set[str]:
    """Every way the value could leak: as is, JSON-escaped (ASCII or not), percent-encoded."""
    return {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
    }


def assert_hidden(text: str, *values: str | None) -> None:
    for value in values:
        assert value
        for spelling in spellings(value):
            assert spelling not in text


# The three cases, end to end


def test_case_a_creates_a_user_an_account_and_the_link(demo_adapter: DemoAdapter) -> None:
    held: dict[str, list[dict[str, Any]]] = {}

    async def read(flow: DemoFlow, http: httpx.AsyncClient) -> None:
        assert flow.user_id is not None
        held["user"] = await crm_accounts(http, demo_adapter.secret, flow.user_id)

    flow = act(demo_adapter, Case.A, then=read)
    assert flow.finished
    assert flow.setup == []
    created = flow.exchanges[10]
    assert [exchange.status for exchange in created] == [200, 200, 200]
    account = flow.account_ids[0]
    assert calls(created) == [
        "POST /demo/users",
        "POST /demo/accounts",
        f"POST /demo/accounts/{account}/link",
    ]
    user = flow.user_id
    assert user is not None
    assert user != EXISTING_USER
    assert json.loads(created[0].response_body)["d"]["userId"] == user
    assert flow.account_ids == [account]
    assert flow.broker_names == ["BESTBROKER"]
    assert [(a["ctidTraderAccountId"], a["userId"], a["brokerName"]) for a in held["user"]] == [
        (account, user, "BESTBROKER")
    ]
    assert granted(flow) == [account]
    assert flow.panel.state["balance"] == 10_000
    assert flow.arrows[-1].label.endswith(": balance 10,000.00 USD")  # as the panel says it


def test_case_b_registers_before_the_demo_and_creates_only_the_account(
    demo_adapter: DemoAdapter,
) -> None:
    seen: dict[str, Any] = {}

    async def registered(flow: DemoFlow, http: httpx.AsyncClient) -> None:
        assert flow.user_id is not None
        seen["user"] = flow.user_id
        seen["before"] = await crm_accounts(http, demo_adapter.secret, flow.user_id)

    prepared = act(demo_adapter, Case.B, until=0, then=registered)
    assert prepared.position == 0
    assert calls(prepared.setup) == ["POST /demo/users"]
    assert prepared.setup[0].status == 200
    assert json.loads(prepared.setup[0].response_body)["d"]["userId"] == seen["user"]
    assert seen["before"] == []  # registered, no cTrader account yet
    assert all(not exchanges for exchanges in prepared.exchanges.values())

    async def after(flow: DemoFlow, http: httpx.AsyncClient) -> None:
        assert flow.user_id is not None
        seen["after"] = await crm_accounts(http, demo_adapter.secret, flow.user_id)

    flow = act(demo_adapter, Case.B, then=after)
    assert calls(flow.setup) == ["POST /demo/users"]
    account = flow.account_ids[0]
    assert calls(flow.exchanges[10]) == [
        "POST /demo/accounts",
        f"POST /demo/accounts/{account}/link",
    ]
    assert [(a["ctidTraderAccountId"], a["userId"]) for a in seen["after"]] == [
        (account, flow.user_id)
    ]
    assert granted(flow) == [account]


def test_case_c_creates_nothing_and_the_token_grants_the_chosen_account(
    demo_adapter: DemoAdapter,
) -> None:
    held: dict[str, Any] = {}

    async def read(flow: DemoFlow, http: httpx.AsyncClient) -> None:
        held["user"] = await crm_accounts(http, demo_adapter.secret, EXISTING_USER)
        held["accounts"] = (await tradingview(http, flow.token, "/accounts")).json()["d"]
        held["other"] = await tradingview(http, flow.token, f"/accounts/{LIVE}/state")

    flow = act(demo_adapter, Case.C, form=ClientAreaForm(link=(DEMO,)), then=read)
    every = [exchange for exchanges in flow.exchanges.values() for exchange in exchanges]
    assert flow.setup == []
    assert [call for call in calls(every) if call.startswith("POST")] == ["POST /generate/token"]
    assert flow.user_id == EXISTING_USER
    assert flow.account_ids == [DEMO]
    minted = json.loads(flow.exchanges[13][0].request_body)
    assert minted["userId"] == EXISTING_USER
    assert minted["ctidTraderAccountIds"] == [DEMO]
    assert granted(flow) == [DEMO]
    assert [int(account["id"]) for account in held["accounts"]] == [DEMO]
    assert held["other"].status_code != 200 or held["other"].json()["s"] == "error"
    assert sorted(a["ctidTraderAccountId"] for a in held["user"]) == [LIVE, DEMO, EU]


def test_case_c_with_no_choice_links_every_account_with_the_broker_and_no_other(
    demo_adapter: DemoAdapter,
) -> None:
    flow = act(demo_adapter, Case.C)
    assert sorted(int(a["ctidTraderAccountId"]) for a in flow.available) == [LIVE, DEMO, EU]
    assert sorted(flow.account_ids) == [LIVE, DEMO]
    assert flow.broker_names == ["BESTBROKER"]
    assert sorted(json.loads(flow.exchanges[13][0].request_body)["ctidTraderAccountIds"]) == [
        LIVE,
        DEMO,
    ]
    assert granted(flow) == [LIVE, DEMO]


# Which stage makes which exchange


@pytest.mark.parametrize("case", list(Case))
def test_each_exchange_belongs_to_its_stage_and_skipped_stages_make_none(
    demo_adapter: DemoAdapter, case: Case
) -> None:
    flow = act(demo_adapter, case)
    transcript = flow.transcript()
    steps = {step["number"]: step for step in transcript["steps"]}
    skipped = {stage.number for stage in STAGES if not stage.applies(case)}
    assert skipped == (set() if case is not Case.C else {9, 10, 11, 12})
    for number in skipped:
        assert flow.exchanges[number] == []
        assert steps[number]["exchanges"] == []
        assert steps[number]["applies"] is False
        assert steps[number]["narration"].startswith(f"Does not apply to case {case}")
    for number, step in steps.items():
        if number not in skipped:
            assert step["applies"] is True
            assert "Does not apply" not in step["narration"]
    where: dict[str, set[int]] = {"crm": set(), "mint": set(), "panel": set()}
    for number, exchanges in flow.exchanges.items():
        for exchange in exchanges:
            path = path_of(exchange)
            if path.startswith("/demo/"):
                where["crm"].add(number)
            elif path == "/generate/token":
                where["mint"].add(number)
            else:
                where["panel"].add(number)
    assert where["crm"]
    assert where["crm"] <= CRM_STAGES[case]
    assert where["mint"] == {13}
    assert where["panel"] == {17}
    assert calls(flow.exchanges[17]) == [
        "GET /config",
        "GET /accounts",
        f"GET /accounts/{flow.panel.accounts[0]['id']}/state",
    ]
    assert all(
        exchange.status == 200 for exchanges in flow.exchanges.values() for exchange in exchanges
    )


# The diagram's order


@pytest.mark.parametrize("case", list(Case))
def test_each_arrow_comes_when_its_stage_is_acted_out(
    demo_adapter: DemoAdapter, case: Case
) -> None:
    """The answers the document puts at stages 12, 14 and 20 come when those are acted out, not
    with their requests, so the diagram's rows follow the stages and each Next draws what its
    narration tells."""
    drawn: list[tuple[int, int]] = []
    """(the arrow's stage, the stage being acted out when it came)"""

    async def go() -> DemoFlow:
        flow = DemoFlow(
            demo_adapter.url,
            demo_adapter.secret,
            case,
            on_arrow=lambda arrow: drawn.append((arrow.stage, flow.position + 1)),
        )
        try:
            await flow.prepare()
            while not flow.finished:
                await flow.advance()
        finally:
            await flow.aclose()
        return flow

    flow = asyncio.run(go())
    assert [stage for stage, _ in drawn] == [arrow.stage for arrow in flow.arrows]
    assert [stage for stage, acting in drawn if stage != acting] == []
    answered = {arrow.stage for arrow in flow.arrows if arrow.kind is ArrowKind.ANSWER}
    assert answered == ({7, 14, 20} if case is Case.C else {12, 14, 20})


# Trading and logging out with the minted token


def test_an_order_placed_from_the_panel_shows_up_with_the_token(demo_adapter: DemoAdapter) -> None:
    found: dict[str, Any] = {}

    async def trade(flow: DemoFlow, http: httpx.AsyncClient) -> None:
        account = str(flow.panel.accounts[0]["id"])
        instruments = await tradingview(http, flow.token, f"/accounts/{account}/instruments")
        name = str(instruments.json()["d"][0]["name"])
        found["before"] = {
            endpoint: (
                await tradingview(http, flow.token, f"/accounts/{account}/{endpoint}")
            ).json()
            for endpoint in ("orders", "positions")
        }
        found["order"] = await flow.place_order(account, name, "buy", "market", 0.1)
        found["name"] = name
        found["after"] = {
            endpoint: (
                await tradingview(http, flow.token, f"/accounts/{account}/{endpoint}")
            ).json()
            for endpoint in ("orders", "positions")
        }

    flow = act(demo_adapter, Case.A, then=trade)
    assert found["before"] == {"orders": {"s": "ok", "d": []}, "positions": {"s": "ok", "d": []}}
    assert found["order"]
    orders = found["after"]["orders"]["d"]
    positions = found["after"]["positions"]["d"]
    ordered = [o for o in orders if o["id"] == found["order"]]
    held = [p for p in positions if p["instrument"] == found["name"] and p["side"] == "buy"]
    assert ordered or held, found["after"]
    if ordered:
        assert (ordered[0]["instrument"], ordered[0]["side"], ordered[0]["qty"]) == (
            found["name"],
            "buy",
            0.1,
        )
    assert calls(flow.trade_exchanges) == [f"POST /accounts/{flow.panel.accounts[0]['id']}/orders"]
    assert flow.arrows[-2].label.startswith("POST /accounts/")
    assert flow.arrows[-2].source is Actor.TRADINGVIEW


@pytest.mark.parametrize(
    ("by", "actor"), [("tradingview", Actor.TRADINGVIEW), ("crm", Actor.CLIENT_AREA)]
)
def test_a_logout_from_either_side_ends_the_token(
    demo_adapter: DemoAdapter, by: str, actor: Actor
) -> None:
    seen: dict[str, Any] = {}

    async def logout(flow: DemoFlow, http: httpx.AsyncClient) -> None:
        seen["before"] = (await tradingview(http, flow.token, "/accounts")).status_code
        seen["answer"] = await flow.logout(by)
        seen["after"] = (await tradingview(http, flow.token, "/accounts")).status_code

    flow = act(demo_adapter, Case.C, then=logout)
    assert seen["before"] == 200
    assert seen["answer"].status == 401
    assert seen["after"] == 401
    assert flow.logged_out_by == by
    assert calls(flow.logout_exchanges) == ["POST /logout", "GET /accounts"]
    assert [exchange.status for exchange in flow.logout_exchanges] == [200, 401]
    requests = [a for a in flow.arrows if a.kind is ArrowKind.REQUEST and a.label == "POST /logout"]
    assert [(a.source, a.target) for a in requests] == [(actor, Actor.ADAPTER)]
    answers = [
        a for a in flow.arrows if a.kind is ArrowKind.ANSWER and a.exchange is requests[0].exchange
    ]
    assert [(a.source, a.target, a.status) for a in answers] == [(Actor.ADAPTER, actor, 200)]
    refused = flow.arrows[-1]
    assert (refused.source, refused.target, refused.status) == (
        Actor.ADAPTER,
        Actor.TRADINGVIEW,
        401,
    )
    ended = flow.transcript()["logout"]
    assert ended["by"] == by
    assert [exchange["status"] for exchange in ended["exchanges"]] == [200, 401]


def test_abandoning_a_run_logs_out_its_live_token_and_closes_its_client(
    demo_adapter: DemoAdapter,
) -> None:
    seen: dict[str, int] = {}

    async def abandon(flow: DemoFlow, http: httpx.AsyncClient) -> None:
        await flow.abandon()
        seen["after"] = (await tradingview(http, flow.token, "/accounts")).status_code
        seen["closed"] = flow.client.is_closed

    flow = act(demo_adapter, Case.A, until=15, then=abandon)
    assert seen == {"after": 401, "closed": True}
    assert flow.logged_out_by is None
    assert not any(arrow.label == "POST /logout" for arrow in flow.arrows)


def test_abandoning_closes_the_client_even_when_the_logout_fails(
    demo_adapter: DemoAdapter,
) -> None:
    async def abandon(flow: DemoFlow, http: httpx.AsyncClient) -> None:
        flow.client.close_unused()
        with pytest.raises(DemoError):
            await flow.abandon()
        assert (await tradingview(http, flow.token, "/accounts")).status_code == 200

    act(demo_adapter, Case.A, until=13, then=abandon)


@pytest.mark.parametrize("how", ["meanwhile", "cancelled"])
def test_a_token_whose_mint_answers_after_the_abandon_is_logged_out(
    demo_adapter: DemoAdapter, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """Abandoned while stage 13 awaits its answer: the run goes on meanwhile (a restart), or
    its stage is cancelled (the window closing). Either way the token the adapter minted is
    logged out, and that logout is passed on for the Activity log like every other call."""
    exchanges: list[RawExchange] = []
    minted: list[str] = []

    async def go() -> tuple[DemoFlow, int]:
        flow = DemoFlow(demo_adapter.url, demo_adapter.secret, Case.C, on_exchange=exchanges.append)
        answered, release = asyncio.Event(), asyncio.Event()
        send = flow.client.request

        async def late(method: str, path: str, **kwargs: Any) -> Answer:
            answer = await send(method, path, **kwargs)
            if path == "/generate/token":
                minted.append(str(answer.data))
                answered.set()
                await release.wait()
            return answer

        monkeypatch.setattr(flow.client, "request", late)
        async with httpx.AsyncClient(base_url=demo_adapter.url, timeout=10) as http:
            while flow.position < 12:
                await flow.advance()
            stage = asyncio.ensure_future(flow.advance())
            await answered.wait()
            if how == "cancelled":
                stage.cancel()
            ending = asyncio.ensure_future(flow.abandon())
            await asyncio.sleep(0.05)
            release.set()
            await ending
            await asyncio.gather(stage, return_exceptions=True)
            after = (await tradingview(http, minted[0], "/accounts")).status_code
        return flow, after

    flow, after = asyncio.run(go())
    assert after == 401
    assert flow.client.is_closed
    calls = [(exchange.method, exchange.path, exchange.status) for exchange in exchanges]
    assert calls[-2:] == [("POST", "/generate/token", 200), ("POST", "/logout", 200)]
    assert max(arrow.stage for arrow in flow.arrows) < 13  # nothing drawn once abandoned


# What is written down never holds a credential


def _arrow_text(arrow: Arrow) -> str:
    exchange = arrow.exchange
    shown = json.dumps(exchange.to_json(), ensure_ascii=False) if exchange is not None else ""
    return arrow.label + shown


@pytest.mark.parametrize("case", list(Case))
def test_the_transcript_never_holds_the_secret_or_the_token(
    demo_adapter: DemoAdapter, case: Case
) -> None:
    async def trade_and_leave(flow: DemoFlow, http: httpx.AsyncClient) -> None:
        account = str(flow.panel.accounts[0]["id"])
        await flow.place_order(account, "EURUSD", "sell", "limit", 0.2, 1.5)
        await flow.logout("crm")

    flow = act(demo_adapter, case, then=trade_and_leave)
    assert flow.token is not None
    transcript = flow.transcript()
    assert transcript["logout"] is not None
    assert_hidden(json.dumps(transcript), demo_adapter.secret, flow.token)
    written = [
        json.dumps(transcript, ensure_ascii=False),
        transcript_html(transcript),
        "\n".join(_arrow_text(arrow) for arrow in flow.arrows),
    ]
    for text in written:
        assert_hidden(text, demo_adapter.secret, flow.token)
        assert "‹broker secret›" in text
        assert "‹token " in text
    assert not LONG_TOKEN_LIKE.search(json.dumps(transcript, ensure_ascii=False))


# tv-adapter-console demo


def _check_shape(document: dict[str, Any], case: str, by: str) -> None:
    assert document["case"] == case
    steps = document["steps"]
    assert [step["number"] for step in steps] == [stage.number for stage in STAGES]
    assert [step["title"] for step in steps] == [stage.title for stage in STAGES]
    for step, stage in zip(steps, STAGES, strict=True):
        assert {"number", "title", "applies", "narration", "exchanges"} <= set(step)
        assert step["applies"] is stage.applies(Case(case))
        assert isinstance(step["narration"], str)
        assert step["narration"]
        for exchange in step["exchanges"]:
            assert {"method", "path", "status"} <= set(exchange)
            assert exchange["path"].startswith("/")
            assert exchange["status"] == 200
    assert any(step["exchanges"] for step in steps)
    logout = document["logout"]
    assert logout["by"] == by
    assert [(e["method"], e["path"].split("?")[0], e["status"]) for e in logout["exchanges"]] == [
        ("POST", "/logout", 200),
        ("GET", "/accounts", 401),
    ]


@pytest.mark.parametrize(
    ("arguments", "case", "by"),
    [
        (["--case", "A"], "A", "tradingview"),
        (["--case", "B"], "B", "tradingview"),
        (["--case", "C"], "C", "tradingview"),
        (["--case", "C", "--logout", "crm", "--link", str(DEMO)], "C", "crm"),
    ],
)
def test_the_demo_command_completes_and_writes_the_transcript(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    case: str,
    by: str,
) -> None:
    secret = f"cli-{secrets.token_urlsafe(24)}{AWKWARD}"
    monkeypatch.setattr(cli, "secrets", SimpleNamespace(token_urlsafe=lambda _: secret))
    path = tmp_path / "transcript.json"
    assert demo_main([*arguments, "--transcript", str(path)]) == 0
    text = path.read_text(encoding="utf-8")
    document = json.loads(text)
    _check_shape(document, case, by)
    if "--link" in arguments:
        assert document["accounts"] == [DEMO]
    assert_hidden(text, secret)
    assert not LONG_TOKEN_LIKE.search(text)
    out = capsys.readouterr().out
    assert "21/21 The trader sees it" in out
    assert "refused the token (401)" in out
    assert_hidden(out, secret)


def test_the_demo_command_fails_when_the_token_outlives_the_logout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A logout the adapter did not honour: the follow-up call still answers 200."""

    async def ignored(flow: DemoFlow, by: str) -> Answer:
        flow.logged_out_by = by
        return await flow._call(
            len(STAGES), len(STAGES), Actor.TRADINGVIEW, Actor.ADAPTER, "GET", "/accounts",
            bearer=flow.token, params={"locale": "en"}, into=flow.logout_exchanges,
        )  # fmt: skip

    monkeypatch.setattr(DemoFlow, "logout", ignored)
    path = tmp_path / "transcript.json"
    assert demo_main(["--case", "C", "--transcript", str(path)]) == 2
    assert json.loads(path.read_text(encoding="utf-8"))["logout"]["exchanges"][-1]["status"] == 200
    assert "still accepted the token" in capsys.readouterr().out


@pytest.mark.parametrize(
    "arguments",
    [
        [],
        ["--case", "D"],
        ["--case", "A", "--logout", "nobody"],
        ["--case", "C", "--link", "many"],
        ["--case", "A", "--surprise"],
        ["--case", "C", "--link", str(EU)],  # not with BESTBROKER: nothing to link
        ["--case", "C", "--link", "1"],  # not the trader's
    ],
)
def test_the_demo_command_refuses_what_it_cannot_act_out(
    capsys: pytest.CaptureFixture[str], arguments: list[str]
) -> None:
    assert demo_main(arguments) == 2
    assert capsys.readouterr().err.strip()
