"""Workflows and tasks: their names, their versions, and one version (DAG, interface, launch plans, settings)."""

from __future__ import annotations

from functools import partial
from typing import Any

from flyteidl.admin import common_pb2
from flyteidl.core import identifier_pb2
from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from aerodrome.transport.http.console import listing
from aerodrome.transport.http.console.dag import layout, upstream_of
from aerodrome.transport.http.console.deps import Deps, base, entity_id, named, scope
from aerodrome.transport.http.console.render import View, page

KINDS = {"workflows": identifier_pb2.WORKFLOW, "tasks": identifier_pb2.TASK, "launch_plans": identifier_pb2.LAUNCH_PLAN}


def routes(deps: Deps) -> list[BaseRoute]:
    m = deps.managers

    def manager(kind: str) -> Any:
        return {"workflows": m.workflows, "tasks": m.tasks, "launch_plans": m.launch_plans}[kind]

    async def names(request: Request, kind: str) -> View:
        project, domain = scope(request)
        query = listing.read(request, "name")
        found = await m.named_entities.list(
            common_pb2.NamedEntityListRequest(
                resource_type=KINDS[kind],
                project=project,
                domain=domain,
                limit=query.limit,
                token=query.token,
                filters=query.filters,
                sort_by=common_pb2.Sort(key="name", direction=common_pb2.Sort.ASCENDING),
            )
        )
        return View(
            "names.html",
            {
                "project": project,
                "domain": domain,
                "base": base(project, domain),
                "kind": kind,
                "entities": found.entities,
                "next_token": found.token,
                "query": query,
            },
        )

    async def versions(request: Request, kind: str) -> View:
        project, domain = scope(request)
        query = listing.read(request, "created_at")
        found = await manager(kind).list(
            common_pb2.ResourceListRequest(
                id=named(request), limit=query.limit, token=query.token, filters=query.filters, sort_by=query.sort()
            )
        )
        items = getattr(found, kind)
        return View(
            "versions.html",
            {
                "project": project,
                "domain": domain,
                "base": base(project, domain),
                "kind": kind,
                "name": request.path_params["name"],
                "items": items,
                "next_token": found.token,
                "query": query,
            },
        )

    async def workflow(request: Request) -> View:
        ident = entity_id(request, identifier_pb2.WORKFLOW)
        wf = await m.workflows.get(common_pb2.ObjectGetRequest(id=ident))
        compiled = wf.closure.compiled_workflow
        plans = await m.launch_plans.list(
            common_pb2.ResourceListRequest(
                id=common_pb2.NamedEntityIdentifier(project=ident.project, domain=ident.domain),
                limit=100,
                filters=f"eq(workflow.name,{ident.name})+eq(workflow.version,{ident.version})",
            )
        )
        interface = compiled.primary.template.interface
        return View(
            "workflow.html",
            {
                "ident": ident,
                "base": base(ident.project, ident.domain),
                "wf": wf,
                "dag": layout(compiled.primary.template, upstream_of(compiled.primary)),
                "subworkflows": [
                    (s.template.id.name, layout(s.template, upstream_of(s))) for s in compiled.sub_workflows
                ],
                "node_phases": {},
                "inputs": interface.inputs.variables,
                "outputs": interface.outputs.variables,
                "plans": plans.launch_plans,
            },
        )

    async def task(request: Request) -> View:
        ident = entity_id(request, identifier_pb2.TASK)
        found = await m.tasks.get(common_pb2.ObjectGetRequest(id=ident))
        template = found.closure.compiled_task.template
        return View(
            "task.html",
            {
                "ident": ident,
                "base": base(ident.project, ident.domain),
                "task": found,
                "template": template,
                "inputs": template.interface.inputs.variables,
                "outputs": template.interface.outputs.variables,
            },
        )

    prefix = "/projects/{project}/domains/{domain}"
    lists: list[BaseRoute] = []
    for kind in KINDS:
        lists.append(Route(f"{prefix}/{kind}", page(partial(names, kind=kind))))
        lists.append(Route(f"{prefix}/{kind}/{{name}}", page(partial(versions, kind=kind))))
    return [
        *lists,
        Route(prefix + "/workflows/{name}/versions/{version}", page(workflow)),
        Route(prefix + "/tasks/{name}/versions/{version}", page(task)),
    ]
