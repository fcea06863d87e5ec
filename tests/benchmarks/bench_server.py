"""The headless adapter plus bare JSON endpoints, as one server: the HTTP benchmarks' subject.

The adapter is wired as `headless_app` wires it (simulated backend, TradingView and admin
APIs, trader sessions, OpenAPI document), without the demo CRM. The bare endpoint (GET and
POST on one path) shares the whole stack (uvicorn, Starlette, middleware, event loop) with the
adapter's endpoints, so a ratio between them measures only the adapter's own work.
Run: python -m tests.benchmarks.bench_server --data-dir DIR (secret from the environment).
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapter_core.api.app import create_app
from adapter_core.api.envelope import ok
from adapter_core.api.openapi import openapi_route
from adapter_core.backend.simulated.backend import SimulatedBackend
from adapter_core.headless import HeadlessOptions, open_headless
from adapter_core.server import bind_socket, run
from adapter_core.tradingview.stack import TradingStack

BARE_PATH = "/bench/bare"
READY_MARK = "bench server listening on "


async def bare(request: Request) -> Response:
    await request.body()
    return ok()


def bare_routes() -> list[Route]:
    """Listed before the TradingView routes, so routing costs the bare path what it did alone."""
    return [Route(BARE_PATH, bare, methods=["GET", "POST"])]


def raise_descriptor_limit() -> int:
    """Lift the soft RLIMIT_NOFILE to the hard limit, as a deployment's LimitNOFILE does;
    returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard if hard != resource.RLIM_INFINITY else 1 << 20


def main() -> None:
    raise_descriptor_limit()
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    adapter = open_headless(HeadlessOptions(data_dir=args.data_dir, token_ttl_seconds=86_400))
    trading = TradingStack(SimulatedBackend(), adapter.services)
    app = create_app(
        adapter.services,
        extra_routes=[*bare_routes(), *trading.routes(), openapi_route(False)],
        background=adapter.background,
        hooks=[trading.running],
    )
    sock = bind_socket("127.0.0.1", 0)

    def announce(url: str) -> None:
        print(READY_MARK + url, flush=True)

    run(app, sock, announce, "warning")
    sys.exit(0)


if __name__ == "__main__":
    main()
