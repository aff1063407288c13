"""Per-request observation on the HTTP side: a request id for the logs, latency and error counts for /metrics.

Pure ASGI (no body buffering: signed uploads keep streaming). The method label is the RPC name for
gateway routes (their route names are ``Method:template``) and the route template for the others, so
the series stay few whatever paths clients ask for.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aerodrome.observability.logs import request_id
from aerodrome.observability.metrics import Metrics


def _label(scope: Scope) -> str:
    route: Any = scope.get("route")
    if route is None:
        return "unmatched"
    name = getattr(route, "name", "") or ""
    if ":" in name and not name.startswith("/"):
        return name.split(":", 1)[0]
    return str(getattr(route, "path", "") or "unmatched")


class ObserveMiddleware:
    """Outermost middleware: sees every answer, including the auth middleware's 401 and 403."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        request_id.set(headers.get(b"x-request-id", b"").decode("latin-1") or uuid.uuid4().hex[:16])
        status = 500
        started = time.perf_counter()

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            error = str(status) if status >= 400 else None
            self.metrics.observe_call("http", _label(scope), time.perf_counter() - started, error)
