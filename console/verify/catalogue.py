"""The check type and the catalogue: every check, its stable id, its suite, in running order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from console.verify.context import Outcome, RunContext

SUITES = ("broker", "tradingview", "browser", "performance", "trading")
DEFAULT_SUITES = ("broker", "tradingview", "browser", "performance")
"""Trading places orders: it runs only when asked for, and only on demo accounts."""
SUITE_TITLES = {
    "broker": "Broker endpoints (/generate/token, /logout)",
    "tradingview": "TradingView Broker REST API",
    "browser": "Browser: CORS and TLS",
    "performance": "Performance",
    "trading": "Trading (demo accounts only)",
}


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    suite: str
    title: str
    expected: str
    """What a conforming adapter does, as a sentence."""
    run: Callable[[RunContext], Awaitable[Outcome]]


def catalogue() -> tuple[Check, ...]:
    from console.verify import checks_broker, checks_browser, checks_tradingview, checks_usage

    return (
        *checks_broker.CHECKS,
        *checks_tradingview.CHECKS,
        *checks_browser.CHECKS,
        *checks_usage.CHECKS,
    )


def selected(suites: tuple[str, ...], only: frozenset[str] | None) -> list[Check]:
    return [
        check
        for check in catalogue()
        if check.suite in suites and (only is None or check.id in only)
    ]
