"""The adapter's event stream: tokens issued, trader sessions opened, activity, logouts, expiry.

Events are kept once, in the hub's history, and each subscriber (an admin API Server-Sent
Events client) holds only its place in it: publishing costs the same with no subscriber or
with hundreds, where a queue per subscriber cost each of them a put per event (minting with
100 streams open fell to a fraction of its rate). Subscribers are woken together, at most
once per DELIVERY_INTERVAL, and take everything new in one piece, so a busy adapter writes
each stream a few times a second rather than once per event. A subscriber that falls more than
SUBSCRIBER_BACKLOG events behind is dropped rather than slowing the adapter down; it
reconnects and reloads, which the console does on its own.

A subscriber that reconnects with the last sequence it saw (`Last-Event-ID`) is sent what it
missed instead, when the hub still holds all of it: the last `REPLAY_EVENTS` events, kept for
`RESUME_WINDOW` seconds after the last subscriber left. Past that window nobody wants events,
so the adapter stops building them and a reconnecting subscriber must reload.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

import orjson

from adapter_core.tokens.claims import TokenClaims

SUBSCRIBER_BACKLOG = 1000
REPLAY_EVENTS = SUBSCRIBER_BACKLOG
"""Events kept for subscribers that resume, and for live ones that have not taken them yet."""
RESUME_WINDOW = 60.0
"""Seconds after the last subscriber left during which events are still kept for its return."""
ACTIVITY_INTERVAL = 2.0
"""At most one activity event per token in this many seconds (the last one is never lost)."""
DELIVERY_INTERVAL = 0.05
"""Subscribers are woken at most this often: an event waits at most this long, and a busy
adapter sends each stream many events per write."""
_SWEEP_EVERY = 64
"""Publishing looks for subscribers too far behind once per this many events."""


MAX_SUBSCRIBERS = 256
"""Open event streams at most: each costs a connection and a place in the history; more is
refused (503)."""


class TooManySubscribers(Exception):
    """Every event stream slot is taken."""


class AdapterEvent(NamedTuple):
    """An event as the streams send it, framed once however many streams send it.

    A tuple of plain values: the garbage collector stops tracking it, where an object holding
    its data dict kept the collector walking the thousand events a busy hub keeps."""

    sequence: int
    kind: str
    frame: bytes
    """The event as Server-Sent Events bytes."""

    @classmethod
    def framed(cls, sequence: int, kind: str, data: dict[str, Any]) -> AdapterEvent:
        return cls(sequence, kind, sse_frame(kind, data, sequence))


def sse_frame(kind: str, data: Any, sequence: int | None = None) -> bytes:
    head = f"id: {sequence}\n" if sequence is not None else ""
    return f"{head}event: {kind}\ndata: ".encode() + orjson.dumps(data) + b"\n\n"


class Subscription:
    """One stream's place in the hub's history: the sequence of the last event it took."""

    def __init__(self, hub: EventHub, seen: int) -> None:
        self._hub = hub
        self._seen = seen
        self._final: AdapterEvent | None = None
        """The hub's last event, set when the hub closes while this stream is open."""
        self._ended = False

    def pending(self) -> list[AdapterEvent] | None:
        """Every event published since the last take, at once; None once the stream must end
        (the hub closed, or this subscriber fell too far behind and was dropped)."""
        if self._final is not None:
            final, self._final = self._final, None
            self._ended = True
            return [final]
        if self._ended:
            return None
        return self._hub._events_after(self)

    async def take(self) -> bytes | None:
        """What the stream sends next: the frames of every event since the last take, in one
        piece (joined once for all the streams taking the same events). Waits for at least
        one event; None once the stream must end."""
        while (events := self.pending()) == []:
            await self._hub._arrival()
        return None if events is None else self._hub._frames(events)

    def close(self) -> None:
        self._hub.unsubscribe(self)


