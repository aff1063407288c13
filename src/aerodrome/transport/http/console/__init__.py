"""The web console at ``/console``: server-rendered pages over the same managers as the API, live via SSE."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from aerodrome.transport.http.console import (
    actions,
    entities,
    executions,
    launch_plans,
    nodes,
    projects,
    registries,
)
from aerodrome.transport.http.console.deps import Deps
from aerodrome.transport.http.console.render import View, error_view, page

STATIC = Path(__file__).parent / "static"


async def _unknown(request: Request) -> View:
    return error_view(404, f"There is no console page at {request.url.path}.")


async def _home(request: Request) -> RedirectResponse:
    return RedirectResponse("/console/", status_code=307)


def console_routes(deps: Deps) -> list[BaseRoute]:
    """Every console route under one mount; an unknown path is the console's 404 page."""
    routes: list[BaseRoute] = [
        Mount("/static", app=StaticFiles(directory=STATIC), name="console-static"),
        *projects.routes(deps),
        *executions.routes(deps),
        *nodes.routes(deps),
        *actions.routes(deps),
        *launch_plans.routes(deps),
        *entities.routes(deps),
        *registries.routes(deps),
        Route("/{rest:path}", page(_unknown), methods=["GET", "POST"]),
    ]
    return [Route("/console", _home), Mount("/console", routes=routes)]
