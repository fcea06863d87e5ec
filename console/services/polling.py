"""TradingView's polling intervals (`/config` → `pullingInterval`), read as TradingView reads them.

One place for the defaults where `/config` gives none and for the maxima TradingView clamps
longer values to, used by everything that polls like a Trading Panel tab.
"""

from __future__ import annotations

from typing import Any

DEFAULT_INTERVALS_MS = {"quotes": 500, "orders": 500, "positions": 1000, "accountManager": 500}
"""TradingView's defaults, used where `/config` sets none (or nonsense)."""
MAX_INTERVALS_MS = {"quotes": 1000, "orders": 1000, "positions": 1500, "accountManager": 1500}
"""TradingView clamps longer intervals to these, so the adapter must sustain them."""


def interval_ms(config: dict[str, Any], field: str) -> float:
    """The interval of `field` in milliseconds, as TradingView would poll it."""
    configured = config.get("pullingInterval")
    value = configured.get(field) if isinstance(configured, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        value = DEFAULT_INTERVALS_MS[field]
    return float(min(value, MAX_INTERVALS_MS[field]))
