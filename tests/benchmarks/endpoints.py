"""/generate/token and /logout answers per second against a bare endpoint on the same server,
and minting with `SUBSCRIBERS` event streams reading every event against minting without.

The server is pinned to CPU 0 and this process (the load generator) to CPU 1, so neither
steals the other's core. The phases run interleaved, in ROUNDS slices of SLICE_SECONDS each
(bare, mint, logout, bare, mint, logout...), so a neighbour using the machine for a while
slows every phase alike instead of one of them. The subscribers connect only after those
rounds: until a first subscriber comes, the adapter does not even build its events. Minting
with and without subscribers then takes turns too (the streams connect for each slice with
them); the slices without come after a subscriber left, when the adapter still builds each
event for a returning one (RESUME_WINDOW), about 2 µs of a mint's 250 or so.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from adapter_core.broker_auth import SECRET_ENV_VAR
from adapter_core.datadir import KEYS_FILE
from adapter_core.tokens.codec import TokenCodec
from adapter_core.tokens.keyfile import load_key_ring
from tests.benchmarks.bench_server import BARE_PATH, READY_MARK
from tests.benchmarks.event_subscribers import SUBSCRIBERS, subscribed
from tests.benchmarks.load import LoadResult, RequestFactory, post, run_load
from tests.benchmarks.results import Figure

ROUNDS = 4
SLICE_SECONDS = 1.0
WARM_UP_SECONDS = 0.5
CONNECTIONS = 64
"""Enough concurrent clients for group commit to work as it does under real load."""
LOGOUT_TOKENS = 60_000
SEED_BODY = (
    b'{"userId": 14601, "brokerNames": ["BESTBROKER"], '
    b'"ctidTraderAccountIds": [137780091, 137792301], "isVerified": true}'
)
SERVER_CPU, GENERATOR_CPU = 0, 1
T = TypeVar("T")
_CPUS_AT_START = frozenset(os.sched_getaffinity(0))
"""Taken before any benchmark pins this process, so a later server start can still pin."""


def _pinning_possible() -> bool:
    return {SERVER_CPU, GENERATOR_CPU} <= _CPUS_AT_START


def start_server(data_dir: Path, secret: str) -> tuple[subprocess.Popen[str], str]:
    pin = _pinning_possible()
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.benchmarks.bench_server", "--data-dir", str(data_dir)],
        env={**os.environ, SECRET_ENV_VAR: secret},
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=(lambda: os.sched_setaffinity(0, {SERVER_CPU})) if pin else None,
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    if READY_MARK not in line:
        server.kill()
        raise RuntimeError(f"the benchmark server did not start: {line!r}")
    return server, line.split(READY_MARK, 1)[1].strip()


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def is_ok(status: int, body: bytes) -> bool:
    return status == 200 and body.startswith(b'{"s":"ok"')


def _describe(result: LoadResult) -> str:
    return (
        f"{result.per_second:>6.0f}/s, p50 {result.latency_ms(0.5):5.2f} ms, "
        f"p99 {result.latency_ms(0.99):6.2f} ms, server CPU {result.server_cpu:.0%} "
        f"(waited {result.server_waited:.0%}), generator CPU {result.generator_cpu:.0%}, "
        f"unexpected answers {result.unexpected}"
    )


async def interleaved(
    url: str, server_pid: int, phases: dict[str, RequestFactory]
) -> dict[str, LoadResult]:
    """Each phase's load over ROUNDS slices, the phases taking turns slice by slice."""
    totals = {name: LoadResult() for name in phases}
    for _ in range(ROUNDS):
        for name, factory in phases.items():
            load = run_load(
                url, factory, is_ok, connections=CONNECTIONS, seconds=SLICE_SECONDS,
                server_pid=server_pid,
            )  # fmt: skip
            totals[name].add(await load)
    for name, result in totals.items():
        print(f"{name:<22} {_describe(result)}")
        if result.unexpected:
            raise RuntimeError(f"{result.unexpected} answers were not ok; the figures are void")
    return totals


