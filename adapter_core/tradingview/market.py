"""The symbol list and the latest price of each symbol, held in memory for every poll.

cTrader serves one price stream to every account (source document), so one board serves all
sessions; it is filled once and then kept current from the backend's spot events.
"""

from __future__ import annotations

from adapter_core.backend.model import Spot, Symbol
from adapter_core.backend.port import BackendEvent, SpotEvent, TradingBackend
from adapter_core.tradingview.mapping import JSON, quote_json


class MarketBoard:
    def __init__(self) -> None:
        self.symbols_by_id: dict[int, Symbol] = {}
        self.symbols_by_name: dict[str, Symbol] = {}
        self.spots: dict[int, Spot] = {}
        self._quotes: dict[int, JSON] = {}
        """/quotes entries by symbol id, dropped when the symbol's price changes."""

    def quote(self, symbol: Symbol) -> JSON | None:
        """The /quotes entry for `symbol` at its latest price, None before its first price.

        Built once per price and shared, never changed: every tab polling a symbol between
        two ticks asks for the same answer.
        """
        entry = self._quotes.get(symbol.symbol_id)
        if entry is None:
            spot = self.spots.get(symbol.symbol_id)
            if spot is None:
                return None
            entry = {"s": "ok", "n": symbol.name, "v": quote_json(spot, symbol)}
            self._quotes[symbol.symbol_id] = entry
        return entry

    async def load(self, backend: TradingBackend) -> None:
        symbols = await backend.symbols()
        self.symbols_by_id = {symbol.symbol_id: symbol for symbol in symbols}
        self.symbols_by_name = {symbol.name: symbol for symbol in symbols}
        self._quotes.clear()
        for spot in await backend.spots():
            self.spots[spot.symbol_id] = spot

    def on_backend_event(self, event: BackendEvent) -> None:
        if isinstance(event, SpotEvent):
            quotes = self._quotes
            for spot in event.spots:
                self.spots[spot.symbol_id] = spot
                quotes.pop(spot.symbol_id, None)
