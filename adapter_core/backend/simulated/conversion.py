"""Currency conversion through the forex symbols, so P&L and margin land in the deposit currency.

Paths are found once (breadth first, fewest legs) and reused; only the rates move with prices.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from adapter_core.backend.model import Symbol, SymbolCategory


@dataclass(frozen=True, slots=True)
class Leg:
    """One hop: multiply by the symbol's mid, or divide by it when `invert` is set."""

    symbol_id: int
    invert: bool


def find_path(symbols: Iterable[Symbol], source: str, target: str) -> tuple[Leg, ...] | None:
    """The shortest chain of forex symbols turning `source` into `target`, or None."""
    edges: dict[str, list[tuple[str, Leg]]] = {}
    for symbol in symbols:
        if symbol.category is not SymbolCategory.FOREX:
            continue
        edges.setdefault(symbol.base_asset, []).append(
            (symbol.quote_asset, Leg(symbol.symbol_id, invert=False))
        )
        edges.setdefault(symbol.quote_asset, []).append(
            (symbol.base_asset, Leg(symbol.symbol_id, invert=True))
        )
    paths: dict[str, tuple[Leg, ...]] = {source: ()}
    queue = deque([source])
    while queue:
        asset = queue.popleft()
        if asset == target:
            return paths[asset]
        for neighbour, leg in edges.get(asset, []):
            if neighbour not in paths:
                paths[neighbour] = (*paths[asset], leg)
                queue.append(neighbour)
    return None


class Converter:
    """Rates between currencies from the current mids; paths must have been checked at load."""

    def __init__(self, symbols: Sequence[Symbol]) -> None:
        self._symbols = tuple(symbols)
        self._paths: dict[tuple[str, str], tuple[Leg, ...] | None] = {}

    def path(self, source: str, target: str) -> tuple[Leg, ...] | None:
        key = (source, target)
        if key not in self._paths:
            self._paths[key] = find_path(self._symbols, source, target)
        return self._paths[key]

    def can_convert(self, source: str, target: str) -> bool:
        return self.path(source, target) is not None

    def rate(self, source: str, target: str, mid: Callable[[int], float]) -> float:
        """How many `target` one `source` buys at the current mids."""
        path = self.path(source, target)
        if path is None:
            raise LookupError(f"No conversion from {source} to {target}.")
        result = 1.0
        for leg in path:
            price = mid(leg.symbol_id)
            result = result / price if leg.invert else result * price
        return result
