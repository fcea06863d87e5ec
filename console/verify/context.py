"""What checks share during one run: the client, the test identity, and facts learnt lazily.

A fact (the identity's token, the TradingView API being offered, the accounts, `/config`) is
fetched by the first check that needs it and cached, failure included, so a check whose
prerequisite failed is skipped with that failure as its reason instead of failing itself.
Every token the run mints is remembered here so the run can log it out before it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from adapter_core.token_request import TokenRequest, request_body
from console.services.client import AdapterClient, Answer, RawExchange
from console.verify.masking import Masker
from console.verify.model import Exchange, Status

LOCALE = {"locale": "en"}
NOT_OFFERED = frozenset({404, 405})
LATENCY_TABS = 5
LATENCY_SECONDS = 10.0


class Skip(Exception):
    """A prerequisite is missing: the check is `skipped` with this reason."""


class Failed(Exception):
    """The adapter did not do what the check expects; the message is the actual behaviour."""

    def __init__(self, actual: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(actual)
        self.details = details or {}


@dataclass(frozen=True, slots=True)
class Outcome:
    actual: str
    status: Status = Status.PASSED
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the run mints for. The default is the source document's example request."""

    user_id: int = 14601
    broker_names: tuple[str, ...] = ("BESTBROKER",)
    account_ids: tuple[int, ...] | None = (137780091, 137792301)
    is_verified: bool = True

    def request(self, **changes: Any) -> TokenRequest:
        request = TokenRequest(self.user_id, self.broker_names, self.account_ids, self.is_verified)
        return replace(request, **changes)

    def body(self) -> dict[str, Any]:
        return request_body(self.request())

    def to_json(self) -> dict[str, Any]:
        return self.body()


@dataclass(frozen=True, slots=True)
class Target:
    """Where a run goes: a profile's adapter or a bare URL (CI has no profile and no keyring)."""

    base_url: str
    secret: str
    verify: bool | str = True
    timeout: float = 10.0
    profile: str | None = None
    production: bool = False


@dataclass(frozen=True, slots=True)
class RunOptions:
    suites: tuple[str, ...]
    identity: Identity = Identity()
    allow_trading: bool = False
    latency_tabs: int = LATENCY_TABS
    latency_seconds: float = LATENCY_SECONDS
    only: frozenset[str] | None = None
    """Check ids to run (re-running the failed ones); None runs every check of the suites."""


class Recorder:
    """Receives every exchange of the run's client, masks it, and files it under the running
    check. In sampling mode (polling many times a second) it keeps the first exchange of each
    endpoint and the failed ones, up to SAMPLE_LIMIT."""

    SAMPLE_LIMIT = 20

    def __init__(self, masker: Masker, also: Callable[[RawExchange], None] | None = None) -> None:
        self.masker = masker
        self._also = also
        self._kept: list[Exchange] | None = None
        self._sampling = False
        self._seen: set[tuple[str, str]] = set()

    def record(self, raw: RawExchange) -> None:
        exchange = self.masker.exchange(raw)
        if self._also is not None:
            self._also(self._masked_raw(raw, exchange))
        if self._kept is None:
            return
        if self._sampling:
            key = (raw.method, raw.path.split("?", 1)[0])
            failed = raw.status != 200 or raw.error is not None
            if (key in self._seen and not failed) or len(self._kept) >= self.SAMPLE_LIMIT:
                return
            self._seen.add(key)
        self._kept.append(exchange)

    def _masked_raw(self, raw: RawExchange, exchange: Exchange) -> RawExchange:
        """The exchange as the activity log takes it, already masked by this run."""
        return replace(
            raw,
            path=self.masker.text(raw.path),
            url=exchange.url,
            request_headers=exchange.request_headers,
            request_body=exchange.request_body,
            response_body=exchange.response_body,
            response_headers=exchange.response_headers,
            error=exchange.error,
        )

    def begin(self) -> None:
        self._kept, self._sampling, self._seen = [], False, set()

    def sample(self) -> None:
        self._sampling = True

    def end(self) -> list[Exchange]:
        kept, self._kept = self._kept or [], None
        return kept


