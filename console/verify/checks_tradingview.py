"""Suite `tradingview`: TradingView's Broker REST API, as TradingView's autotests would walk it.

When the adapter does not offer it (`/accounts` answers 404 or 405) every check here is
skipped with "not offered": a broker-only deployment is not a failing one.
"""

from __future__ import annotations

from typing import Any

from console.services.client import Answer
from console.verify import schema
from console.verify.catalogue import Check
from console.verify.context import Failed, Outcome, RunContext, Skip, describe, envelope

MAX_PROBLEMS_SHOWN = 5
QUOTED_SYMBOLS = 3


def _judge(answer: Answer, shape: schema.Shape, what: str, *, is_list: bool = True) -> Outcome:
    document = envelope(answer)
    if answer.status != 200 or not isinstance(document, dict) or document.get("s") != "ok":
        raise Failed(f"{what} answered {describe(answer)}")
    if "d" not in document:
        raise Failed(f"{what} answered s:ok without d")
    data = document["d"]
    found = schema.list_problems(data, shape) if is_list else schema.problems(data, shape, "d")
    if found:
        shown = "; ".join(found[:MAX_PROBLEMS_SHOWN])
        more = (
            f" (and {len(found) - MAX_PROBLEMS_SHOWN} more)"
            if len(found) > MAX_PROBLEMS_SHOWN
            else ""
        )
        raise Failed(f"{len(found)} problem(s): {shown}{more}")
    count = f"{len(data)} item(s) " if isinstance(data, list) else ""
    return Outcome(f"{count}matching the shape")


async def tv_offered(ctx: RunContext) -> Outcome:
    answer = await ctx.tradingview()
    return Outcome(f"GET /accounts answered HTTP {answer.status}: the API is offered")


async def tv_unauthorized(ctx: RunContext) -> Outcome:
    await ctx.tradingview()
    wrong: list[str] = []
    for label, bearer in (("no token", None), ("a garbage token", "garbage")):
        answer = await ctx.client.request(
            "GET", "/accounts", bearer=bearer, params={"locale": "en"}
        )
        if answer.status != 401:
            wrong.append(f"{label} earned {describe(answer)}")
    if wrong:
        raise Failed("; ".join(wrong))
    return Outcome("HTTP 401 for both")


async def config_schema(ctx: RunContext) -> Outcome:
    await ctx.tradingview()
    answer = await ctx.tv_get("/config")
    outcome = _judge(answer, schema.CONFIG, "/config", is_list=False)
    durations = answer.data.get("durations") if isinstance(answer.data, dict) else None
    defaults = [d.get("id") for d in durations or [] if isinstance(d, dict) and d.get("default")]
    if len(defaults) > 1:
        raise Failed(f"more than one default duration ({', '.join(map(str, defaults))})")
    return outcome


async def accounts_schema(ctx: RunContext) -> Outcome:
    await ctx.tradingview()
    # Asked again rather than judged from the cached answer, so the check records the
    # exchange it judges (a failure shows the answer that failed it).
    return _judge(await ctx.tv_get("/accounts"), schema.ACCOUNT, "/accounts")


def _account_endpoint(endpoint: str, shape: schema.Shape, *, is_list: bool = True) -> Any:
    async def run(ctx: RunContext) -> Outcome:
        path = await ctx.account_path(endpoint)
        return _judge(await ctx.tv_get(path), shape, path, is_list=is_list)

    return run


async def _flagged(ctx: RunContext, flag: str, what: str) -> None:
    account = await ctx.account()
    flags = account.get("config")
    if not isinstance(flags, dict) or flags.get(flag) is not True:
        raise Skip(f"the account does not offer {what} ({flag} is not true)")


async def executions_schema(ctx: RunContext) -> Outcome:
    await _flagged(ctx, "supportExecutions", "executions")
    instruments = await ctx.instruments()
    path = await ctx.account_path("executions")
    answer = await ctx.tv_get(path, params={"instrument": str(instruments[0].get("name"))})
    return _judge(answer, schema.EXECUTION, path)


async def orders_history_schema(ctx: RunContext) -> Outcome:
    await _flagged(ctx, "supportOrdersHistory", "an order history")
    path = await ctx.account_path("ordersHistory")
    return _judge(await ctx.tv_get(path), schema.ORDER_HISTORY, path)


