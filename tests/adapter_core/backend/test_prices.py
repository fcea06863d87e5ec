"""Simulated prices are reproducible from the seed and always quote a positive spread."""

from __future__ import annotations

from adapter_core.backend.model import Spot
from adapter_core.backend.simulated import load_demo_dataset
from adapter_core.backend.simulated.prices import PriceFeed


def run(seed: int, steps: int) -> list[Spot]:
    dataset = load_demo_dataset()
    feed = PriceFeed(dataset.symbols, seed, start_ms=0)
    for step in range(1, steps + 1):
        spots = feed.tick(step * 250)
    return spots


def test_same_seed_gives_same_prices() -> None:
    assert run(7, 200) == run(7, 200)


def test_different_seed_gives_different_prices() -> None:
    assert run(7, 200) != run(8, 200)


def test_prices_move() -> None:
    first, later = run(7, 1), run(7, 50)
    assert [(s.bid, s.ask) for s in first] != [(s.bid, s.ask) for s in later]


def test_spread_is_positive_and_on_the_point_grid() -> None:
    dataset = load_demo_dataset()
    feed = PriceFeed(dataset.symbols, dataset.seed, start_ms=0)
    for step in range(2000):
        for seed, spot in zip(dataset.symbols, feed.tick(step), strict=True):
            point = 10 ** (5 - seed.symbol.digits)
            assert 0 < spot.bid < spot.ask
            assert spot.ask - spot.bid == seed.spread_points * point
            assert spot.bid % point == 0


def test_prices_stay_near_their_start() -> None:
    """Mean reversion keeps a long demo session plausible: within 10 % after ~40 minutes."""
    dataset = load_demo_dataset()
    final = run(dataset.seed, 10_000)
    for seed, spot in zip(dataset.symbols, final, strict=True):
        assert abs((spot.bid + spot.ask) / 2 / seed.mid - 1) < 0.1


def test_timestamps_come_from_the_caller() -> None:
    dataset = load_demo_dataset()
    feed = PriceFeed(dataset.symbols, 1, start_ms=5)
    assert {s.timestamp_ms for s in feed.spots()} == {5}
    assert {s.timestamp_ms for s in feed.tick(1234)} == {1234}


def test_set_mid_quotes_around_the_chosen_price() -> None:
    dataset = load_demo_dataset()
    feed = PriceFeed(dataset.symbols, 1, start_ms=0)
    spot = feed.set_mid(1, 110_000, now_ms=9)
    assert (spot.bid, spot.ask, spot.timestamp_ms) == (109_996, 110_004, 9)
    assert feed.mid(1) == 1.1
