"""The HTTP application: data-plane routes first, then the generated gateway, and ``/healthz``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from aerodrome.auth.resolver import Authenticator
from aerodrome.observability.metrics import Metrics
from aerodrome.transport.http.authz import AuthMiddleware, gateway_guard
from aerodrome.transport.http.gateway import gateway_routes
from aerodrome.transport.http.observe import ObserveMiddleware


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def build_http_app(
    servicers: Mapping[str, object],
    extra_routes: Sequence[BaseRoute] = (),
    lifespan: Any = None,
    authenticator: Authenticator | None = None,
    metrics: Metrics | None = None,
    open_paths: tuple[str, ...] = (),
    max_body_bytes: int = 32 * 1024 * 1024,
) -> Starlette:
    """No body-buffering middleware: signed uploads stream straight to the blob store (the observation and
    auth middlewares are pure ASGI). ``open_paths`` stay open when authentication is on."""
    enabled = authenticator is not None and authenticator.enabled
    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        *extra_routes,
        *gateway_routes(servicers, gateway_guard if enabled else None, max_body_bytes),
    ]
    middleware = [Middleware(ObserveMiddleware, metrics=metrics)] if metrics is not None else []
    if authenticator and enabled:
        middleware.append(Middleware(AuthMiddleware, authenticator=authenticator, open_paths=open_paths))
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