async def _phases(
    url: str, server_pid: int, secret: str, logout_tokens: Iterator[str]
) -> list[Figure]:
    host = url.split("//", 1)[1]
    auth = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    bare_request = post(host, BARE_PATH, SEED_BODY, auth)
    mint_request = post(host, "/generate/token", SEED_BODY, auth)

    def logout_request() -> bytes | None:
        token = next(logout_tokens, None)
        return (
            None
            if token is None
            else post(host, "/logout", b"", {"Authorization": f"Bearer {token}"})
        )

    await run_load(
        url, lambda: bare_request, is_ok, connections=CONNECTIONS, seconds=WARM_UP_SECONDS
    )
    alone = await interleaved(
        url,
        server_pid,
        {"bare": lambda: bare_request, "/generate/token": lambda: mint_request,
         "/logout": logout_request},
    )  # fmt: skip
    watched, unwatched = await _with_and_without_subscribers(
        url, server_pid, secret, lambda: mint_request
    )
    bare_rate = alone["bare"].per_second
    goal = "ratio >= 0.5 (vs bare Starlette JSON endpoint, same server)"
    return [
        Figure("generate_token_rps", alone["/generate/token"].per_second, "req/s", bare_rate, goal),
        Figure(
            "logout_rps",
            alone["/logout"].per_second,
            "req/s",
            bare_rate,
            goal,
            "each logout is made durable (fsync, group commit) before it is answered",
        ),
        Figure(
            "generate_token_with_subscribers_rps",
            watched.load.per_second,
            "req/s",
            unwatched.per_second,
            "ratio >= 0.8 (vs minting with no subscriber, same server)",
            f"in {ROUNDS} slices each, taking turns; every subscriber must get every event",
            extra={
                "subscribers": SUBSCRIBERS - watched.dropped,
                "events_minted": watched.load.answers,
                "events_missed": watched.missed,
            },
        ),
    ]


@dataclass
class _Watched:
    load: LoadResult = field(default_factory=LoadResult)
    missed: int = 0
    """Events the subscriber that got the fewest in each slice did not get, summed."""
    dropped: int = 0
    """The most streams the server dropped in one slice."""


async def _with_and_without_subscribers(
    url: str, server_pid: int, secret: str, mint: RequestFactory
) -> tuple[_Watched, LoadResult]:
    """Minting with SUBSCRIBERS event streams reading, and with none, in turns: the streams
    connect for each slice with them and close after it."""
    watched, unwatched = _Watched(), LoadResult()
    for _ in range(ROUNDS):
        async with subscribed(url, secret) as subscribers:
            minting = await run_load(
                url, mint, is_ok, connections=CONNECTIONS, seconds=SLICE_SECONDS,
                server_pid=server_pid,
            )  # fmt: skip
            await asyncio.sleep(0.3)  # the last events on their way
            watched.missed += minting.answers - min(subscribers.received())
            watched.dropped = max(watched.dropped, subscribers.dropped)
        watched.load.add(minting)
        unwatched.add(
            await run_load(
                url, mint, is_ok, connections=CONNECTIONS, seconds=SLICE_SECONDS,
                server_pid=server_pid,
            )
        )  # fmt: skip
    print(f"/generate/token with {SUBSCRIBERS} subscribers: {_describe(watched.load)}")
    print(f"/generate/token without, in turns: {_describe(unwatched)}")
    print(
        f"  of {watched.load.answers} token.issued events the least served subscriber of each "
        f"slice missed {watched.missed} in all; the server dropped up to {watched.dropped} of "
        f"{SUBSCRIBERS} streams in a slice"
    )
    return watched, unwatched


def run_as_generator(phases: Coroutine[Any, Any, T], label: str) -> T:
    """Pin this process to the load generator's CPU and run `phases` on uvloop."""
    if _pinning_possible():
        os.sched_setaffinity(0, {GENERATOR_CPU})
    else:
        print("fewer than two CPUs: server and load generator share one")
    runner_options: dict[str, Any] = {"loop_factory": loop_factory()}
    started = time.perf_counter()
    with asyncio.Runner(**runner_options) as runner:
        result = runner.run(phases)
    print(f"{label} took {time.perf_counter() - started:.1f}s")
    return result


def measure() -> list[Figure]:
    secret = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory(prefix="tv-adapter-bench-") as directory:
        data_dir = Path(directory)
        server, url = start_server(data_dir, secret)
        try:
            codec = TokenCodec(load_key_ring(data_dir / KEYS_FILE))
            tokens = [
                codec.mint(14601, ["BESTBROKER"], None, True).token for _ in range(LOGOUT_TOKENS)
            ]
            return run_as_generator(_phases(url, server.pid, secret, iter(tokens)), "HTTP phases")
        finally:
            server.terminate()
            server.wait(10)
