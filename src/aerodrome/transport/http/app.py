"""The HTTP application: data-plane routes first, then the generated gateway, and ``/healthz``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from aerodrome.transport.http.gateway import gateway_routes


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def build_http_app(
    servicers: Mapping[str, object], extra_routes: Sequence[BaseRoute] = (), lifespan: Any = None
) -> Starlette:
    """No body-buffering middleware: signed uploads stream straight to the blob store."""
    routes: list[BaseRoute] = [Route("/healthz", healthz, methods=["GET"]), *extra_routes, *gateway_routes(servicers)]
    return Starlette(routes=routes, lifespan=lifespan)
