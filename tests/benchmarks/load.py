"""A small keep-alive HTTP/1.1 load generator on raw asyncio streams.

Each connection sends one request, reads the whole answer, and sends the next, for a fixed
time; a request factory per call lets every request carry its own token. It reports answers
per second, latency percentiles and how busy its own CPU was, so a reader can tell whether
the server or the generator set the pace.
"""

from __future__ import annotations

import asyncio
import math
import os
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds used and seconds spent waiting for a CPU while runnable."""

    used: float
    waited: float

    @staticmethod
    def of(pid: int | None) -> CpuSample:
        """All threads' CPU time; run-queue wait of the main thread (the event loop)."""
        nan = float("nan")
        if pid is None:
            return CpuSample(nan, nan)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            used = nan
        try:
            waited = int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            waited = nan
        return CpuSample(used, waited)

    def shares_since(self, earlier: CpuSample, elapsed: float) -> tuple[float, float]:
        return (self.used - earlier.used) / elapsed, (self.waited - earlier.waited) / elapsed


RequestFactory = Callable[[], bytes | None]
"""Returns the next full request, or None when it has nothing left to send."""


@dataclass
class LoadResult:
    answers: int = 0
    unexpected: int = 0
    elapsed: float = 0.0
    generator_cpu: float = 0.0
    server_cpu: float = math.nan
    """Share of a core the server used (all its threads), when its pid was given."""
    server_waited: float = math.nan
    """Share of the time the server's event loop was ready to run but another process had
    its core: a neighbour on the machine disturbed the measurement."""
    latencies: list[float] = field(default_factory=list)

    def add(self, other: LoadResult) -> None:
        """Fold in another slice of the same load (interleaved phases are run in slices)."""
        elapsed = self.elapsed + other.elapsed
        if elapsed:
            for name in ("generator_cpu", "server_cpu", "server_waited"):
                mine, theirs = getattr(self, name), getattr(other, name)
                if not self.elapsed:
                    mine = theirs
                setattr(self, name, (mine * self.elapsed + theirs * other.elapsed) / elapsed)
        self.elapsed = elapsed
        self.answers += other.answers
        self.unexpected += other.unexpected
        self.latencies += other.latencies

    @property
    def per_second(self) -> float:
        return self.answers / self.elapsed if self.elapsed else 0.0

    def latency_ms(self, quantile: float) -> float:
        if len(self.latencies) < 2:
            return float("nan")
        cuts = statistics.quantiles(self.latencies, n=1000, method="inclusive")
        return cuts[min(int(quantile * 1000) - 1, len(cuts) - 1)] * 1000


def post(host: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def run_load(
    url: str,
    next_request: RequestFactory,
    is_expected: Callable[[int, bytes], bool],
    *,
    connections: int,
    seconds: float,
    server_pid: int | None = None,
) -> LoadResult:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    result = LoadResult()
    deadline = time.perf_counter() + seconds

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                request = next_request()
                if request is None:
                    return
                sent = time.perf_counter()
                writer.write(request)
                status, body = await _read_answer(reader)
                result.latencies.append(time.perf_counter() - sent)
                result.answers += 1
                if not is_expected(status, body):
                    result.unexpected += 1
        finally:
            writer.close()

    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    server_before = CpuSample.of(server_pid)
    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    result.elapsed = time.perf_counter() - started
    result.server_cpu, result.server_waited = CpuSample.of(server_pid).shares_since(
        server_before, result.elapsed
    )
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    result.generator_cpu = cpu / result.elapsed
    return result
