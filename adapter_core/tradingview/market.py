"""The symbol list and the latest price of each symbol, held in memory for every poll.

cTrader serves one price stream to every account (source document), so one board serves all
sessions; it is filled once and then kept current from the backend's spot events.
"""

from __future__ import annotations

from adapter_core.backend.model import Spot, Symbol
from adapter_core.backend.port import BackendEvent, SpotEvent, TradingBackend


class MarketBoard:
    def __init__(self) -> None:
        self.symbols_by_id: dict[int, Symbol] = {}
        self.symbols_by_name: dict[str, Symbol] = {}
        self.spots: dict[int, Spot] = {}

    async def load(self, backend: TradingBackend) -> None:
        symbols = await backend.symbols()
        self.symbols_by_id = {symbol.symbol_id: symbol for symbol in symbols}
        self.symbols_by_name = {symbol.name: symbol for symbol in symbols}
        for spot in await backend.spots():
            self.spots[spot.symbol_id] = spot

    def on_backend_event(self, event: BackendEvent) -> None:
        if isinstance(event, SpotEvent):
            for spot in event.spots:
                self.spots[spot.symbol_id] = spot
