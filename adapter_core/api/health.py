"""GET /healthz: for load balancers and monitors, no credential needed.

200 while the instance can answer TradingView; 503 naming the unhealthy part otherwise (with
a shared store: Redis unreachable, or its subscription lost and the revocations not re-read).
A full Redis still answers reads, so the instance stays healthy, with a `problem` saying that
no token can be minted and no logout recorded.
It says nothing secret: the store's kind and, with a shared store, this instance's id.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapter_core.api.envelope import error, ok
from adapter_core.services import AdapterServices


def health_routes(services: AdapterServices) -> list[Route]:
    async def healthz(request: Request) -> Response:
        cluster = services.cluster
        if cluster is None:
            return ok({"store": "sqlite", "healthy": True})
        health = cluster.health
        if not health.trusted:
            return error(f"The shared store is unhealthy: {health.problem}.", status=503)
        answer = {"store": "redis", "healthy": True, "instance": cluster.instance_id}
        problem = cluster.store.full_problem
        if problem is not None:
            answer["problem"] = problem
        return ok(answer)

    return [Route("/healthz", healthz, methods=["GET"])]
