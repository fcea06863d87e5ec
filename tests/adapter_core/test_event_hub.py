"""The event hub: bounded subscribers, resuming after Last-Event-ID, and closing for good."""

from __future__ import annotations

import asyncio
import re

import pytest

import adapter_core.events as events_module
from adapter_core.events import (
    DELIVERY_INTERVAL,
    REPLAY_EVENTS,
    RESUME_WINDOW,
    SUBSCRIBER_BACKLOG,
    AdapterEvent,
    EventHub,
    Subscription,
    TooManySubscribers,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def drain(subscription: Subscription) -> list[AdapterEvent | None]:
    """Every event waiting for the subscription, then None if its stream has ended."""
    found: list[AdapterEvent | None] = []
    while events := subscription.pending():
        found += events
    if events is None:
        found.append(None)
    return found


def sequences(subscription: Subscription) -> list[int]:
    return [-1 if event is None else event.sequence for event in drain(subscription)]


def test_a_returning_subscriber_gets_what_it_missed() -> None:
    clock = Clock()
    hub = EventHub(clock)
    first, resumed = hub.subscribe()
    assert not resumed
    for number in range(3):
        hub.publish("token.issued", {"n": number})
    assert sequences(first) == [1, 2, 3]
    first.close()
    clock.now += RESUME_WINDOW / 2
    hub.publish("token.issued", {"n": 3})
    hub.publish("token.logged_out", {"n": 4})
    again, resumed = hub.subscribe(after=3)
    assert resumed
    assert sequences(again) == [4, 5]


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
    assert drain(late) == []
    _, resumed = hub.subscribe(after=999)
    assert not resumed


def test_an_id_older_than_what_is_kept_is_not_resumed() -> None:
    hub = EventHub(Clock())
    listener, _ = hub.subscribe()
    for _ in range(REPLAY_EVENTS + 5):
        hub.publish("session.activity", {})
        drain(listener)
    _, resumed = hub.subscribe(after=2)
    assert not resumed
    newest = REPLAY_EVENTS + 5
    again, resumed = hub.subscribe(after=newest - 1)
    assert resumed
    assert sequences(again) == [newest]


def test_a_closed_hub_ends_new_streams_at_once() -> None:
    hub = EventHub(Clock())
    before, _ = hub.subscribe()
    hub.close()
    last, end = drain(before)
    assert last is not None
    assert last.kind == "adapter.stopping"  # a listening stream is told why it ends
    assert end is None
    hub.close()  # closing twice sends nothing more
    after, resumed = hub.subscribe(after=0)
    assert not resumed
    assert drain(after) == [None]


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
    received = [drain(stream) for stream in streams]
    assert all(events == received[0] for events in received)
    [event] = received[0]
    assert all(events[0] is event for events in received)
    assert event is not None
    assert event.frame is event.frame  # built once, then shared
    assert event.frame == (
        f'id: {event.sequence}\nevent: token.issued\ndata: {{"tokenId":"{"a" * 32}"}}\n\n'.encode()
    )


def test_a_subscriber_that_stops_taking_is_dropped_and_frees_its_slot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(events_module, "MAX_SUBSCRIBERS", 2)
    hub = EventHub(Clock())
    stuck, _ = hub.subscribe()
    reading, _ = hub.subscribe()
    for _ in range(SUBSCRIBER_BACKLOG + 100):
        hub.publish("session.activity", {})
        drain(reading)
    assert hub.subscriber_count == 1  # dropped while publishing, not only when it reads
    assert drain(stuck) == [None]
    hub.subscribe()  # the slot is free again


@pytest.mark.anyio
async def test_a_waiting_stream_gets_a_burst_in_one_take() -> None:
    hub = EventHub(Clock())
    stream, _ = hub.subscribe()
    other, _ = hub.subscribe()
    taking = asyncio.create_task(stream.take())
    await asyncio.sleep(0)
    for number in range(3):
        hub.publish("token.issued", {"n": number})
    taken = await asyncio.wait_for(taking, 1)
    assert ids(taken) == [1, 2, 3]
    assert await other.take() is taken  # the same events are joined once for every stream
    taking = asyncio.create_task(stream.take())
    await asyncio.sleep(0)
    hub.publish("token.issued", {"n": 3})
    assert not taking.done()  # woken at most once per DELIVERY_INTERVAL
    assert ids(await asyncio.wait_for(taking, DELIVERY_INTERVAL * 20)) == [4]
    hub.close()
    final = await stream.take()
    assert final is not None
    assert b"event: adapter.stopping\n" in final
    assert await stream.take() is None


def ids(frames: bytes | None) -> list[int]:
    assert frames is not None
    return [int(number) for number in re.findall(rb"^id: (\d+)$", frames, re.MULTILINE)]
