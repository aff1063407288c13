"""The start page (projects and their domains) and a project-domain's dashboard."""

from __future__ import annotations

from flyteidl.admin import common_pb2, project_pb2
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from aerodrome.transport.http.console.deps import Deps, base, scope
from aerodrome.transport.http.console.render import View, page, redirect

RECENT = 10


def routes(deps: Deps) -> list[BaseRoute]:
    m = deps.managers

    async def home(request: Request) -> View:
        found = await m.projects.list(project_pb2.ProjectListRequest(limit=500))
        return View("projects.html", {"projects": found.projects, "domains": m.projects.domains})

    async def project(request: Request) -> Response:
        name = request.path_params["project"]
        await m.projects.get(project_pb2.ProjectGetRequest(id=name))
        return redirect(f"/console/projects/{name}/domains/{m.projects.domains[0]}")

    async def dashboard(request: Request) -> View:
        project, domain = scope(request)
        summary = await deps.dashboard.summary(project, domain)
        scope_id = common_pb2.NamedEntityIdentifier(project=project, domain=domain)
        newest = common_pb2.Sort(key="execution_created_at", direction=common_pb2.Sort.DESCENDING)
        recent = await m.queries.list(common_pb2.ResourceListRequest(id=scope_id, limit=RECENT, sort_by=newest))
        running = await m.queries.list(
            common_pb2.ResourceListRequest(
                id=scope_id, limit=RECENT, sort_by=newest, filters="value_in(phase,QUEUED;RUNNING;ABORTING;FAILING)"
            )
        )
        return View(
            "dashboard.html",
            {
                "project": project,
                "domain": domain,
                "domains": m.projects.domains,
                "base": base(project, domain),
                "summary": summary,
                "recent": recent.executions,
                "running": running.executions,
            },
        )

    return [
        Route("/", page(home)),
        Route("/projects/{project}", page(project)),
        Route("/projects/{project}/domains/{domain}", page(dashboard)),
    ]