async def quotes_schema(ctx: RunContext) -> Outcome:
    account = await ctx.account()
    names = [str(item.get("name")) for item in (await ctx.instruments())[:QUOTED_SYMBOLS]]
    params = {"accountId": str(account.get("id")), "symbols": ",".join(names)}
    answer = await ctx.tv_get("/quotes", params=params)
    outcome = _judge(answer, schema.QUOTE, "/quotes")
    data = envelope(answer)["d"]
    quoted = {str(item.get("n")) for item in data if item.get("s") == "ok" and "v" in item}
    unquoted = [name for name in names if name not in quoted]
    if unquoted:
        raise Failed(f"no quote (s:ok with v) for {', '.join(unquoted)}, which the account lists")
    return outcome


async def _ids_seen(ctx: RunContext, token: str) -> list[str]:
    answer = await ctx.tv_get("/accounts", token=token)
    if not answer.ok or not isinstance(answer.data, list):
        raise Failed(f"GET /accounts answered {describe(answer)}")
    return [str(account.get("id")) for account in answer.data if isinstance(account, dict)]


async def accounts_scope(ctx: RunContext) -> Outcome:
    await ctx.tradingview()
    wide = await ctx.fresh_token(account_ids=None)
    seen = await _ids_seen(ctx, wide)
    wanted = [str(i) for i in ctx.identity.account_ids or ()]
    missing = [i for i in wanted if i not in seen]
    if missing:
        raise Failed(f"a token without account ids does not see {', '.join(missing)}")
    if not seen:
        raise Skip("a token without account ids sees no account")
    chosen = seen[0]
    if not chosen.isdigit():
        raise Skip(f"account ids are not numbers ({chosen}): a token cannot name one")
    narrow = await ctx.fresh_token(account_ids=(int(chosen),))
    narrow_seen = await _ids_seen(ctx, narrow)
    if narrow_seen != [chosen]:
        raise Failed(f"a token listing only {chosen} sees {', '.join(narrow_seen) or 'nothing'}")
    others = [i for i in seen if i != chosen] or [str(int(chosen) + 1)]
    outside = others[0]
    answer = await ctx.tv_get(f"/accounts/{outside}/state", token=narrow)
    if answer.ok:
        raise Failed(f"a token listing only {chosen} may read /accounts/{outside}/state")
    return Outcome(
        f"without ids: {', '.join(seen)}; with {chosen} only: exactly it; "
        f"/accounts/{outside}/state refused ({describe(answer)})"
    )


async def accounts_isverified(ctx: RunContext) -> Outcome:
    await ctx.tradingview()
    seen: list[str] = []
    for verified in (True, False):
        token = await ctx.fresh_token(is_verified=verified)
        answer = await ctx.tv_get("/accounts", token=token)
        if not answer.ok or not isinstance(answer.data, list) or not answer.data:
            raise Failed(f"GET /accounts answered {describe(answer)}")
        flags = {account.get("isVerified", False) for account in answer.data}
        if flags != {verified}:
            raise Failed(
                f"a token with isVerified {verified} shows isVerified {sorted(map(str, flags))}"
            )
        seen.append(str(verified).lower())
    return Outcome(f"Account.isVerified was {seen[0]} and {seen[1]}, as minted")


async def token_revoked_refused(ctx: RunContext) -> Outcome:
    await ctx.tradingview()
    token = await ctx.revoked_token()
    wrong: list[str] = []
    paths = ["/accounts", await ctx.account_path("state")]
    for path in paths:
        answer = await ctx.tv_get(path, token=token)
        if answer.status != 401:
            wrong.append(f"{path} earned {describe(answer)}")
    if wrong:
        raise Failed("a logged-out token still works: " + "; ".join(wrong))
    return Outcome(f"HTTP 401 on {' and '.join(paths)}")


def _declared(config: dict[str, Any], account: dict[str, Any], name: str) -> Any:
    ui = account.get("ui")
    if isinstance(ui, dict) and name in ui:
        return ui[name]
    return config.get(name)


