"""``GET /api/v1/schedules``: every active schedule (optionally of one project / domain)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from aerodrome.scheduler.listing import ScheduleQueries
from aerodrome.transport.http.envelope import enveloped


def schedule_routes(queries: ScheduleQueries) -> list[BaseRoute]:
    async def listing(request: Request) -> Any:
        params = request.query_params
        return await queries.list(params.get("project", ""), params.get("domain", ""))

    return [Route("/api/v1/schedules", enveloped("ListSchedules", listing), methods=["GET"])]
