"""Deterministic simulated quotes: one seeded random walk per symbol, no wall clock.

Each symbol has its own generator derived from the data set's seed and its id, so adding a
symbol to the data set leaves every other symbol's price path unchanged.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from adapter_core.backend.model import PRICE_SCALE, Spot, SymbolCategory
from adapter_core.backend.simulated.dataset import SymbolSeed

STEP_VOLATILITY = {
    SymbolCategory.FOREX: 0.00002,
    SymbolCategory.METAL: 0.00005,
    SymbolCategory.INDEX: 0.00004,
    SymbolCategory.CRYPTO: 0.00012,
}
"""Standard deviation of one step's relative move: livelier than a real quarter-second, but
keeping the real ordering (FX calmest, crypto wildest) so a demo chart moves visibly."""

MEAN_REVERSION = 0.0005
"""Pull back towards the starting price per step, so a long-running demo stays plausible."""


class _Walk:
    def __init__(self, seed: SymbolSeed, master_seed: int) -> None:
        self.symbol_id = seed.symbol.symbol_id
        self.anchor = math.log(seed.mid)
        self.log_mid = self.anchor
        self.sigma = STEP_VOLATILITY[seed.symbol.category]
        self.point = 10 ** (5 - seed.symbol.digits)
        self.spread = seed.spread_points * self.point
        self.rng = random.Random(f"{master_seed}:{self.symbol_id}")  # noqa: S311 (not security)

    def advance(self) -> None:
        pull = MEAN_REVERSION * (self.anchor - self.log_mid)
        self.log_mid += pull + self.rng.gauss(0.0, self.sigma)

    def quote(self, timestamp_ms: int) -> Spot:
        """Bid on the point grid just below mid minus half the spread; ask a full spread above."""
        raw_bid = math.exp(self.log_mid) - self.spread / 2
        # The epsilon keeps exp(log(x)) round-off from dropping a whole point.
        bid = max(self.point, math.floor(raw_bid / self.point + 1e-9) * self.point)
        return Spot(self.symbol_id, bid, bid + self.spread, timestamp_ms)


class PriceFeed:
    """The latest spot of every symbol; `tick` moves them all one step."""

    def __init__(self, symbols: Sequence[SymbolSeed], seed: int, start_ms: int) -> None:
        self._walks = {s.symbol.symbol_id: _Walk(s, seed) for s in symbols}
        self._spots = {sid: walk.quote(start_ms) for sid, walk in self._walks.items()}

    def tick(self, now_ms: int) -> list[Spot]:
        for symbol_id, walk in self._walks.items():
            walk.advance()
            self._spots[symbol_id] = walk.quote(now_ms)
        return self.spots()

    def set_mid(self, symbol_id: int, mid: int, now_ms: int) -> Spot:
        """Move one symbol to a chosen mid (1/100000 units): scripted demos and tests."""
        walk = self._walks[symbol_id]
        walk.log_mid = math.log(mid)
        spot = self._spots[symbol_id] = walk.quote(now_ms)
        return spot

    def spot(self, symbol_id: int) -> Spot:
        return self._spots[symbol_id]

    def spots(self) -> list[Spot]:
        return list(self._spots.values())

    def mid(self, symbol_id: int) -> float:
        """Mid in price units, for currency conversion."""
        spot = self._spots[symbol_id]
        return (spot.bid + spot.ask) / 2 / PRICE_SCALE
