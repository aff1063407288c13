"""``/healthz/outbox`` (JSON) and ``/metrics/outbox`` (Prometheus text): how far delivery lags behind."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from aerodrome.notifications.service import OutboxMonitor


def outbox_routes(monitor: OutboxMonitor) -> list[Route]:
    async def health(request: Request) -> JSONResponse:
        return JSONResponse(await monitor.status())

    async def metrics(request: Request) -> PlainTextResponse:
        status = await monitor.status()
        lines = [
            "# HELP aerodrome_outbox_pending Outbox rows not yet delivered.",
            "# TYPE aerodrome_outbox_pending gauge",
            f"aerodrome_outbox_pending {status['pending']}",
            "# HELP aerodrome_outbox_oldest_pending_age_seconds Age of the oldest undelivered outbox row.",
            "# TYPE aerodrome_outbox_oldest_pending_age_seconds gauge",
            f"aerodrome_outbox_oldest_pending_age_seconds {status['oldest_pending_age_seconds']}",
            "# HELP aerodrome_outbox_failed Outbox rows whose delivery failed for good.",
            "# TYPE aerodrome_outbox_failed gauge",
            f"aerodrome_outbox_failed {status['failed']}",
        ]
        return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")

    return [Route("/healthz/outbox", health, methods=["GET"]), Route("/metrics/outbox", metrics, methods=["GET"])]
