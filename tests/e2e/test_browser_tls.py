"""TradingView's client is the trader's browser: headless Chromium on `https://www.tradingview.com`
calls a real `tv-adapter serve --tls-cert --tls-key` with `fetch`, as the Trading Panel does.

How the origin is made exactly `https://www.tradingview.com` without privileges or network:
Chromium's host resolver rules can map a name to 127.0.0.1 but not to another port, and the
adapter's CORS rule grants only port-less origins (TradingView has no port), so a page on
`https://www.tradingview.com:9444` would prove nothing. Binding port 443 needs root, which
CI may not have. So Chromium sends everything through a CONNECT proxy on loopback
(`tests/support/connect_proxy.py`): it asks for `www.tradingview.com:443` and
`adapter.test:443`, and the proxy tunnels those to the page server's and the adapter's real
ports. TLS runs end to end between the browser and each server. The browser trusts exactly
the test certificate's key (`--ignore-certificate-errors-spki-list`; with another key the
page does not load). That flag waives every other certificate check for this key, the host
name included, so the test's own client checks the rest: it reaches each name through the
same proxy with the test CA and host-name checking (`Stage.run_page`).

The same page on `https://evil.example`, and on `https://www.tradingview.com:9444` (the
proxy routes that too), gets nothing: every `fetch` rejects with a TypeError.

The page reports its results by POSTing them to its own origin; the test waits for them
with a bound, then stops the browser. Nothing is timed.
"""

from __future__ import annotations

import queue
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapter_core.api.tradingview import REVOKED, UNAUTHORIZED
from adapter_core.tokens.codec import TokenFault
from tests.support.adapter_process import AdapterProcess
from tests.support.browser_page import Plan, trading_panel_page
from tests.support.connect_proxy import ConnectProxy
from tests.support.headless_chromium import HeadlessChromium, chromium_path
from tests.support.page_server import PageServer
from tests.support.site_certificates import SiteCertificates, make_site_certificates

pytestmark = pytest.mark.skipif(
    chromium_path() is None,
    reason="chromium is not on PATH (Debian's chromium package; .ci/run installs it)",
)

TRADINGVIEW = "www.tradingview.com"
ADAPTER = "adapter.test"
EVIL = "evil.example"
WITH_PORT = 9444
PAGE_ADDRESSES = [(TRADINGVIEW, 443), (EVIL, 443), (TRADINGVIEW, WITH_PORT)]
"""Where the browser may find the page server."""
ACCOUNT = "137780091"
"""User 14601's BESTBROKER account in the demo data set; the token grants only this one."""
RESULTS_TIMEOUT = 30.0
"""A bound on the page's whole run (it takes about a second), not a timing check."""
LOG_TIMEOUT = 5.0
BAD_TOKEN = "AQAAB" + "x" * 80
TRADING_PANEL_CALLS = [
    "config",
    "accounts",
    "state",
    "quotes",
    "place order",
    "orders",
    "cancel order",
    "no token",
    "bad token",
    "logout",
    "after logout",
]

JSON = dict[str, Any]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> SiteCertificates:
    return make_site_certificates(tmp_path_factory.mktemp("tls"), [TRADINGVIEW, ADAPTER, EVIL])


@pytest.fixture(scope="module")
def tls_adapter(
    tmp_path_factory: pytest.TempPathFactory, site: SiteCertificates
) -> Iterator[AdapterProcess]:
    """`serve --demo` over HTTPS with the site certificate; its own log must stay clean."""
    data_dir = tmp_path_factory.mktemp("browser-adapter") / "data"
    tls = ["--tls-cert", str(site.cert_file), "--tls-key", str(site.key_file)]
    with AdapterProcess(data_dir, ["--demo", *tls]) as process:
        assert process.url.startswith("https://127.0.0.1:")
        yield process
    noisy = [
        line
        for line in process.stderr_text().splitlines()
        if " WARNING " in line or " ERROR " in line or " CRITICAL " in line
    ]
    assert not noisy, "the adapter logged warnings or errors:\n" + "\n".join(noisy)


@pytest.fixture
def page(site: SiteCertificates) -> Iterator[PageServer]:
    """Its HTML is set once the token is known."""
    with PageServer("", site.cert_file, site.key_file) as server:
        yield server


@pytest.fixture
def proxy(tls_adapter: AdapterProcess, page: PageServer) -> Iterator[ConnectProxy]:
    adapter_port = int(tls_adapter.url.rsplit(":", 1)[1])
    routes = {f"{name}:{port}": page.port for name, port in PAGE_ADDRESSES}
    routes[f"{ADAPTER}:443"] = adapter_port
    with ConnectProxy(routes) as running:
        yield running


