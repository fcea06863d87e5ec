"""A simulated backend on a fake clock, with every event it emits recorded."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from adapter_core.backend.port import BackendEvent, ExecutionEvent
from adapter_core.backend.simulated import SimulatedBackend, load_demo_dataset


class Recorder:
    def __init__(self) -> None:
        self.events: list[BackendEvent] = []

    def __call__(self, event: BackendEvent) -> None:
        self.events.append(event)

    def executions(self) -> list[ExecutionEvent]:
        return [e for e in self.events if isinstance(e, ExecutionEvent)]


@pytest.fixture
def backend() -> SimulatedBackend:
    ticks = itertools.count(1_700_000_000_000, 250)
    return SimulatedBackend(load_demo_dataset(), clock=lambda: next(ticks))


@pytest.fixture
def recorder(backend: SimulatedBackend) -> Iterator[Recorder]:
    recorded = Recorder()
    unsubscribe = backend.subscribe(recorded)
    yield recorded
    unsubscribe()
