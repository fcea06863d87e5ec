"""The adapter's event stream: tokens issued, trader sessions opened, activity, logouts, expiry.

Subscribers (the admin API's Server-Sent Events clients) each get a bounded queue. A subscriber
that falls too far behind is dropped rather than slowing the adapter down; it reconnects and
reloads, which the console does on its own.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapter_core.tokens.claims import TokenClaims

SUBSCRIBER_BACKLOG = 1000
ACTIVITY_INTERVAL = 2.0
"""At most one activity event per token in this many seconds (the last one is never lost)."""


@dataclass(frozen=True, slots=True)
class AdapterEvent:
    sequence: int
    kind: str
    data: dict[str, Any]


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
        self._last_activity: dict[str, float] = {}
        self._pending_activity: dict[str, dict[str, Any]] = {}

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def subscribe(self) -> Subscription:
        subscription = Subscription(self)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        if not self._subscribers:
            return
        event = AdapterEvent(next(self._sequence), kind, data)
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
        if not self._subscribers:
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
        for subscription in list(self._subscribers):
            self._drop(subscription)

    def _drop(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
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
