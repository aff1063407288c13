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
from aerodrome.transport.http.authz import AuthMiddleware, gateway_guard
from aerodrome.transport.http.gateway import gateway_routes


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def build_http_app(
    servicers: Mapping[str, object],
    extra_routes: Sequence[BaseRoute] = (),
    lifespan: Any = None,
    authenticator: Authenticator | None = None,
) -> Starlette:
    """No body-buffering middleware: signed uploads stream straight to the blob store (the auth middleware,
    installed only when authentication is on, is pure ASGI)."""
    enabled = authenticator is not None and authenticator.enabled
    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        *extra_routes,
        *gateway_routes(servicers, gateway_guard if enabled else None),
    ]
    middleware = [Middleware(AuthMiddleware, authenticator=authenticator)] if authenticator and enabled else []
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
