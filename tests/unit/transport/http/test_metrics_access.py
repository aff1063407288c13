"""/metrics with authentication on: open by default (like /healthz), or closed when required; calls counted."""

from __future__ import annotations

import asyncio

import httpx
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from aerodrome.auth.resolver import Authenticator
from aerodrome.observability.metrics import Metrics
from aerodrome.transport.http.app import build_http_app


async def fake_metrics(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def get(open_paths: tuple[str, ...], metrics: Metrics, path: str = "/metrics") -> int:
    app = build_http_app(
        {},
        extra_routes=[Route("/metrics", fake_metrics)],
        authenticator=Authenticator("self"),
        metrics=metrics,
        open_paths=open_paths,
    )

    async def go() -> int:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return (await client.get(path)).status_code

    return asyncio.run(go())


def test_open_unless_required_and_every_answer_is_counted() -> None:
    metrics = Metrics()
    assert get(("/metrics",), metrics) == 200
    assert get((), metrics) == 401
    assert get(("/metrics",), metrics, "/api/v1/processes") == 401  # other paths stay closed
    registry = metrics.registry
    assert registry.get_sample_value(
        "aerodrome_rpc_duration_seconds_count", {"transport": "http", "method": "/metrics"}
    )
    assert (
        registry.get_sample_value(
            "aerodrome_rpc_errors_total", {"transport": "http", "method": "unmatched", "code": "401"}
        )
        == 2
    )
