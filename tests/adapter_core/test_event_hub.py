"""The event hub: bounded subscribers, resuming after Last-Event-ID, and closing for good."""

from __future__ import annotations

import asyncio

import pytest

import adapter_core.events as events_module
from adapter_core.events import (
    REPLAY_EVENTS,
    RESUME_WINDOW,
    AdapterEvent,
    EventHub,
    TooManySubscribers,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def drain(queue: asyncio.Queue[AdapterEvent | None]) -> list[AdapterEvent | None]:
    found: list[AdapterEvent | None] = []
    while not queue.empty():
        found.append(queue.get_nowait())
    return found


def sequences(queue: asyncio.Queue[AdapterEvent | None]) -> list[int]:
    return [-1 if event is None else event.sequence for event in drain(queue)]


def test_a_returning_subscriber_gets_what_it_missed() -> None:
    clock = Clock()
    hub = EventHub(clock)
    first, resumed = hub.subscribe()
    assert not resumed
    for number in range(3):
        hub.publish("token.issued", {"n": number})
    assert sequences(first.queue) == [1, 2, 3]
    first.close()
    clock.now += RESUME_WINDOW / 2
    hub.publish("token.issued", {"n": 3})
    hub.publish("token.logged_out", {"n": 4})
    again, resumed = hub.subscribe(after=3)
    assert resumed
    assert sequences(again.queue) == [4, 5]


def test_no_resume_once_the_window_passed_or_the_id_is_unknown() -> None:
    clock = Clock()
    hub = EventHub(clock)
    first, _ = hub.subscribe()
    hub.publish("token.issued", {})
    first.close()
    clock.now += RESUME_WINDOW + 1
    hub.publish("token.issued", {})  # nobody wants it: not even numbered
    late, resumed = hub.subscribe(after=1)
    assert not resumed
    assert drain(late.queue) == []
    _, resumed = hub.subscribe(after=999)
    assert not resumed


def test_an_id_older_than_what_is_kept_is_not_resumed() -> None:
    hub = EventHub(Clock())
    listener, _ = hub.subscribe()
    for _ in range(REPLAY_EVENTS + 5):
        hub.publish("session.activity", {})
        drain(listener.queue)
    _, resumed = hub.subscribe(after=2)
    assert not resumed
    newest = REPLAY_EVENTS + 5
    again, resumed = hub.subscribe(after=newest - 1)
    assert resumed
    assert sequences(again.queue) == [newest]


def test_a_closed_hub_ends_new_streams_at_once() -> None:
    hub = EventHub(Clock())
    before, _ = hub.subscribe()
    hub.close()
    last, end = drain(before.queue)
    assert last is not None
    assert last.kind == "adapter.stopping"  # a listening stream is told why it ends
    assert end is None
    hub.close()  # closing twice sends nothing more
    after, resumed = hub.subscribe(after=0)
    assert not resumed
    assert drain(after.queue) == [None]


def test_event_streams_are_bounded_and_a_freed_slot_is_reused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(events_module, "MAX_SUBSCRIBERS", 2)
    hub = EventHub(Clock())
    first, _ = hub.subscribe()
    hub.subscribe()
    with pytest.raises(TooManySubscribers, match="2 event streams are already open"):
        hub.subscribe()
    first.close()
    hub.subscribe()  # the slot is free again


def test_an_event_is_framed_once_for_every_stream() -> None:
    hub = EventHub(Clock())
    streams = [hub.subscribe()[0] for _ in range(3)]
    hub.publish("token.issued", {"tokenId": "a" * 32})
    received = [stream.queue.get_nowait() for stream in streams]
    assert all(event is received[0] for event in received)
    event = received[0]
    assert event is not None
    assert event.frame is event.frame  # built once, then shared
    assert event.frame == (
        f'id: {event.sequence}\nevent: token.issued\ndata: {{"tokenId":"{"a" * 32}"}}\n\n'.encode()
    )
