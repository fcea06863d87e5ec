"""The price task on a real event loop, and listener subscription."""

from __future__ import annotations

import anyio
import pytest

from adapter_core.backend.model import NewOrder, OrderType, TradeSide
from adapter_core.backend.port import BackendEvent, ExecutionEvent, SpotEvent
from adapter_core.backend.simulated import SimulatedBackend, load_demo_dataset

pytestmark = pytest.mark.anyio


async def test_start_emits_spot_events_until_stopped() -> None:
    backend = SimulatedBackend(load_demo_dataset(), tick_interval=0.01)
    received: list[SpotEvent] = []
    enough = anyio.Event()

    def listener(event: BackendEvent) -> None:
        if isinstance(event, SpotEvent):
            received.append(event)
            if len(received) == 3:
                enough.set()

    backend.subscribe(listener)
    await backend.start()
    await backend.start()  # a second start keeps the one task
    with anyio.fail_after(5):
        await enough.wait()
    await backend.stop()
    seen = len(received)
    await anyio.sleep(0.05)
    assert len(received) == seen
    assert len(received[0].spots) == len(await backend.symbols())
    await backend.stop()


async def test_step_updates_spots_and_notifies(backend: SimulatedBackend) -> None:
    events: list[BackendEvent] = []
    backend.subscribe(events.append)
    spots = backend.step()
    assert events == [SpotEvent(spots)]
    assert await backend.spots() == spots


async def test_unsubscribe_stops_delivery(backend: SimulatedBackend) -> None:
    events: list[BackendEvent] = []
    unsubscribe = backend.subscribe(events.append)
    unsubscribe()
    unsubscribe()
    backend.step()
    assert events == []


@pytest.mark.expect_log("adapter_core.backend.simulated.backend", "listener failed")
async def test_a_failing_listener_does_not_stop_the_others(
    backend: SimulatedBackend, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: BackendEvent) -> None:
        raise RuntimeError("listener bug")

    events: list[BackendEvent] = []
    backend.subscribe(broken)
    backend.subscribe(events.append)
    await backend.place_order(137780091, NewOrder(1, TradeSide.BUY, 100_000, OrderType.MARKET))
    assert isinstance(events[0], ExecutionEvent)
    assert "listener failed" in caplog.text
