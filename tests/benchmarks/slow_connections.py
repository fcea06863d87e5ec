"""Normal requests while SLOW_CONNECTIONS slow connections are held open on the server.

Half the slow connections send a request head a byte a second, half send nothing. The
adapter closes a connection that has not finished its head within HEAD_TIMEOUT seconds (408),
so each reconnects at once: the server holds them all the time, as an attacker keeping
connections open would. They are opened evenly over HEAD_TIMEOUT seconds so their closes
spread out too. A separate process holds them (on the load generator's core), so the work of
8,000 connections does not delay this process's event loop and show up as the server's
latency. Meanwhile, and before with none held (the baseline), normal requests arrive open
loop at NORMAL_RATE a second, each on a new connection (connect, GET, read the answer,
close), the case that fails first when descriptors or the accept queue run out; latency is
counted from each request's scheduled time.

The process's descriptor limit is raised to its hard limit here and in the server; when the
hard limit leaves no room for SLOW_CONNECTIONS, as many as fit are held, and the figure says
how many were held (its extra fields), never more than were.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from adapter_core.http_protocol import HEAD_TIMEOUT
from tests.benchmarks.bench_server import BARE_PATH, raise_descriptor_limit
from tests.benchmarks.endpoints import loop_factory, run_as_generator, start_server
from tests.benchmarks.load import CpuSample
from tests.benchmarks.results import Figure

SLOW_CONNECTIONS = 8_000
NORMAL_RATE = 200.0
WINDOW = 6.0
SETTLE = 1.0
"""Seconds after the last slow connection opened before the window starts."""
TRICKLE_INTERVAL = 1.0
ANSWER_TIMEOUT = 5.0
DESCRIPTOR_SPARE = 200
"""Descriptors this process keeps for everything but the slow connections."""
P99_LIMIT_MS = 100.0


@dataclass
class _Pool:
    """The slow connections: how many are open now, and how the server treated them."""

    host: str
    port: int
    open: int = 0
    reconnects: int = 0
    refused: int = 0
    """Connection attempts that failed (the server did not accept)."""
    stopping: bool = False
    transports: set[asyncio.Transport] = field(default_factory=set)
    connecting: set[asyncio.Task[None]] = field(default_factory=set)

    def open_one(self, trickle: bool) -> None:
        task = asyncio.get_running_loop().create_task(self._connect(trickle))
        self.connecting.add(task)
        task.add_done_callback(self.connecting.discard)

    async def _connect(self, trickle: bool) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(lambda: _Slow(self, trickle), self.host, self.port)
        except OSError:
            self.refused += 1
            if not self.stopping:
                await asyncio.sleep(0.1)
                self.open_one(trickle)

    async def close_all(self) -> None:
        self.stopping = True
        for task in list(self.connecting):
            task.cancel()
        await asyncio.gather(*self.connecting, return_exceptions=True)
        for transport in list(self.transports):
            transport.abort()


class _Slow(asyncio.Protocol):
    def __init__(self, pool: _Pool, trickle: bool) -> None:
        self._pool = pool
        self._trickle = trickle
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)
        self._transport = transport
        if self._pool.stopping:
            transport.abort()
            return
        self._pool.open += 1
        self._pool.transports.add(transport)
        if self._trickle:
            head = f"GET {BARE_PATH} HTTP/1.1\r\nHost: {self._pool.host}\r\nX-Slow: "
            transport.write(head.encode())
            self._schedule()

    def _schedule(self) -> None:
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(TRICKLE_INTERVAL, self._send_byte)

    def _send_byte(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(b"a")
            self._schedule()

    def data_received(self, data: bytes) -> None:
        """The 408 before the server closes: nothing to do but wait for the close."""

    def connection_lost(self, exc: Exception | None) -> None:
        pool = self._pool
        if self._timer is not None:
            self._timer.cancel()
        if self._transport not in pool.transports:
            return  # aborted at once: the pool was stopping
        pool.open -= 1
        pool.transports.discard(self._transport)
        if not pool.stopping:
            pool.reconnects += 1
            pool.open_one(self._trickle)


@dataclass
class _Normal:
    latencies: list[float] = field(default_factory=list)
    wake_lags: list[float] = field(default_factory=list)
    """How late this process woke to send each request: a generator falling behind shows
    here, not as the server's latency."""
    errors: int = 0
    generator_cpu: float = math.nan
    server_cpu: float = math.nan

    def p99_ms(self) -> float:
        return _p99_ms(self.latencies)


def _p99_ms(values: list[float]) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(math.ceil(0.99 * len(ordered)) - 1, 0)] * 1000


async def _one_request(host: str, port: int, request: bytes) -> bool:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        answer = await reader.read()  # "Connection: close": the answer ends with the stream
    finally:
        writer.close()
    return answer.startswith(b"HTTP/1.1 200") and b'{"s":"ok"' in answer