class EventHub:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.relay: Callable[[str, dict[str, Any]], None] | None = None
        """Hands each event published here to the other instances (a shared store)."""
        self._subscribers: set[Subscription] = set()
        self._sequence = 0
        self._history: deque[AdapterEvent] = deque(maxlen=REPLAY_EVENTS)
        self._kept_until = -math.inf
        """While no one subscribes, events are still kept (for a resume) until this time."""
        self._closed = False
        self._last_activity: dict[str, float] = {}
        self._pending_activity: dict[str, dict[str, Any]] = {}
        self._waiters: set[asyncio.Future[None]] = set()
        """Subscribers waiting for events, woken together."""
        self._loop: asyncio.AbstractEventLoop | None = None
        """The loop the subscribers wait on; known once one waits."""
        self._wake: asyncio.TimerHandle | None = None
        self._woken_at = -math.inf
        self._joined_span = (0, 0)
        self._joined = b""
        """The frames last taken, kept for the other streams that take the same events."""

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    @property
    def wanted(self) -> bool:
        """Whether events are wanted: a subscriber listens, or one may come back to resume,
        or other instances take this one's events (`relay`)."""
        return bool(self._subscribers) or self.relay is not None or self._clock() < self._kept_until

    def subscribe(self, after: int | None = None) -> tuple[Subscription, bool]:
        """A new subscription, and whether it resumes after event `after` (the events since
        are already pending for it). A hub that closed gives one that ends at once."""
        subscription = Subscription(self, self._sequence)
        if self._closed:
            subscription._ended = True
            return subscription, False
        if len(self._subscribers) >= MAX_SUBSCRIBERS:
            raise TooManySubscribers(f"{MAX_SUBSCRIBERS} event streams are already open")
        if not self.wanted:
            self._history.clear()  # events went unbuilt meanwhile: what is kept has gaps
        resumed = after is not None and self._can_resume(after)
        if resumed and after is not None:
            subscription._seen = after
        self._subscribers.add(subscription)
        return subscription, resumed

    def number_from(self, first: int) -> None:
        """Number events from `first` on (set before any is published). Instances sharing a
        store number from far apart, so an event id one of them sent never resumes a stream
        on another: that stream starts afresh (`resumed: false`) instead of skipping events."""
        self._sequence = first - 1

    def _can_resume(self, after: int) -> bool:
        if not self._history:
            return False
        first, last = self._history[0].sequence, self._history[-1].sequence
        return first - 1 <= after <= last

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
        if not self._subscribers:
            self._kept_until = self._clock() + RESUME_WINDOW

    def _events_after(self, subscription: Subscription) -> list[AdapterEvent] | None:
        """What `subscription` has not taken yet, or None if some of it is no longer kept."""
        history = self._history
        if not history or history[-1].sequence <= subscription._seen:
            return []
        first = history[0].sequence
        if subscription._seen < first - 1:
            self._drop(subscription)
            return None
        events = list(itertools.islice(history, subscription._seen + 1 - first, None))
        subscription._seen = events[-1].sequence
        return events

    def _frames(self, events: list[AdapterEvent]) -> bytes:
        span = (events[0].sequence, events[-1].sequence)
        if span != self._joined_span:
            self._joined_span = span
            self._joined = b"".join(event.frame for event in events)
        return self._joined

    async def _arrival(self) -> None:
        """Return once new events are delivered, or the hub closes."""
        self._loop = asyncio.get_running_loop()
        waiter = self._loop.create_future()
        self._waiters.add(waiter)
        try:
            await waiter
        finally:
            self._waiters.discard(waiter)

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        if not self.wanted:
            return
        if self.relay is not None:
            self.relay(kind, data)
        self._append(kind, data)

    def publish_relayed(self, instance: str, kind: str, data: dict[str, Any]) -> None:
        """An event of another instance (named in the event), for this instance's streams."""
        if self._subscribers or self._clock() < self._kept_until:
            self._append(kind, {**data, "instance": instance})

    def _append(self, kind: str, data: dict[str, Any]) -> None:
        self._sequence += 1
        self._history.append(AdapterEvent.framed(self._sequence, kind, data))
        if self._waiters and self._wake is None:
            self._deliver_soon()
        if not self._sequence % _SWEEP_EVERY:
            self._sweep()

    def _deliver_soon(self) -> None:
        """Wake the waiting subscribers now, or DELIVERY_INTERVAL after the last wake."""
        assert self._loop is not None  # set by every waiter
        delay = self._woken_at + DELIVERY_INTERVAL - self._loop.time()
        if delay <= 0:
            self._deliver()
        else:
            self._wake = self._loop.call_later(delay, self._deliver)

    def _deliver(self) -> None:
        self._wake = None
        if self._loop is not None:
            self._woken_at = self._loop.time()
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _sweep(self) -> None:
        """Drop subscribers that have fallen out of the history (a stream that stopped
        reading), so they free their slot without waiting to be woken."""
        if len(self._history) < REPLAY_EVENTS:
            return
        oldest = self._history[0].sequence
        for subscription in [s for s in self._subscribers if s._seen < oldest - 1]:
            self._drop(subscription)

    def publish_activity(self, token_id: str, data: dict[str, Any]) -> None:
        """Activity, throttled per token: TradingView polls several times a second.

        The first request in an interval is published at once; the latest of the others is
        published when the interval ends, so a view never stays behind the last request.
        """
        if not self.wanted:
            return
        now = self._clock()
        last = self._last_activity.get(token_id)
        if last is None or now - last >= ACTIVITY_INTERVAL:
            if len(self._last_activity) > 100_000:
                self._last_activity.clear()
            self._last_activity[token_id] = now
            self.publish("session.activity", data)
            return
        if token_id not in self._pending_activity:
            delay = ACTIVITY_INTERVAL - (now - last)
            asyncio.get_running_loop().call_later(delay, self._flush_activity, token_id)
        self._pending_activity[token_id] = data

    def _flush_activity(self, token_id: str) -> None:
        data = self._pending_activity.pop(token_id, None)
        if data is not None:
            self._last_activity[token_id] = self._clock()
            self.publish("session.activity", data)

    def close(self) -> None:
        """End every stream with a last `adapter.stopping` event (what it had not taken yet is
        not sent), and any stream opened from now on at once (the adapter is stopping).
        Closing twice changes nothing."""
        if self._closed:
            return
        self._closed = True
        self._sequence += 1
        final = AdapterEvent.framed(self._sequence, "adapter.stopping", {})
        for subscription in list(self._subscribers):
            self.unsubscribe(subscription)
            subscription._final = final
        if self._wake is not None:
            self._wake.cancel()
        self._deliver()

    def _drop(self, subscription: Subscription) -> None:
        self.unsubscribe(subscription)
        subscription._ended = True


def token_summary(claims: TokenClaims) -> dict[str, Any]:
    """A token as events name it: its id and claims, never the token itself."""
    return {
        "tokenId": claims.token_id_hex,
        "userId": claims.user_id,
        "brokerNames": list(claims.broker_names),
        "ctidTraderAccountIds": None if claims.account_ids is None else list(claims.account_ids),
        "isVerified": claims.is_verified,
        "issuedAt": claims.issued_at,
        "expiresAt": claims.expires_at,
    }