@dataclass
class Stage:
    """Everything one browser run needs: the adapter, the page server, the proxy, and the
    test's own client, which goes through the proxy checking the chain and the host name."""

    folder: Path
    site: SiteCertificates
    adapter: AdapterProcess
    page: PageServer
    proxy: ConnectProxy
    http: httpx.Client

    def mint(self) -> str:
        """A token for user 14601 granting only ACCOUNT, minted by the broker over TLS."""
        answer = self.http.post(
            f"https://{ADAPTER}/generate/token",
            json={
                "userId": 14601,
                "brokerNames": ["BESTBROKER"],
                "ctidTraderAccountIds": [int(ACCOUNT)],
                "isVerified": True,
            },
            headers={"Authorization": f"Bearer {self.adapter.broker_secret}"},
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["d"]
        return token

    def run_page(self, origin: str, token: str) -> JSON:
        """Load the Trading Panel page at `origin` in Chromium; return what it reported."""
        self.page.html = trading_panel_page(
            Plan(
                adapter=f"https://{ADAPTER}",
                token=token,
                account=ACCOUNT,
                bad_token=BAD_TOKEN,
                request_id=f"browser-{time.monotonic_ns()}",
            )
        )
        # The certificate the browser will be shown is valid for this name (chain and SAN).
        assert self.http.get(f"{origin}/").status_code == 200
        with HeadlessChromium(self.folder, self.proxy.url, self.site.spki_pin) as browser:
            browser.open(f"{origin}/")
            try:
                reported: JSON = self.page.results(RESULTS_TIMEOUT)
            except queue.Empty:
                pytest.fail(
                    f"the page reported nothing within {RESULTS_TIMEOUT}s\n"
                    f"proxy tunnelled: {self.proxy.tunnelled}\n"
                    f"proxy refused: {self.proxy.refused}\n"
                    f"page server: {self.page.log}\n"
                    f"chromium:\n{browser.log_text()[-4000:]}"
                )
        return reported


@pytest.fixture
def stage(
    tmp_path: Path,
    site: SiteCertificates,
    tls_adapter: AdapterProcess,
    page: PageServer,
    proxy: ConnectProxy,
) -> Iterator[Stage]:
    verify = ssl.create_default_context(cafile=site.ca_file)
    with httpx.Client(proxy=proxy.url, verify=verify, timeout=10, trust_env=False) as http:
        yield Stage(tmp_path, site, tls_adapter, page, proxy, http)


def _by_call(reported: JSON) -> dict[str, JSON]:
    steps = {step["call"]: step for step in reported["results"]}
    assert list(steps) == TRADING_PANEL_CALLS, reported["results"]
    return steps


def test_the_trading_panel_in_a_browser_on_tradingview_uses_the_adapter_over_tls(
    stage: Stage,
) -> None:
    reported = stage.run_page(f"https://{TRADINGVIEW}", stage.mint())

    assert reported["origin"] == "https://www.tradingview.com"
    steps = _by_call(reported)
    for name in ("config", "accounts", "state", "quotes", "place order", "orders", "logout"):
        assert steps[name]["status"] == 200, steps[name]
        assert steps[name]["body"]["s"] == "ok", steps[name]
    assert "pullingInterval" in steps["config"]["body"]["d"]
    assert [account["id"] for account in steps["accounts"]["body"]["d"]] == [ACCOUNT]
    assert "balance" in steps["state"]["body"]["d"]
    [quote] = steps["quotes"]["body"]["d"]
    assert quote["s"] == "ok", quote
    assert quote["n"] == "EURUSD"
    order_id = steps["place order"]["body"]["d"]["orderId"]
    assert order_id
    [order] = [order for order in steps["orders"]["body"]["d"] if order["id"] == order_id]
    assert (order["type"], order["side"], order["status"]) == ("limit", "buy", "working")
    assert steps["cancel order"]["status"] == 200
    assert steps["cancel order"]["body"] == {"s": "ok"}
    assert steps["logout"]["body"] == {"s": "ok"}

    # Refusals are readable by the page: CORS headers ride on the 401s too.
    expected_refusals = {
        "no token": "The Authorization header is missing.",
        "bad token": UNAUTHORIZED[TokenFault.MALFORMED],
        "after logout": REVOKED,
    }
    for name, errmsg in expected_refusals.items():
        assert steps[name]["status"] == 401, steps[name]
        assert steps[name]["body"] == {"s": "error", "errmsg": errmsg}, steps[name]


@pytest.mark.parametrize(
    "origin", [f"https://{EVIL}", f"https://{TRADINGVIEW}:{WITH_PORT}"], ids=["evil", "port"]
)
def test_a_page_on_another_origin_is_refused_by_cors(stage: Stage, origin: str) -> None:
    """Another site, and TradingView's own name with a port (TradingView has none)."""
    token = stage.mint()
    log_before = len(stage.adapter.stderr_text())
    reported = stage.run_page(origin, token)

    assert reported["origin"] == origin
    for step in _by_call(reported).values():
        assert step["status"] is None, step
        assert step["error"].startswith("TypeError: "), step

    # The one simple request (no Authorization header, so no preflight) did reach the
    # adapter and was answered; the browser kept the answer from the page.
    deadline = time.monotonic() + LOG_TIMEOUT
    while '"GET /config" 401' not in stage.adapter.stderr_text()[log_before:]:
        assert time.monotonic() < deadline, "the adapter never logged the simple request"
        time.sleep(0.05)
    # Every preflighted call was stopped before it was sent: the logout never happened.
    still = stage.http.get(
        f"https://{ADAPTER}/config", headers={"Authorization": f"Bearer {token}"}
    )
    assert still.status_code == 200
    assert still.json()["s"] == "ok"
