"""Several instances on one Redis: how fast a logout reaches the others, and what the shared
store costs against SQLite on one instance, measured in the same run.

- `revocation_propagation_p50_ms` / `_p99_ms`: a token minted on one of three instances and
  used on all three is logged out on another; the two others are polled on open connections
  until they refuse it. The time from the logout's answer to each refusal, in ms (goal:
  under 100). Baseline: the median time of one polling request, so the ratio says how many
  requests' time the news takes.
- `state_rps_redis_vs_sqlite`: authorised `/state` answers per second on an instance with the
  Redis store, against one with SQLite (goal: ratio >= 0.8).
- `generate_token_rps_redis_vs_sqlite`: `/generate/token` answers per second, likewise.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.benchmarks.load import LoadResult, post, run_load
from tests.benchmarks.results import Figure
from tests.support.adapter_process import AdapterProcess
from tests.support.redis_server import RedisServer
from tests.support.tradingview_client import mint

ROUNDS = 150
SECONDS = 3.0
CONNECTIONS = 32
ACCOUNT = 137780091
POLL_LIMIT = 2.0
"""Seconds a polled instance may take to refuse before the round counts as a miss."""
QUIET = ["--demo", "--log-level", "warning"]


def _get(path: str, token: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: adapter\r\nAuthorization: Bearer {token}\r\n\r\n".encode()


async def _status(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ask: bytes) -> int:
    writer.write(ask)
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await reader.readexactly(length)
    return int(head.split(b" ", 2)[1])


async def _refused_after(url: str, token: str, logged_out: asyncio.Event) -> tuple[float, float]:
    """Poll until the token is refused; (seconds from the logout's answer, one poll's time)."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    ask = _get("/accounts", token)
    polls: list[float] = []
    try:
        await logged_out.wait()
        acknowledged = time.perf_counter()
        while time.perf_counter() - acknowledged < POLL_LIMIT:
            sent = time.perf_counter()
            status = await _status(reader, writer, ask)
            polls.append(time.perf_counter() - sent)
            if status == 401:
                return time.perf_counter() - acknowledged, statistics.median(polls)
        return float("inf"), statistics.median(polls)
    finally:
        writer.close()


async def _propagation(instances: list[AdapterProcess]) -> tuple[list[float], list[float]]:
    delays: list[float] = []
    polls: list[float] = []
    async with httpx.AsyncClient(timeout=10) as http:
        for round_number in range(ROUNDS):
            minting, logging_out, *_ = instances[round_number % 3 :] + instances
            others = [i for i in instances if i is not logging_out]
            answer = await http.post(
                f"{minting.url}/generate/token",
                headers={"Authorization": f"Bearer {minting.broker_secret}"},
                json={"userId": 14601, "brokerNames": ["BESTBROKER"], "isVerified": True},
            )
            token = answer.json()["d"]
            for instance in instances:  # every instance has seen it live: the worst case
                await http.get(
                    f"{instance.url}/accounts", headers={"Authorization": f"Bearer {token}"}
                )
            logged_out = asyncio.Event()
            pollers = [
                asyncio.create_task(_refused_after(other.url, token, logged_out))
                for other in others
            ]
            await asyncio.sleep(0.01)  # the pollers are connected
            logout = await http.post(
                f"{logging_out.url}/logout", headers={"Authorization": f"Bearer {token}"}
            )
            logged_out.set()
            assert logout.json() == {"s": "ok"}, logout.text
            for delay, poll in await asyncio.gather(*pollers):
                delays.append(delay)
                polls.append(poll)
    return delays, polls


def _percentile(values: list[float], quantile: float) -> float:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[round(quantile * 100) - 1]


async def _rate(url: str, request: bytes, pid: int | None) -> LoadResult:
    return await run_load(
        url,
        lambda: request,
        lambda status, _: status == 200,
        connections=CONNECTIONS,
        seconds=SECONDS,
        server_pid=pid,
    )


def _store_costs(redis: RedisServer, folder: Path) -> list[Figure]:
    with (
        AdapterProcess(folder / "sqlite", QUIET) as sqlite,
        AdapterProcess(folder / "redis", [*QUIET, "--store", redis.url]) as shared,
    ):
        rates: dict[str, dict[str, float]] = {}
        for name, instance in (("sqlite", sqlite), ("redis", shared)):
            token = mint(instance.url, instance.broker_secret, ctidTraderAccountIds=[ACCOUNT])
            state = _get(f"/accounts/{ACCOUNT}/state", token)
            body = json.dumps(
                {"userId": 14601, "brokerNames": ["BESTBROKER"], "isVerified": True}
            ).encode()
            minting = post(
                "adapter",
                "/generate/token",
                body,
                {
                    "Authorization": f"Bearer {instance.broker_secret}",
                    "Content-Type": "application/json",
                },
            )
            pid = instance.process.pid if instance.process else None
            rates[name] = {
                "state": asyncio.run(_rate(instance.url, state, pid)).per_second,
                "mint": asyncio.run(_rate(instance.url, minting, pid)).per_second,
            }
    return [
        Figure(
            "state_rps_redis_vs_sqlite",
            rates["redis"]["state"],
            "req/s",
            rates["sqlite"]["state"],
            "ratio >= 0.8",
            "authorised /state, one instance each",
        ),
        Figure(
            "generate_token_rps_redis_vs_sqlite",
            rates["redis"]["mint"],
            "req/s",
            rates["sqlite"]["mint"],
            "as measured",
            "/generate/token, one instance each (Redis: AOF appendfsync always)",
        ),
    ]


def measure() -> list[Figure]:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        with RedisServer(folder / "redis") as redis:
            instances = [
                AdapterProcess(folder / "shared", [*QUIET, "--store", redis.url]).start()
                for _ in range(3)
            ]
            try:
                delays, polls = asyncio.run(_propagation(instances))
            finally:
                for instance in instances:
                    instance.kill()
            figures = _store_costs(redis, folder)
    poll_ms = statistics.median(polls) * 1000
    missed = sum(1 for delay in delays if delay == float("inf"))
    found = [delay * 1000 for delay in delays if delay != float("inf")]
    extra = {"samples": float(len(delays)), "missed": float(missed)}
    return [
        Figure(
            "revocation_propagation_p50_ms",
            _percentile(found, 0.5),
            "ms",
            poll_ms,
            "< 100 ms",
            "logout on one of 3 instances to refusal on another",
            extra,
        ),
        Figure(
            "revocation_propagation_p99_ms",
            _percentile(found, 0.99),
            "ms",
            poll_ms,
            "< 100 ms",
            "logout on one of 3 instances to refusal on another",
            extra,
        ),
        *figures,
    ]


if __name__ == "__main__":
    from tests.benchmarks.results import print_table, write_results

    measured = measure()
    print_table(measured)
    write_results(measured)
