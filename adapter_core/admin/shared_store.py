"""What the admin API reads of the other instances through a shared store, and says about it.

The other instances' sessions (their published summaries, read once per request) and which
instances are alive (those whose summary has not expired) come from Redis; a Redis that does
not answer is StoreUnavailable here, which the admin API answers with 503. `/admin/info`'s
`store` object says which store this instance uses, where (never with its password) and
whether it is healthy, so an operator sees it without reading the logs.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio.connection import SSLConnection

from adapter_core.admin.session_directory import SessionDirectory, remote_sessions
from adapter_core.cluster import Cluster
from adapter_core.sessions import SessionRegistry
from adapter_core.store.base import StoreUnavailable

INSTANCES_TIMEOUT = 1.0
"""Seconds /admin/info waits for the list of live instances before answering without it."""
DEFAULT_PORT = 6379


async def cluster_directory(registry: SessionRegistry, cluster: Cluster) -> SessionDirectory:
    """This instance's sessions and the other live instances' (as they last published them)."""
    others = await cluster.other_sessions()
    return SessionDirectory(registry, cluster.instance_id, remote_sessions(others))


def store_address(cluster: Cluster) -> str:
    """`redis://host:port/db` (`rediss://` with TLS), never the user name or password."""
    pool = cluster.store.client.connection_pool
    settings = pool.connection_kwargs
    scheme = "rediss" if issubclass(pool.connection_class, SSLConnection) else "redis"
    host = settings.get("host", "")
    port = settings.get("port") or DEFAULT_PORT
    return f"{scheme}://{host}:{port}/{settings.get('db') or 0}"


async def live_instances(cluster: Cluster) -> list[str]:
    """The ids of the instances that published their sessions lately, this one included;
    just this one if Redis cannot say."""
    try:
        async with asyncio.timeout(INSTANCES_TIMEOUT):
            return await cluster.live_instances()
    except (StoreUnavailable, TimeoutError):
        return [cluster.instance_id]


async def store_info(cluster: Cluster | None) -> dict[str, Any]:
    """/admin/info's `store`: kind, address, this instance, health and the live instances."""
    if cluster is None:
        return {
            "kind": "sqlite",
            "address": None,
            "instance": None,
            "healthy": True,
            "problem": None,
            "instances": [],
        }
    health = cluster.health
    healthy = health.trusted
    problem = (health.problem or "unknown") if not healthy else cluster.store.full_problem
    return {
        "kind": "redis",
        "address": store_address(cluster),
        "instance": cluster.instance_id,
        "healthy": healthy,
        "problem": problem,
        "instances": await live_instances(cluster),
    }