async def summary_consistency(ctx: RunContext) -> Outcome:
    config = await ctx.config()
    account = await ctx.account()
    path = await ctx.account_path("state")
    answer = await ctx.tv_get(path)
    state = answer.data if answer.ok and isinstance(answer.data, dict) else None
    if state is None:
        raise Failed(f"{path} answered {describe(answer)}")
    problems: list[str] = []
    row = _declared(config, account, "accountSummaryRow")
    row_data = state.get("accountSummaryRowData")
    if row_data is not None and not isinstance(row, list):
        problems.append("accountSummaryRowData is sent but no accountSummaryRow is declared")
    elif isinstance(row, list) and (not isinstance(row_data, list) or len(row_data) != len(row)):
        size = len(row_data) if isinstance(row_data, list) else "no"
        problems.append(f"accountSummaryRow declares {len(row)} fields, state sends {size}")
    tables = _declared(config, account, "accountManager")
    am_data = state.get("amData")
    if am_data is not None and not isinstance(tables, list):
        problems.append("amData is sent but no accountManager table is declared")
    elif isinstance(tables, list):
        if not isinstance(am_data, list) or len(am_data) != len(tables):
            size = len(am_data) if isinstance(am_data, list) else "no"
            problems.append(f"accountManager declares {len(tables)} table(s), amData has {size}")
        else:
            for index, (table, rows) in enumerate(zip(tables, am_data, strict=True)):
                columns = table.get("columns") if isinstance(table, dict) else None
                if not isinstance(columns, list) or not isinstance(rows, list):
                    problems.append(f"accountManager[{index}] or amData[{index}] is malformed")
                    continue
                for number, cells in enumerate(rows):
                    if not isinstance(cells, list) or len(cells) != len(columns):
                        problems.append(
                            f"amData[{index}][{number}] does not have {len(columns)} cells"
                        )
    for name in ("balance", "unrealizedPl"):
        if not isinstance(state.get(name), int | float) or isinstance(state.get(name), bool):
            problems.append(f"state has no numeric {name} for the default summary row")
    if problems:
        raise Failed("; ".join(problems[:MAX_PROBLEMS_SHOWN]))
    custom = "custom row and tables match" if row or tables else "no custom row or tables declared"
    return Outcome(f"{custom}; balance and unrealizedPl present for the default row")


CHECKS = (
    Check(
        "tv.offered",
        "tradingview",
        "The TradingView Broker REST API is offered",
        "GET /accounts with the identity's token answers (anything but 404 or 405)",
        tv_offered,
    ),
    Check(
        "tv.unauthorized",
        "tradingview",
        "Calls without a valid token are refused",
        "GET /accounts with no token and with a garbage token answers HTTP 401",
        tv_unauthorized,
    ),
    Check(
        "config.schema",
        "tradingview",
        'Should validate "getConfiguration" response',
        "/config answers s:ok with a Config object (required fields, types, enums)",
        config_schema,
    ),
    Check(
        "accounts.schema",
        "tradingview",
        'Should validate "getAccounts" response',
        "/accounts answers s:ok with Account objects",
        accounts_schema,
    ),
    Check(
        "instruments.schema",
        "tradingview",
        'Should validate "getInstruments" response',
        "/accounts/{id}/instruments answers s:ok with Instrument objects",
        _account_endpoint("instruments", schema.INSTRUMENT),
    ),
    Check(
        "state.schema",
        "tradingview",
        'Should validate "getState" response',
        "/accounts/{id}/state answers s:ok with an AccountState object",
        _account_endpoint("state", schema.STATE, is_list=False),
    ),
    Check(
        "orders.schema",
        "tradingview",
        'Should validate "getOrders" response',
        "/accounts/{id}/orders answers s:ok with Order objects",
        _account_endpoint("orders", schema.ORDER),
    ),
    Check(
        "positions.schema",
        "tradingview",
        'Should validate "getPositions" response',
        "/accounts/{id}/positions answers s:ok with Position objects",
        _account_endpoint("positions", schema.POSITION),
    ),
    Check(
        "quotes.schema",
        "tradingview",
        'Should validate "getQuotes" response',
        "/quotes answers s:ok with a quote (ask, bid) for each instrument asked",
        quotes_schema,
    ),
    Check(
        "executions.schema",
        "tradingview",
        'Should validate "getExecutions" response',
        "/accounts/{id}/executions answers s:ok with Execution objects (where offered)",
        executions_schema,
    ),
    Check(
        "ordersHistory.schema",
        "tradingview",
        'Should validate "getOrdersHistory" response',
        "/accounts/{id}/ordersHistory answers s:ok with final orders only (where offered)",
        orders_history_schema,
    ),
    Check(
        "accounts.scope",
        "tradingview",
        "A token sees exactly the accounts it was minted for",
        "without account ids: the identity's accounts; with one id: exactly that one; "
        "another account's /state is refused",
        accounts_scope,
    ),
    Check(
        "accounts.isverified",
        "tradingview",
        "Account.isVerified follows the token's isVerified",
        "tokens minted with isVerified true and false show that value on every account",
        accounts_isverified,
    ),
    Check(
        "token.revoked-refused",
        "tradingview",
        "A logged-out token is refused by the TradingView API",
        "after logout, /accounts and /accounts/{id}/state answer HTTP 401",
        token_revoked_refused,
    ),
    Check(
        "summary.consistency",
        "tradingview",
        "Should check consistency of Account Summary Row config and data",
        "/state's accountSummaryRowData and amData match the sizes /config (or the "
        "account's ui) declares",
        summary_consistency,
    ),
)