class RunContext:
    def __init__(
        self,
        client: AdapterClient,
        target: Target,
        options: RunOptions,
        recorder: Recorder,
        stop: asyncio.Event,
    ) -> None:
        self.client = client
        self.target = target
        self.options = options
        self.identity = options.identity
        self.recorder = recorder
        self._stop = stop
        self.minted: list[str] = []
        self.logged_out: set[str] = set()
        self._facts: dict[str, Any] = {}
        self._missing: dict[str, str] = {}

    def cancelled(self) -> bool:
        return self._stop.is_set()

    async def pause(self, seconds: float) -> None:
        """Wait `seconds`, or less if the run is cancelled meanwhile."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), seconds)

    # Minting and logging out, remembered for the clean-up

    def keep(self, answer: Answer) -> str | None:
        """The token an answer carries, remembered for the final logout.

        A foreign adapter may wrap it (`{"d": {"token": ...}}`): such a token is remembered
        too, so the run logs it out or reports it, although `mint.seed-example` fails.
        """
        found = answer.data if answer.ok else None
        if isinstance(found, dict):
            found = next((v for k, v in found.items() if _is_token_key(k)), None)
        if isinstance(found, str) and found:
            if found not in self.minted:
                self.minted.append(found)
                self.recorder.masker.add_token(found)
            return found if found == answer.data else None
        return None

    async def mint_answer(self, request: TokenRequest) -> tuple[Answer, str | None]:
        answer = await self.client.generate_token(self.target.secret, request)
        return answer, self.keep(answer)

    async def fresh_token(self, **changes: Any) -> str:
        """A new token for the identity (with `changes`), or Skip saying why there is none."""
        answer, token = await self.mint_answer(self.identity.request(**changes))
        if token is None:
            raise Skip(f"needs a freshly minted token, and minting failed: {describe(answer)}")
        return token

    async def logout(self, token: str | None) -> Answer:
        answer = await self.client.request("POST", "/logout", bearer=token)
        if answer.ok and token is not None:
            self.logged_out.add(token)
        return answer

    # Facts, fetched once

    async def _fact(self, name: str, fetch: Callable[[], Awaitable[Any]]) -> Any:
        if name in self._missing:
            raise Skip(self._missing[name])
        if name not in self._facts:
            try:
                self._facts[name] = await fetch()
            except Skip as exc:
                self._missing[name] = str(exc)
                raise
        return self._facts[name]

    async def main_mint(self) -> tuple[Answer, str | None]:
        """The mint with the test identity (the check `mint.seed-example` judges it)."""

        async def fetch() -> tuple[Answer, str | None]:
            return await self.mint_answer(self.identity.request())

        result: tuple[Answer, str | None] = await self._fact("main-mint", fetch)
        return result

    async def token(self) -> str:
        answer, token = await self.main_mint()
        if token is None:
            raise Skip(f"needs a token minted with the test identity: {describe(answer)}")
        return token

    async def tv_get(
        self,
        path: str,
        *,
        token: str | None = None,
        params: dict[str, str] | None = None,
        background: bool = False,
    ) -> Answer:
        bearer = token if token is not None else await self.token()
        return await self.client.request(
            "GET", path, bearer=bearer, params=LOCALE | (params or {}), background=background
        )

    async def tradingview(self) -> Answer:
        """The identity's `/accounts` answer; Skip("not offered") when the adapter has none."""

        async def fetch() -> Answer:
            answer = await self.tv_get("/accounts")
            if answer.status in NOT_OFFERED:
                raise Skip(
                    f"not offered: GET /accounts answered HTTP {answer.status}, so this "
                    "adapter has no TradingView Broker REST API"
                )
            return answer

        answer: Answer = await self._fact("tradingview", fetch)
        return answer

    async def accounts(self) -> list[dict[str, Any]]:
        answer = await self.tradingview()
        if not answer.ok or not isinstance(answer.data, list) or not answer.data:
            raise Skip(
                f"needs the identity's accounts, and GET /accounts gave none: {describe(answer)}"
            )
        return [account for account in answer.data if isinstance(account, dict)]

    async def account(self) -> dict[str, Any]:
        """The identity's first account (in the order of its account ids, where it has any)."""
        found = await self.accounts()
        wanted = [str(i) for i in self.identity.account_ids or ()]
        for account_id in wanted:
            for account in found:
                if account.get("id") == account_id:
                    return account
        return found[0]

    async def account_path(self, endpoint: str) -> str:
        account = await self.account()
        return f"/accounts/{account.get('id')}/{endpoint}"

    async def config(self) -> dict[str, Any]:
        async def fetch() -> dict[str, Any]:
            await self.tradingview()
            answer = await self.tv_get("/config")
            if not answer.ok or not isinstance(answer.data, dict):
                raise Skip(f"needs /config, and it failed: {describe(answer)}")
            return answer.data

        config: dict[str, Any] = await self._fact("config", fetch)
        return config

    async def instruments(self) -> list[dict[str, Any]]:
        async def fetch() -> list[dict[str, Any]]:
            answer = await self.tv_get(await self.account_path("instruments"))
            if not answer.ok or not isinstance(answer.data, list) or not answer.data:
                raise Skip(f"needs the account's instruments, and they failed: {describe(answer)}")
            return [item for item in answer.data if isinstance(item, dict)]

        found: list[dict[str, Any]] = await self._fact("instruments", fetch)
        return found

    def remember(self, name: str, value: Any) -> None:
        self._facts[name] = value

    async def revoked_token(self) -> str:
        """A token logged out with an `ok` answer (from `logout.ok`, or made here)."""

        async def fetch() -> str:
            token = await self.fresh_token()
            answer = await self.logout(token)
            if not answer.ok:
                raise Skip(f"needs a logged-out token, and the logout failed: {describe(answer)}")
            return token

        token: str = await self._fact("revoked-token", fetch)
        return token


def _is_token_key(key: object) -> bool:
    return str(key).lower().replace("_", "") in ("token", "accesstoken")


def describe(answer: Answer) -> str:
    """An answer in one line for an `actual` sentence: status, envelope, message."""
    if answer.ok:
        return f"HTTP {answer.status} with s:ok"
    try:
        document = json.loads(answer.raw)
    except ValueError:
        document = None
    if isinstance(document, dict) and document.get("s") == "error":
        return f"HTTP {answer.status} with s:error ({document.get('errmsg') or 'no errmsg'})"
    return f"HTTP {answer.status} without the JSON envelope"


def envelope(answer: Answer) -> Any:
    """The answer's JSON document, or None."""
    try:
        return json.loads(answer.raw)
    except ValueError:
        return None
