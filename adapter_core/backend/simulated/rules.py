"""Checks on what a trader asks for, with refusals phrased as sentences a trader can read."""

from __future__ import annotations

from decimal import Decimal

from adapter_core.backend.model import Symbol, TradeSide
from adapter_core.backend.port import BackendError


def format_lots(volume: int, symbol: Symbol) -> str:
    lots = (Decimal(volume) / Decimal(symbol.lot_size)).normalize()
    return f"{lots:f} lot" if lots == 1 else f"{lots:f} lots"


def format_price(price: float, symbol: Symbol) -> str:
    return f"{price:.{symbol.digits}f}"


def check_volume(symbol: Symbol, volume: int) -> None:
    """Volume within the symbol's min/max and on its step, as cTrader enforces."""
    shown = format_lots(volume, symbol)
    if volume < symbol.min_volume:
        minimum = format_lots(symbol.min_volume, symbol)
        raise BackendError(
            f"The volume {shown} is below the minimum of {minimum} for {symbol.name}."
        )
    if volume > symbol.max_volume:
        maximum = format_lots(symbol.max_volume, symbol)
        raise BackendError(
            f"The volume {shown} is above the maximum of {maximum} for {symbol.name}."
        )
    check_step(symbol, volume)


def check_step(symbol: Symbol, volume: int) -> None:
    if volume % symbol.step_volume:
        step = format_lots(symbol.step_volume, symbol)
        raise BackendError(
            f"The volume {format_lots(volume, symbol)} is not a multiple of {step} "
            f"for {symbol.name}."
        )


def round_price(symbol: Symbol, price: float | None, label: str) -> float | None:
    """Round to the symbol's digits; a price of zero or below is never meaningful."""
    if price is None:
        return None
    rounded = round(price, symbol.digits)
    if rounded <= 0:
        raise BackendError(f"The {label} must be above zero for {symbol.name}.")
    return rounded


def check_protection(
    symbol: Symbol,
    side: TradeSide,
    reference: float,
    stop_loss: float | None,
    take_profit: float | None,
) -> None:
    """SL below and TP above the reference for a buy; the other way round for a sell."""
    direction = "buy" if side is TradeSide.BUY else "sell"
    shown = format_price(reference, symbol)
    if stop_loss is not None:
        wrong = stop_loss >= reference if side is TradeSide.BUY else stop_loss <= reference
        if wrong:
            where = "below" if side is TradeSide.BUY else "above"
            raise BackendError(
                f"The stop loss {format_price(stop_loss, symbol)} must be {where} {shown} "
                f"for a {direction} on {symbol.name}."
            )
    if take_profit is not None:
        wrong = take_profit <= reference if side is TradeSide.BUY else take_profit >= reference
        if wrong:
            where = "above" if side is TradeSide.BUY else "below"
            raise BackendError(
                f"The take profit {format_price(take_profit, symbol)} must be {where} {shown} "
                f"for a {direction} on {symbol.name}."
            )
