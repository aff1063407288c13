"""``GET /metrics``: the Prometheus text exposition (see ``aerodrome.observability``)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from aerodrome.observability.sampler import Sampler

METRICS_PATH = "/metrics"


def metrics_routes(sampler: Sampler) -> list[BaseRoute]:
    async def metrics(request: Request) -> Response:
        return Response(await sampler.render(), media_type=CONTENT_TYPE_LATEST)

    return [Route(METRICS_PATH, metrics, methods=["GET"])]
