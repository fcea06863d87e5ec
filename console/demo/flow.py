"""The integration flow, one stage at a time, against a real adapter with its demo CRM.

Every HTTP exchange a stage makes becomes arrows of the sequence diagram: the request from the
actor that sends it, the answer back at the stage where the document has it (the CRM's answers
at 12, the token at 14, TradingView's data at 20). An answer is held back until its stage is
acted out, so the arrows come in the document's stage order, as the diagram draws them top to
bottom, and each Next draws what its narration describes. What happens inside the adapter (asking
cTrader) has no HTTP exchange here: the backend is simulated in-process, and those arrows are
labelled as such. Secrets and tokens are masked the way verification reports mask them.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from adapter_core.token_request import TokenRequest, request_body
from console.demo.stages import STAGES, Actor, Case, Stage
from console.services.client import (
    AdapterClient,
    AdapterUnavailable,
    Answer,
    ClientSettings,
    RawExchange,
)
from console.verify.masking import Masker
from console.verify.model import Exchange

EXISTING_USER = 14601
"""Case C's trader: the demo data set's user with accounts at two brokers."""
LOCALE = {"locale": "en"}


class ArrowKind(StrEnum):
    REQUEST = "request"
    ANSWER = "answer"
    STEP = "step"
    """Not HTTP: a redirect, a pop-up, or work inside one actor."""


@dataclass(frozen=True, slots=True)
class Arrow:
    stage: int
    source: Actor
    target: Actor
    label: str
    kind: ArrowKind
    exchange: Exchange | None = None
    status: int | None = None


@dataclass(slots=True)
class ClientAreaForm:
    """What the trader types into the broker's client area (stages 7 and 8)."""

    name: str = "Dana Novak"
    broker: str = "BESTBROKER"
    currency: str = "USD"
    balance: int = 10_000
    is_live: bool = False
    is_verified: bool = True
    link: tuple[int, ...] = ()
    """Case C: the existing accounts to link (empty: all the trader has with the broker)."""


class DemoError(Exception):
    """A stage could not be acted out (the adapter refused or could not be reached)."""


@dataclass(slots=True)
class PanelData:
    """What the Trading Panel shows after stage 21, as the adapter answered it."""

    config: dict[str, Any] = field(default_factory=dict)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)


