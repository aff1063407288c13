"""Execution pages: the list and one execution (live, through its event stream)."""

from __future__ import annotations

from typing import Any

from flyteidl.admin import common_pb2
from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from aerodrome.transport.http.console import listing
from aerodrome.transport.http.console.deps import Deps, base, execution_id, scope
from aerodrome.transport.http.console.execution_view import execution_context
from aerodrome.transport.http.console.live_routes import stream
from aerodrome.transport.http.console.render import View, page


def routes(deps: Deps) -> list[BaseRoute]:
    async def executions(request: Request) -> View:
        project, domain = scope(request)
        query = listing.read(request, "execution_created_at", execution_filters=True)
        found = await deps.managers.queries.list(
            common_pb2.ResourceListRequest(
                id=common_pb2.NamedEntityIdentifier(project=project, domain=domain),
                limit=query.limit,
                token=query.token,
                filters=query.filters,
                sort_by=query.sort(),
            )
        )
        return View(
            "executions.html",
            {
                "project": project,
                "domain": domain,
                "base": base(project, domain),
                "query": query,
                "executions": found.executions,
                "next_token": found.token,
            },
        )

    async def execution(request: Request) -> View:
        return View("execution.html", await execution_context(deps, execution_id(request)))

    async def events(request: Request) -> Any:
        return await stream(deps, request, execution_id(request))

    prefix = "/projects/{project}/domains/{domain}/executions"
    return [
        Route(prefix, page(executions)),
        Route(prefix + "/{name}", page(execution)),
        Route(prefix + "/{name}/events", page(events)),
    ]