async def _normal_requests(url: str, server_pid: int) -> _Normal:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"GET {BARE_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
    ).encode()
    result = _Normal()
    start = time.perf_counter() + 0.05
    count = int(WINDOW * NORMAL_RATE)

    async def one(due: float) -> None:
        await asyncio.sleep(due - time.perf_counter())
        result.wake_lags.append(time.perf_counter() - due)
        try:
            ok = await asyncio.wait_for(_one_request(host, port, request), ANSWER_TIMEOUT)
        except (OSError, TimeoutError):
            ok = False
        if ok:
            result.latencies.append(time.perf_counter() - due)
        else:
            result.errors += 1

    async def sample() -> None:
        own, server, at = CpuSample.of(os.getpid()), CpuSample.of(server_pid), time.perf_counter()
        await asyncio.sleep(start + WINDOW - at)
        elapsed = time.perf_counter() - at
        result.generator_cpu = CpuSample.of(os.getpid()).shares_since(own, elapsed)[0]
        result.server_cpu = CpuSample.of(server_pid).shares_since(server, elapsed)[0]

    await asyncio.gather(sample(), *(one(start + index / NORMAL_RATE) for index in range(count)))
    return result


def _describe(label: str, normal: _Normal, held_counts: list[int]) -> str:
    held = f"{min(held_counts)}-{max(held_counts)}" if held_counts else "0"
    return (
        f"{label}: {len(normal.latencies)} answered, {normal.errors} errors, "
        f"p99 {normal.p99_ms():.2f} ms; slow connections held {held}; "
        f"server CPU {normal.server_cpu:.0%}, this process's CPU {normal.generator_cpu:.0%} "
        f"(wake-up lag p99 {_p99_ms(normal.wake_lags):.1f} ms)"
    )


async def _hold(url: str, count: int, seconds: float) -> None:
    """Open `count` slow connections over HEAD_TIMEOUT seconds, say "ready", keep them open
    for `seconds` more, then print what was held (monotonic time, open) as JSON."""
    parts = urlsplit(url)
    pool = _Pool(parts.hostname or "127.0.0.1", parts.port or 80)
    opened = time.monotonic()
    for index in range(count):
        await asyncio.sleep(opened + index * HEAD_TIMEOUT / count - time.monotonic())
        pool.open_one(trickle=bool(index % 2))
    print(READY, flush=True)
    samples = []
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        samples.append((time.monotonic(), pool.open, pool.reconnects))
        await asyncio.sleep(0.1)
    await pool.close_all()
    print(json.dumps({"samples": samples, "refused": pool.refused}), flush=True)


READY = "slow connections opened"


async def _phases(url: str, server_pid: int, slow: int) -> Figure:
    quiet = await _normal_requests(url, server_pid)
    print(_describe("no slow connection held", quiet, []))
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.benchmarks.slow_connections", url, str(slow),
        str(SETTLE + WINDOW + 1.0),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert holder.stdout is not None
    if (await holder.stdout.readline()).decode().strip() != READY:
        raise RuntimeError("the slow connections could not be opened")
    await asyncio.sleep(SETTLE)
    started = time.monotonic()
    held = await _normal_requests(url, server_pid)
    ended = time.monotonic()
    report = json.loads(await holder.stdout.readline())
    await holder.wait()
    window = [(at, count, reconnects) for at, count, reconnects in report["samples"]
              if started <= at <= ended]  # fmt: skip
    counts = [count for _, count, _ in window]
    churn = (window[-1][2] - window[0][2]) / (window[-1][0] - window[0][0]) if window else 0.0
    print(_describe(f"{slow} slow connections", held, counts))
    print(
        f"  the server closed and the holder reopened {churn:.0f} slow connections a second; "
        f"{report['refused']} connection attempts failed"
    )
    return Figure(
        "p99_under_slow_connections_ms",
        held.p99_ms(),
        "ms",
        quiet.p99_ms(),
        f"value < {P99_LIMIT_MS:g} ms and no errors (baseline: none held)",
        f"{NORMAL_RATE:g} GET/s on new connections for {WINDOW:g}s, each way",
        extra={
            "slow_connections_held_min": min(counts, default=0),
            "slow_connections_held_mean": sum(counts) / len(counts) if counts else 0,
            "errors": held.errors,
            "errors_baseline": quiet.errors,
        },
    )


def measure() -> list[Figure]:
    limit = raise_descriptor_limit()
    slow = min(SLOW_CONNECTIONS, limit - DESCRIPTOR_SPARE)
    if slow < SLOW_CONNECTIONS:
        print(f"the descriptor limit ({limit}) leaves room for {slow} slow connections")
    secret = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory(prefix="tv-adapter-bench-slow-") as directory:
        server, url = start_server(Path(directory), secret)
        try:
            return [run_as_generator(_phases(url, server.pid, slow), "slow connection phases")]
        finally:
            server.terminate()
            server.wait(10)


def main() -> None:
    """The holder process: URL, how many connections, and how long to hold them after the
    ramp."""
    url, count, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    raise_descriptor_limit()
    runner_options: dict[str, Any] = {"loop_factory": loop_factory()}
    with asyncio.Runner(**runner_options) as runner:
        runner.run(_hold(url, count, seconds))


if __name__ == "__main__":
    main()