class DemoFlow:
    def __init__(
        self,
        base_url: str,
        secret: str,
        case: Case,
        *,
        form: ClientAreaForm | None = None,
        on_arrow: Callable[[Arrow], None] | None = None,
        on_exchange: Callable[[RawExchange], None] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.case = case
        self.form = form or ClientAreaForm()
        self.masker = Masker([secret])
        self._secret = secret
        self._on_arrow = on_arrow
        self._on_exchange = on_exchange
        self._last: Exchange | None = None
        self.client = AdapterClient(ClientSettings(base_url, True, timeout), self._record)
        self.arrows: list[Arrow] = []
        self.setup: list[Exchange] = []
        self.exchanges: dict[int, list[Exchange]] = {stage.number: [] for stage in STAGES}
        self.position = 0
        """The last stage acted out (0: none yet)."""
        self.user_id: int | None = EXISTING_USER if case is Case.C else None
        self.available: list[dict[str, Any]] = []
        """Case C: the trader's accounts with the broker, as the client area sees them."""
        self.account_ids: list[int] = []
        self.broker_names: list[str] = []
        self.token: str | None = None
        self.panel = PanelData()
        self.logged_out_by: str | None = None
        self.logout_exchanges: list[Exchange] = []
        self.trade_exchanges: list[Exchange] = []
        self._held: list[Arrow] = []
        """Answers whose stage is still to come (see the module's docstring)."""
        self._minting: asyncio.Task[Answer] | None = None
        """Stage 13's request: it runs on when its stage is cancelled (the window closing),
        so `abandon` can still learn the token it minted and log it out."""
        self._abandoned = False

    async def aclose(self) -> None:
        await self.client.aclose()

    async def abandon(self) -> None:
        """End a run nobody will finish: a token it minted and did not log out would stay
        live on the adapter, so it is logged out first (no arrow: the run is gone), then the
        client closes, even when that logout fails or is cancelled. A mint still awaiting its
        answer is waited for: the adapter may already have minted that token.

        Raises DemoError when the token could not be logged out."""
        self._abandoned = True
        try:
            if self._minting is not None:
                await asyncio.wait([self._minting])
            token = self.token or self._late_token()
            if token is not None and self.logged_out_by is None:
                self.masker.add_token(token)
                try:
                    answer = await self.client.request("POST", "/logout", bearer=token)
                except AdapterUnavailable as exc:
                    raise DemoError(str(exc)) from None
                if not answer.ok:
                    raise DemoError(f"/logout answered {answer.status}: {answer.errmsg}")
        finally:
            await self.aclose()

    def _late_token(self) -> str | None:
        """The token of a finished mint whose stage was cancelled before reading it."""
        minting = self._minting
        if minting is None or minting.cancelled() or minting.exception() is not None:
            return None
        answer = minting.result()
        return answer.data if answer.ok and isinstance(answer.data, str) else None

    # Recording

    def _record(self, raw: RawExchange) -> None:
        """Kept masked for the diagram, and passed on (the console's Activity log redacts
        it there), so a demo's calls are listed with every other call of the console."""
        self._last = self.masker.exchange(raw)
        if self._on_exchange is not None:
            self._on_exchange(raw)

    def _take_last(self) -> Exchange | None:
        last, self._last = self._last, None
        return last

    def _arrow(self, arrow: Arrow) -> None:
        if arrow.stage > self.position + 1:
            self._held.append(arrow)
        else:
            self._draw(arrow)

    def _release(self, last: int) -> None:
        """Draw the held answers of the stages up to `last`."""
        due = [arrow for arrow in self._held if arrow.stage <= last]
        self._held = [arrow for arrow in self._held if arrow.stage > last]
        for arrow in due:
            self._draw(arrow)

    def _draw(self, arrow: Arrow) -> None:
        if self._abandoned:  # a stage that ends after `abandon` draws into nobody's diagram
            return
        self.arrows.append(arrow)
        if self._on_arrow is not None:
            self._on_arrow(arrow)

    def _step(self, stage: int, source: Actor, target: Actor, label: str) -> None:
        self._arrow(Arrow(stage, source, target, label, ArrowKind.STEP))

    async def _call(
        self,
        stage: int,
        answer_stage: int,
        source: Actor,
        target: Actor,
        method: str,
        path: str,
        *,
        bearer: str | None,
        json_body: Any = None,
        params: dict[str, str] | None = None,
        answer_label: str = "",
        into: list[Exchange] | None = None,
        form: dict[str, Any] | None = None,
        mint: bool = False,
    ) -> Answer:
        """One exchange and its two arrows. A `mint` is shielded from the stage's cancellation
        and kept in `_minting` (see `abandon`)."""
        if self._abandoned:
            raise DemoError("The run was abandoned: restart it for another run.")
        self._take_last()
        content = urlencode(form).encode() if form is not None else None
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if form else None
        sending = self.client.request(
            method, path, bearer=bearer, json_body=json_body, params=params,
            content=content, headers=headers,
        )  # fmt: skip
        try:
            if mint:
                self._minting = asyncio.ensure_future(sending)
                answer = await asyncio.shield(self._minting)
            else:
                answer = await sending
        except AdapterUnavailable as exc:
            raise DemoError(str(exc)) from None
        finally:
            exchange = self._take_last()
            if exchange is not None:
                (into if into is not None else self.exchanges[stage]).append(exchange)
        shown = path.split("?", 1)[0]
        self._arrow(Arrow(stage, source, target, f"{method} {shown}", ArrowKind.REQUEST, exchange))
        label = f"{answer.status} {answer_label}".strip()
        self._arrow(
            Arrow(answer_stage, target, source, label, ArrowKind.ANSWER, exchange, answer.status)
        )
        return answer

    # Stepping

    @property
    def finished(self) -> bool:
        return self.position >= len(STAGES)

    def next_stage(self) -> Stage | None:
        return None if self.finished else STAGES[self.position]

    async def prepare(self) -> None:
        """Case B's trader is already registered: create them before the demo starts (the
        exchange is kept as set-up, not as a stage)."""
        if self.case is Case.B:
            answer = await self._crm("POST", "/demo/users", {"name": self.form.name}, self.setup)
            self.user_id = int(answer.data["userId"])

    async def _crm(self, method: str, path: str, body: Any, into: list[Exchange]) -> Answer:
        self._take_last()
        try:
            answer = await self.client.request(method, path, bearer=self._secret, json_body=body)
        except AdapterUnavailable as exc:
            raise DemoError(str(exc)) from None
        exchange = self._take_last()
        if exchange is not None:
            into.append(exchange)
        if not answer.ok:
            raise DemoError(f"{method} {path} answered {answer.status}: {answer.errmsg}")
        return answer

    async def advance(self) -> Stage:
        """Act out the next stage (one that does not apply to this case passes as a no-op)."""
        stage = self.next_stage()
        if stage is None:
            raise DemoError("The flow is complete: restart it for another run.")
        try:
            if stage.applies(self.case):
                await _ACTIONS[stage.number](self, stage.number)
        except DemoError:
            self._release(len(STAGES))  # the answer that stopped the stage is shown now
            raise
        self._release(stage.number)
        self.position += 1
        return stage

    # The stages' actions

    async def _tradingview_only(self, number: int) -> None:
        labels = {
            1: "sign in",
            2: "open the Trading Panel",
            3: "list integrated brokers",
            4: "pick this broker",
            5: "pop-up: connect an account",
        }
        self._step(number, Actor.TRADINGVIEW, Actor.TRADINGVIEW, labels[number])

    async def _redirect(self, number: int) -> None:
        self._step(number, Actor.TRADINGVIEW, Actor.CLIENT_AREA, "redirect to the client area")

    async def _show_form(self, number: int) -> None:
        """Case C's form lists the trader's accounts, so the client area asks for them."""
        if self.case is Case.C:
            answer = await self._call(
                number, number, Actor.CLIENT_AREA, Actor.BACKEND, "GET",
                f"/demo/users/{EXISTING_USER}/accounts", bearer=self._secret,
                answer_label="accounts",
            )  # fmt: skip
            found = self._data(answer, "read the trader's accounts")
            self.available = [a for a in found if isinstance(a, dict)]
        form = {Case.A: "registration form", Case.B: "new account form", Case.C: "link form"}
        self._step(number, Actor.CLIENT_AREA, Actor.CLIENT_AREA, form[self.case])

    async def _fill_form(self, number: int) -> None:
        if self.case is Case.C:
            chosen = self._chosen_accounts()
            self.account_ids = [int(a["ctidTraderAccountId"]) for a in chosen]
            self.broker_names = sorted({str(a["brokerName"]) for a in chosen})
            label = f"link {', '.join(map(str, self.account_ids))}"
        else:
            label = (
                f"{self.form.name}, {self.form.currency} {'live' if self.form.is_live else 'demo'}"
            )
        self._step(number, Actor.CLIENT_AREA, Actor.CLIENT_AREA, label)

    def _chosen_accounts(self) -> list[dict[str, Any]]:
        wanted = set(self.form.link)
        chosen = [
            a
            for a in self.available
            if str(a.get("brokerName")) == self.form.broker
            and (not wanted or int(a["ctidTraderAccountId"]) in wanted)
        ]
        if not chosen:
            raise DemoError(
                f"The trader has no account with {self.form.broker} among those chosen to link."
            )
        return chosen

    async def _register(self, number: int) -> None:
        self._step(number, Actor.CLIENT_AREA, Actor.CLIENT_AREA, f"register {self.form.name}")

    async def _create_and_link(self, number: int) -> None:
        if self.case is Case.A:
            answer = await self._call(
                number, 12, Actor.CLIENT_AREA, Actor.BACKEND, "POST", "/demo/users",
                bearer=self._secret, json_body={"name": self.form.name}, answer_label="user",
            )  # fmt: skip
            self.user_id = int(self._data(answer, "create the user")["userId"])
        body = {
            "brokerName": self.form.broker,
            "isLive": self.form.is_live,
            "depositCurrency": self.form.currency,
            "balance": self.form.balance,
        }
        answer = await self._call(
            number, 12, Actor.CLIENT_AREA, Actor.BACKEND, "POST", "/demo/accounts",
            bearer=self._secret, json_body=body, answer_label="account",
        )  # fmt: skip
        account_id = int(self._data(answer, "create the account")["ctidTraderAccountId"])
        answer = await self._call(
            number, 12, Actor.CLIENT_AREA, Actor.BACKEND, "POST",
            f"/demo/accounts/{account_id}/link", bearer=self._secret,
            json_body={"userId": self.user_id}, answer_label="linked",
        )  # fmt: skip
        self._data(answer, "link the account")
        self.account_ids = [account_id]
        self.broker_names = [self.form.broker]

    async def _backend_work(self, number: int) -> None:
        self._step(number, Actor.BACKEND, Actor.BACKEND, "create and link (demo CRM)")

    async def _confirmations(self, number: int) -> None:
        """Stage 12's arrows are the answers recorded at stage 10, drawn now."""

    async def _mint(self, number: int) -> None:
        request = TokenRequest(
            self.user_id or 0, tuple(self.broker_names), tuple(self.account_ids),
            self.form.is_verified,
        )  # fmt: skip
        answer = await self._call(
            number, 14, Actor.CLIENT_AREA, Actor.ADAPTER, "POST", "/generate/token",
            bearer=self._secret, json_body=request_body(request), answer_label="token", mint=True,
        )  # fmt: skip
        token = answer.data if answer.ok and isinstance(answer.data, str) else None
        if token is None:
            raise DemoError(f"/generate/token answered {answer.status}: {answer.errmsg}")
        self.masker.add_token(token)
        self.token = token

    async def _minted(self, number: int) -> None:
        """Stage 14's arrow is the answer recorded at stage 13, drawn now."""

    async def _hand_over(self, number: int) -> None:
        self._step(number, Actor.CLIENT_AREA, Actor.TRADINGVIEW, "redirect with the token")

    async def _store(self, number: int) -> None:
        self._step(number, Actor.TRADINGVIEW, Actor.TRADINGVIEW, "store the token")

    async def _first_calls(self, number: int) -> None:
        """What the Trading Panel asks when it connects: configuration, accounts, the state."""
        config = await self._tv(number, "/config", "config")
        self.panel.config = config if isinstance(config, dict) else {}
        accounts = await self._tv(number, "/accounts", "accounts")
        self.panel.accounts = [a for a in accounts or [] if isinstance(a, dict)]
        if not self.panel.accounts:
            raise DemoError("The token grants no account: the Trading Panel has nothing to show.")
        state = await self._tv(number, f"/accounts/{self.panel.accounts[0]['id']}/state", "state")
        self.panel.state = state if isinstance(state, dict) else {}

    async def _tv(self, number: int, path: str, what: str) -> Any:
        answer = await self._call(
            number, 20, Actor.TRADINGVIEW, Actor.ADAPTER, "GET", path,
            bearer=self.token, params=LOCALE, answer_label=what,
        )  # fmt: skip
        return self._data(answer, f"read {what}")

    async def _ask_backend(self, number: int) -> None:
        self._step(number, Actor.ADAPTER, Actor.BACKEND, "trader, accounts, positions (simulated)")

    async def _backend_answers(self, number: int) -> None:
        self._step(number, Actor.BACKEND, Actor.ADAPTER, "results (simulated)")

    async def _answers(self, number: int) -> None:
        """Stage 20's arrows are the answers recorded at stage 17, drawn now."""

    async def _show(self, number: int) -> None:
        state = self.panel.state
        account = self.panel.accounts[0] if self.panel.accounts else {}
        balance = state.get("balance")
        amount = f"{balance:,.2f}" if isinstance(balance, int | float) else "?"
        currency = account.get("currency")
        money = f"{amount} {currency}" if isinstance(currency, str) else amount
        label = f"show {account.get('name', 'the account')}: balance {money}"
        self._step(number, Actor.TRADINGVIEW, Actor.TRADINGVIEW, label)

    @staticmethod
    def _data(answer: Answer, what: str) -> Any:
        if not answer.ok:
            raise DemoError(f"Could not {what}: HTTP {answer.status}, {answer.errmsg}")
        return answer.data

    # Trading from the panel (after stage 21)

    async def place_order(
        self,
        account_id: str,
        instrument: str,
        side: str,
        kind: str,
        qty: float,
        limit_price: float | None = None,
    ) -> str:
        """An order from the Trading Panel's ticket, as TradingView sends it (a form body and a
        fresh requestId); its id. The exchange is drawn after the 21 stages."""
        if self.token is None:
            raise DemoError("There is no token yet: the panel is not connected.")
        fields: dict[str, Any] = {"instrument": instrument, "qty": qty, "side": side, "type": kind}
        if kind == "limit" and limit_price is not None:
            fields["limitPrice"] = limit_price
        answer = await self._call(
            len(STAGES), len(STAGES), Actor.TRADINGVIEW, Actor.ADAPTER, "POST",
            f"/accounts/{account_id}/orders", bearer=self.token,
            params=LOCALE | {"requestId": uuid.uuid4().hex}, form=fields, answer_label="order",
            into=self.trade_exchanges,
        )  # fmt: skip
        data = self._data(answer, "place the order")
        return str(data.get("orderId")) if isinstance(data, dict) else ""

    # Logging out (the document's two logout sequences)

    async def logout(self, by: str) -> Answer:
        """Log the token out from TradingView ("tradingview") or the broker's CRM ("crm"), then
        make one TradingView call with it, which the adapter must refuse (401)."""
        if self.token is None:
            raise DemoError("There is no token to log out yet (stage 13 mints it).")
        if self.logged_out_by is not None:
            raise DemoError("The token is already logged out: restart for another run.")
        source = Actor.TRADINGVIEW if by == "tradingview" else Actor.CLIENT_AREA
        stage = len(STAGES)
        await self._call(
            stage, stage, source, Actor.ADAPTER, "POST", "/logout", bearer=self.token,
            answer_label="logged out", into=self.logout_exchanges,
        )  # fmt: skip
        self.logged_out_by = by
        return await self._call(
            stage, stage, Actor.TRADINGVIEW, Actor.ADAPTER, "GET", "/accounts",
            bearer=self.token, params=LOCALE, answer_label="session ended",
            into=self.logout_exchanges,
        )  # fmt: skip

    # The transcript

    def transcript(self) -> dict[str, Any]:
        """The run as the documented JSON transcript (the token masked)."""
        steps = [
            {
                "number": stage.number,
                "title": stage.title,
                "applies": stage.applies(self.case),
                "narration": stage.narration
                if stage.applies(self.case)
                else f"Does not apply to case {self.case}: {stage.skipped_because}.",
                "done": stage.number <= self.position,
                "exchanges": [_exchange_json(e) for e in self.exchanges[stage.number]],
            }
            for stage in STAGES
        ]
        document: dict[str, Any] = {
            "case": str(self.case),
            "userId": self.user_id,
            "accounts": self.account_ids,
            "brokerNames": self.broker_names,
            "setup": [_exchange_json(e) for e in self.setup],
            "steps": steps,
            "logout": None,
        }
        if self.logged_out_by is not None:
            document["logout"] = {
                "by": self.logged_out_by,
                "exchanges": [_exchange_json(e) for e in self.logout_exchanges],
            }
        return document


def _exchange_json(exchange: Exchange) -> dict[str, Any]:
    path = exchange.url.split("://", 1)[-1]
    path = "/" + path.partition("/")[2]
    return {
        "method": exchange.method,
        "path": path,
        "status": exchange.status,
        "duration_ms": exchange.duration_ms,
        "request": {"headers": exchange.request_headers, "body": _parsed(exchange.request_body)},
        "response": {"body": _parsed(exchange.response_body)},
        "error": exchange.error,
    }


def _parsed(body: str) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body


_ACTIONS = {
    1: DemoFlow._tradingview_only,
    2: DemoFlow._tradingview_only,
    3: DemoFlow._tradingview_only,
    4: DemoFlow._tradingview_only,
    5: DemoFlow._tradingview_only,
    6: DemoFlow._redirect,
    7: DemoFlow._show_form,
    8: DemoFlow._fill_form,
    9: DemoFlow._register,
    10: DemoFlow._create_and_link,
    11: DemoFlow._backend_work,
    12: DemoFlow._confirmations,
    13: DemoFlow._mint,
    14: DemoFlow._minted,
    15: DemoFlow._hand_over,
    16: DemoFlow._store,
    17: DemoFlow._first_calls,
    18: DemoFlow._ask_backend,
    19: DemoFlow._backend_answers,
    20: DemoFlow._answers,
    21: DemoFlow._show,
}
