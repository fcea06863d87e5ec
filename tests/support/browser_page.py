"""The page the browser test loads: TradingView's Broker REST API calls, made with `fetch`.

It calls the adapter as TradingView's Trading Panel does from the trader's browser: a bearer
token on every call, `locale` in every query string, form-encoded bodies for trading
actions, `POST /logout` for the token at the end. Each call is recorded as
`{call, status, body}`, or `{call, status: null, error}` when `fetch` rejects (which is what
a CORS refusal looks like to a page), and the list is POSTed to `/results` on the page's
own origin together with `location.origin`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

SYMBOL = "EURUSD"


@dataclass(frozen=True, slots=True)
class Plan:
    adapter: str
    """The adapter's origin as the browser reaches it, e.g. https://adapter.test."""
    token: str
    account: str
    bad_token: str
    request_id: str
    symbol: str = SYMBOL
    limit_distance: float = 0.05
    """A buy limit this far below the bid stays working: no simulated tick gets near it."""


_SCRIPT = """
"use strict";
const results = [];

async function call(name, method, path, options = {}) {
  const url = new URL(path, PLAN.adapter);
  url.search = new URLSearchParams({locale: "en", ...(options.query || {})}).toString();
  const headers = {};
  const token = "token" in options ? options.token : PLAN.token;
  if (token !== null) headers["Authorization"] = `Bearer ${token}`;
  const init = {method, headers, cache: "no-store"};
  if (options.form) {
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    init.body = new URLSearchParams(options.form).toString();
  }
  try {
    const response = await fetch(url, init);
    const text = await response.text();
    let body = text;
    try { body = JSON.parse(text); } catch (ignored) { /* not JSON: keep the text */ }
    results.push({call: name, status: response.status, body});
    return body;
  } catch (error) {
    results.push({call: name, status: null, error: `${error.name}: ${error.message}`});
    return null;
  }
}

async function tradingPanel() {
  const account = `/accounts/${PLAN.account}`;
  await call("config", "GET", "/config");
  await call("accounts", "GET", "/accounts");
  await call("state", "GET", `${account}/state`);
  const quotes = await call("quotes", "GET", "/quotes",
                            {query: {accountId: PLAN.account, symbols: PLAN.symbol}});
  const quote = (quotes && quotes.d && quotes.d[0] && quotes.d[0].v) || {ask: 1, bid: 1};
  const placed = await call("place order", "POST", `${account}/orders`, {
    query: {requestId: PLAN.request_id},
    form: {
      instrument: PLAN.symbol,
      qty: "0.1",
      side: "buy",
      type: "limit",
      limitPrice: (quote.bid - PLAN.limit_distance).toFixed(5),
      durationType: "GTC",
      currentAsk: String(quote.ask),
      currentBid: String(quote.bid),
    },
  });
  const orderId = (placed && placed.d && placed.d.orderId) || "0";
  await call("orders", "GET", `${account}/orders`);
  await call("cancel order", "DELETE", `${account}/orders/${orderId}`);
  await call("no token", "GET", "/config", {token: null});
  await call("bad token", "GET", `${account}/state`, {token: PLAN.bad_token});
  await call("logout", "POST", "/logout");
  await call("after logout", "GET", "/accounts");
}

async function report() {
  document.title = "reporting";
  await fetch("/results", {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({origin: location.origin, results}),
  });
  document.title = "done";
}

tradingPanel().catch((error) => {
  results.push({call: "page", status: null, error: `${error.name}: ${error.message}`});
}).finally(report);
"""


def trading_panel_page(plan: Plan) -> str:
    """The HTML page running the calls of `plan`."""
    # No "</script>" can hide in the data: every "<" is escaped inside the JSON.
    data = json.dumps(asdict(plan)).replace("<", "\\u003c")
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8"><title>running</title></head>\n'
        f"<body><script>\nconst PLAN = {data};\n{_SCRIPT}</script></body></html>\n"
    )
