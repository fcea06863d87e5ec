"""Suites `performance` and `trading`: the adapter used as TradingView tabs use it.

`latency.polling` polls like N open Trading Panels at the adapter's own `pullingInterval`.
`trading.limit-order` places a real order, so it runs only when asked for and only on an
account whose type is `demo`: far from the market, cancelled at once.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from console.services.client import AdapterUnavailable
from console.services.polling import interval_ms
from console.verify.catalogue import Check
from console.verify.context import Failed, Outcome, RunContext, Skip, describe
from console.verify.model import NOT_RUN

POLLED = (
    ("orders", "orders"),
    ("positions", "positions"),
    ("state", "accountManager"),
    ("quotes", "quotes"),
)
"""(endpoint, the `pullingInterval` field that paces it)."""
FAR_FROM_MARKET = 0.5
"""A buy limit at half the bid never fills in a test."""


@dataclass(slots=True)
class Timings:
    interval_ms: float
    samples: list[tuple[float, float]] = field(default_factory=list)
    """(seconds since the start, milliseconds) of each answered request."""
    errors: int = 0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(ms for _, ms in self.samples)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]

    def figures(self) -> dict[str, Any]:
        return {
            "interval_ms": self.interval_ms,
            "count": len(self.samples) + self.errors,
            "errors": self.errors,
            "p50": round(self.percentile(0.50), 1),
            "p95": round(self.percentile(0.95), 1),
            "p99": round(self.percentile(0.99), 1),
            "samples": [[round(t, 3), round(ms, 1)] for t, ms in self.samples],
        }


async def _poll(
    ctx: RunContext, path: str, params: dict[str, str], timings: Timings, started: float
) -> None:
    deadline = started + ctx.options.latency_seconds
    while time.monotonic() < deadline and not ctx.cancelled():
        began = time.monotonic()
        try:
            answer = await ctx.tv_get(path, params=params, background=True)
        except AdapterUnavailable:
            timings.errors += 1
        else:
            if answer.ok:
                timings.samples.append((began - started, answer.duration_ms))
            else:
                timings.errors += 1
        await ctx.pause(min(began + timings.interval_ms / 1000, deadline) - time.monotonic())


async def latency_polling(ctx: RunContext) -> Outcome:
    config = await ctx.config()
    account = await ctx.account()
    names = [str(item.get("name")) for item in (await ctx.instruments())[:3]]
    timings = {name: Timings(interval_ms(config, field_name)) for name, field_name in POLLED}
    ctx.recorder.sample()
    started = time.monotonic()
    loops = []
    for _ in range(ctx.options.latency_tabs):
        for name, _field in POLLED:
            if name == "quotes":
                path = "/quotes"
                params = {"accountId": str(account.get("id")), "symbols": ",".join(names)}
            else:
                path, params = await ctx.account_path(name), {}
            loops.append(_poll(ctx, path, params, timings[name], started))
    await asyncio.gather(*loops)
    if ctx.cancelled():
        raise Skip(f"{NOT_RUN}: the run was cancelled while polling, so nothing was judged")
    figures = {name: timing.figures() for name, timing in timings.items()}
    details: dict[str, Any] = {
        "tabs": ctx.options.latency_tabs,
        "seconds": ctx.options.latency_seconds,
        "endpoints": figures,
    }
    summary = ", ".join(
        f"{name} p50 {f['p50']:.0f} / p95 {f['p95']:.0f} / p99 {f['p99']:.0f} ms"
        for name, f in figures.items()
    )
    errors = sum(f["errors"] for f in figures.values())
    count = sum(f["count"] for f in figures.values())
    slow = [
        f"{name} p99 {f['p99']:.0f} ms > {f['interval_ms']:.0f} ms"
        for name, f in figures.items()
        if f["p99"] > f["interval_ms"]
    ]
    tabs = ctx.options.latency_tabs
    slow += [
        f"{name} answered only {f['count'] - f['errors']} times for {tabs} tabs"
        for name, f in figures.items()
        if f["count"] - f["errors"] < tabs
    ]
    if errors or slow:
        problems = [f"{errors} of {count} requests failed"] if errors else []
        raise Failed("; ".join(problems + slow) + f" ({summary})", details)
    return Outcome(f"{count} requests, no error; {summary}", details=details)


def _form(**fields: Any) -> tuple[bytes, dict[str, str]]:
    return urlencode(fields).encode(), {"Content-Type": "application/x-www-form-urlencoded"}


async def _order_status(ctx: RunContext, orders_path: str, order_id: str) -> str | None:
    answer = await ctx.tv_get(orders_path)
    if not answer.ok or not isinstance(answer.data, list):
        raise Failed(f"{orders_path} answered {describe(answer)}")
    for order in answer.data:
        if isinstance(order, dict) and order.get("id") == order_id:
            return str(order.get("status"))
    return None


def _far_price(bid: float, tick: float) -> float:
    steps = max(1, math.floor(bid * FAR_FROM_MARKET / tick))
    return round(steps * tick, 10)


async def trading_limit_order(ctx: RunContext) -> Outcome:
    accounts = await ctx.accounts()
    demo = [account for account in accounts if account.get("type") == "demo"]
    if not demo:
        raise Skip(
            "no demo account among the identity's accounts: trading runs only on demo accounts"
        )
    account_id = str(demo[0].get("id"))
    base = f"/accounts/{account_id}"
    listed = await ctx.tv_get(f"{base}/instruments")
    if not listed.ok or not isinstance(listed.data, list) or not listed.data:
        raise Skip(f"needs the demo account's instruments: {describe(listed)}")
    instrument = listed.data[0]
    name = str(instrument.get("name"))
    quote = await ctx.tv_get("/quotes", params={"accountId": account_id, "symbols": name})
    try:
        bid = float(quote.data[0]["v"]["bid"])
    except (TypeError, KeyError, IndexError, ValueError):
        raise Skip(f"needs a quote for {name}: {describe(quote)}") from None
    price = _far_price(bid, float(instrument.get("minTick") or 0.00001))
    qty = instrument.get("minQty") or instrument.get("qtyStep") or 1
    content, headers = _form(instrument=name, qty=qty, side="buy", type="limit", limitPrice=price)
    placed = await ctx.client.request(
        "POST",
        f"{base}/orders",
        bearer=await ctx.token(),
        params={"locale": "en", "requestId": uuid.uuid4().hex},
        content=content,
        headers=headers,
    )
    order_id = placed.data.get("orderId") if placed.ok and isinstance(placed.data, dict) else None
    if not isinstance(order_id, str):
        raise Failed(f"placing a buy limit {qty} {name} at {price} answered {describe(placed)}")
    try:
        working = await _order_status(ctx, f"{base}/orders", order_id)
    finally:
        # Whatever stopped the check since placing (the order list failed, the run was
        # cancelled), the order must not stay working on the account.
        cancel = await ctx.client.request(
            "DELETE", f"{base}/orders/{order_id}", bearer=await ctx.token(), params={"locale": "en"}
        )
    if not cancel.ok:
        raise Failed(
            f"order {order_id} could not be cancelled ({describe(cancel)}): cancel it by hand"
        )
    final = await _order_status(ctx, f"{base}/orders", order_id)
    if working != "working" or final != "cancelled":
        raise Failed(f"order {order_id} was {working} after placing and {final} after cancelling")
    return Outcome(
        f"buy limit {qty} {name} at {price} on demo account {account_id}: working, then cancelled"
    )


CHECKS = (
    Check(
        "latency.polling",
        "performance",
        "Polling latency of TradingView tabs",
        "N tabs polling orders, positions, state and quotes at the adapter's pullingInterval: "
        "no error, and each endpoint's p99 below its polling interval",
        latency_polling,
    ),
    Check(
        "trading.limit-order",
        "trading",
        "Place and cancel a limit order on a demo account",
        "a buy limit far from the market is working in /orders, then cancelled after DELETE",
        trading_limit_order,
    ),
)
