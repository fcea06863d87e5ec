"""The event hub: bounded subscribers, resuming after Last-Event-ID, and closing for good."""

from __future__ import annotations

import asyncio

from adapter_core.events import REPLAY_EVENTS, RESUME_WINDOW, AdapterEvent, EventHub


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
