"""Several adapter instances on one Redis behave as one adapter.

Each instance keeps answering from memory; Redis carries what the others must learn:
revocations (Pub/Sub, so every instance refuses a logged-out token at once), the events of
the admin stream, and a summary of each instance's trader sessions (a key that expires when
the instance stops refreshing it). One background task per instance watches Redis: it pings
it, holds the subscription, and publishes the session summary. While Redis cannot be
reached, or the subscription was lost and the revocations are not re-read yet, the instance
is not `trusted`: it refuses tokens rather than accept one unchecked (fail closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from adapter_core.store.base import StoreUnavailable
from adapter_core.store.redis_store import PREFIX, REVOCATION_CHANNEL, RedisTokenStore

log = logging.getLogger(__name__)

EVENT_CHANNEL = PREFIX + "events"
SESSIONS_KEY = PREFIX + "sessions:"
HEALTH_INTERVAL = 0.25
"""Seconds between pings: an unreachable Redis is noticed well within a second."""
SESSIONS_INTERVAL = 1.0
SESSIONS_TTL_MS = 5000
"""An instance that stops publishing its sessions drops out of the others' lists."""
MESSAGE_WAIT = 0.1
STARTUP_WAIT = 3.0
"""Seconds a starting instance waits for its link before serving (failing closed if none)."""
MAX_OUTBOX = 10_000
"""Events waiting to be published to the other instances; past it, the newest are dropped
(the health task reports a Redis that does not take them)."""


def _closer(pubsub: PubSub) -> Callable[[], Awaitable[None]]:
    """`PubSub.aclose`, typed: redis-py annotates it from 8.2 on and not before, so a call
    marked `type: ignore` fails type checking on one of the two."""
    close: Callable[[], Awaitable[None]] = pubsub.aclose
    return close


def _detail(exc: Exception) -> str:
    cause = exc.__cause__ or exc
    return str(cause).rstrip(".") or type(cause).__name__


def new_instance_id() -> str:
    """Host name and a random suffix: readable in the Sessions page, unique per process."""
    return f"{socket.gethostname()}-{secrets.token_hex(3)}"


@dataclass
class ClusterHealth:
    """What /healthz and /admin/info say about the shared store."""

    redis: bool = False
    subscription: bool = False
    revocations_loaded: bool = False
    detail: str = "not connected yet"
    """What the last failure said."""
    changed_at: float = field(default_factory=time.time)

    @property
    def trusted(self) -> bool:
        return self.redis and self.subscription and self.revocations_loaded

    @property
    def problem(self) -> str:
        """The unhealthy part, in a sentence fragment; empty when healthy."""
        if not self.redis:
            return f"Redis is unreachable ({self.detail})"
        if not self.subscription:
            return (
                "the Redis subscription that brings other instances' logouts is lost "
                f"({self.detail})"
            )
        if not self.revocations_loaded:
            return "the revocations are being re-read"
        return ""


RevokedHandler = Callable[[bytes, int], None]
ReloadHandler = Callable[[], Awaitable[None]]
EventHandler = Callable[[str, str, dict[str, Any]], None]
SessionsSource = Callable[[], list[dict[str, Any]]]


