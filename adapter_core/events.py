"""The adapter's event stream: tokens issued, trader sessions opened, activity, logouts, expiry.

Subscribers (the admin API's Server-Sent Events clients) each get a bounded queue. A subscriber
that falls too far behind is dropped rather than slowing the adapter down; it reconnects and
reloads, which the console does on its own.

A subscriber that reconnects with the last sequence it saw (`Last-Event-ID`) is sent what it
missed instead, when the hub still holds all of it: the last `REPLAY_EVENTS` events, kept for
`RESUME_WINDOW` seconds after the last subscriber left. Past that window nobody wants events,
so the adapter stops building them and a reconnecting subscriber must reload.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from adapter_core.tokens.claims import TokenClaims

SUBSCRIBER_BACKLOG = 1000
REPLAY_EVENTS = SUBSCRIBER_BACKLOG
"""Events kept for subscribers that resume; all of them fit in a new subscriber's queue."""
RESUME_WINDOW = 60.0
"""Seconds after the last subscriber left during which events are still kept for its return."""
ACTIVITY_INTERVAL = 2.0
"""At most one activity event per token in this many seconds (the last one is never lost)."""


MAX_SUBSCRIBERS = 64
"""Open event streams at most: each costs a queue and a connection; more is refused (503)."""


class TooManySubscribers(Exception):
    """Every event stream slot is taken."""


@dataclass(frozen=True)
class AdapterEvent:
    sequence: int
    kind: str
    data: dict[str, Any]

    @functools.cached_property
    def frame(self) -> bytes:
        """The event as Server-Sent Events bytes, built once however many streams send it."""
        return sse_frame(self.kind, self.data, self.sequence)


def sse_frame(kind: str, data: Any, sequence: int | None = None) -> bytes:
    head = f"id: {sequence}\n" if sequence is not None else ""
    return f"{head}event: {kind}\ndata: ".encode() + orjson.dumps(data) + b"\n\n"


class Subscription:
    def __init__(self, hub: EventHub) -> None:
        self._hub = hub
        self.queue: asyncio.Queue[AdapterEvent | None] = asyncio.Queue(SUBSCRIBER_BACKLOG)

    async def next(self) -> AdapterEvent | None:
        """The next event, or None once the hub closed or dropped this subscriber."""
        return await self.queue.get()

    def close(self) -> None:
        self._hub.unsubscribe(self)


class EventHub:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._subscribers: set[Subscription] = set()
        self._sequence = itertools.count(1)
        self._history: deque[AdapterEvent] = deque(maxlen=REPLAY_EVENTS)
        self._kept_until = -math.inf
        """While no one subscribes, events are still kept (for a resume) until this time."""
        self._closed = False
        self._last_activity: dict[str, float] = {}
        self._pending_activity: dict[str, dict[str, Any]] = {}

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    @property
    def wanted(self) -> bool:
        """Whether events are wanted: a subscriber listens, or one may come back to resume."""
        return bool(self._subscribers) or self._clock() < self._kept_until

    def subscribe(self, after: int | None = None) -> tuple[Subscription, bool]:
        """A new subscription, and whether it resumes after event `after` (the events since
        are already in its queue). A hub that closed gives one that ends at once."""
        subscription = Subscription(self)
        if self._closed:
            subscription.queue.put_nowait(None)
            return subscription, False
        if len(self._subscribers) >= MAX_SUBSCRIBERS:
            raise TooManySubscribers(f"{MAX_SUBSCRIBERS} event streams are already open")
        if not self.wanted:
            self._history.clear()  # events went unbuilt meanwhile: what is kept has gaps
        resumed = after is not None and self._can_resume(after)
        if resumed:
            for event in self._history:
                if event.sequence > (after or 0):
                    subscription.queue.put_nowait(event)
        self._subscribers.add(subscription)
        return subscription, resumed

    def _can_resume(self, after: int) -> bool:
        if not self._history:
            return False
        first, last = self._history[0].sequence, self._history[-1].sequence
        return first - 1 <= after <= last

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
        if not self._subscribers:
            self._kept_until = self._clock() + RESUME_WINDOW

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        if not self.wanted:
            return
        event = AdapterEvent(next(self._sequence), kind, data)
        self._history.append(event)
        for subscription in list(self._subscribers):
            try:
                subscription.queue.put_nowait(event)
            except asyncio.QueueFull:
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
        """End every stream with a last `adapter.stopping` event, and any stream opened from
        now on at once (the adapter is stopping). Closing twice changes nothing."""
        if self._closed:
            return
        self._closed = True
        final = AdapterEvent(next(self._sequence), "adapter.stopping", {})
        for subscription in list(self._subscribers):
            self.unsubscribe(subscription)
            while not subscription.queue.empty():
                subscription.queue.get_nowait()
            subscription.queue.put_nowait(final)
            subscription.queue.put_nowait(None)

    def _drop(self, subscription: Subscription) -> None:
        self.unsubscribe(subscription)
        while not subscription.queue.empty():
            subscription.queue.get_nowait()
        subscription.queue.put_nowait(None)


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