class Cluster:
    """This instance's link to the others through Redis."""

    def __init__(self, store: RedisTokenStore, instance_id: str | None = None) -> None:
        self.store = store
        self.instance_id = instance_id or new_instance_id()
        self.health = ClusterHealth()
        self.on_revoked: RevokedHandler | None = None
        """Another instance revoked a token (or this one: handlers must be idempotent)."""
        self.on_reload: ReloadHandler | None = None
        """The subscription is (re)established: re-read every revocation before trusting."""
        self.on_event: EventHandler | None = None
        """Another instance published an admin event: (instance, kind, data)."""
        self.sessions_source: SessionsSource | None = None
        self._trusted = asyncio.Event()
        self._outbox: list[bytes] = []
        self._outbox_filled: asyncio.Event | None = None

    def relay(self, kind: str, data: dict[str, Any]) -> None:
        """Hand an event published here to the other instances (sent by `run`, batched)."""
        if len(self._outbox) < MAX_OUTBOX:
            self._outbox.append(
                orjson.dumps({"instance": self.instance_id, "kind": kind, "data": data})
            )
        if self._outbox_filled is not None:
            self._outbox_filled.set()

    async def _send_events(self) -> None:
        self._outbox_filled = filled = asyncio.Event()
        while True:
            await filled.wait()
            filled.clear()
            batch, self._outbox = self._outbox, []
            if not batch:
                continue
            async with self.store.client.pipeline(transaction=False) as pipe:
                for message in batch:
                    pipe.publish(EVENT_CHANNEL, message)
                with contextlib.suppress(StoreUnavailable):  # the health task reports it
                    await self.store.call(pipe.execute())

    async def _published_keys(self) -> list[bytes]:
        """The session summary keys of the live instances (expired ones are gone)."""
        try:
            return [
                key
                async for key in self.store.client.scan_iter(match=SESSIONS_KEY + "*", count=100)
            ]
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(f"Redis did not answer: {exc}") from exc

    async def live_instances(self) -> list[str]:
        """The ids of the instances that published their sessions lately, this one included."""
        keys = await self._published_keys()
        found = {key.decode().removeprefix(SESSIONS_KEY) for key in keys}
        return sorted(found | {self.instance_id})

    async def other_sessions(self) -> dict[str, list[dict[str, Any]]]:
        """Every other live instance's session summaries, by instance."""
        own = (SESSIONS_KEY + self.instance_id).encode()
        keys = [key for key in await self._published_keys() if key != own]
        if not keys:
            return {}
        values = await self.store.call(self.store.client.mget(keys))
        return {
            key.decode().removeprefix(SESSIONS_KEY): orjson.loads(value)
            for key, value in zip(keys, values, strict=True)
            if value is not None
        }

    async def wait_trusted(self) -> bool:
        """Wait up to STARTUP_WAIT until the link is trusted, so a new instance does not begin
        by refusing every token; False if it is not by then (it then fails closed)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STARTUP_WAIT):
                await self._trusted.wait()
        return self.health.trusted

    async def run(self) -> None:
        """Watch Redis for as long as the adapter runs; never raises."""
        tasks = [
            asyncio.create_task(self._watch_health()),
            asyncio.create_task(self._follow()),
            asyncio.create_task(self._publish_sessions()),
            asyncio.create_task(self._send_events()),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _set(self, **changes: Any) -> None:
        before = self.health.trusted
        for name, value in changes.items():
            setattr(self.health, name, value)
        if self.health.trusted != before:
            self.health.changed_at = time.time()
            if self.health.trusted:
                self._trusted.set()
                log.info("the shared store is healthy again; tokens are accepted")
            else:
                self._trusted.clear()
                log.warning(
                    "the shared store is unhealthy (%s): tokens are refused until it is back",
                    self.health.problem,
                )

    async def _watch_health(self) -> None:
        while True:
            try:
                await self.store.ping()
            except StoreUnavailable as exc:
                self._set(redis=False, detail=_detail(exc))
            else:
                self._set(redis=True)
            await asyncio.sleep(HEALTH_INTERVAL)

    async def _follow(self) -> None:
        """Hold the subscription; after any loss, re-read the revocations before trusting."""
        while True:
            pubsub = self.store.listener.pubsub()
            try:
                await pubsub.subscribe(REVOCATION_CHANNEL, EVENT_CHANNEL)
                self._set(subscription=True)
                if self.on_reload is not None:
                    await self.on_reload()
                self._set(revocations_loaded=True)
                await self._deliver(pubsub)
            except (RedisError, OSError, StoreUnavailable) as exc:
                self._set(subscription=False, revocations_loaded=False, detail=_detail(exc))
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await _closer(pubsub)()
            await asyncio.sleep(HEALTH_INTERVAL)

    async def _deliver(self, pubsub: PubSub) -> None:
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=MESSAGE_WAIT)
            if message is None:
                if not self.health.redis:
                    raise StoreUnavailable("Redis stopped answering pings")
                continue
            channel = message["channel"].decode()
            payload: bytes = message["data"]
            if channel == REVOCATION_CHANNEL and self.on_revoked is not None:
                token_hex, expires_at = payload.decode().split(" ")
                self.on_revoked(bytes.fromhex(token_hex), int(expires_at))
            elif channel == EVENT_CHANNEL and self.on_event is not None:
                event = orjson.loads(payload)
                if event["instance"] != self.instance_id:
                    self.on_event(event["instance"], event["kind"], event["data"])

    async def _publish_sessions(self) -> None:
        key = SESSIONS_KEY + self.instance_id
        while True:
            if self.sessions_source is not None and self.health.redis:
                summary = orjson.dumps(self.sessions_source())
                with contextlib.suppress(StoreUnavailable):
                    await self.store.call(
                        self.store.client.set(key, summary, px=SESSIONS_TTL_MS), writes=True
                    )
            await asyncio.sleep(SESSIONS_INTERVAL)
