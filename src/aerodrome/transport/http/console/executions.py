"""Execution pages: the list, one execution (live), one node, and an attempt's log."""

from __future__ import annotations

from collections import Counter
from typing import Any

from flyteidl.admin import common_pb2, node_execution_pb2, task_execution_pb2
from flyteidl.core import identifier_pb2
from flyteidl.service import dataproxy_pb2
from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from aerodrome.errors import NotFound
from aerodrome.transport.http.console import listing
from aerodrome.transport.http.console.deps import Deps, base, execution_id, scope
from aerodrome.transport.http.console.execution_view import execution_context
from aerodrome.transport.http.console.formatting import task_phase
from aerodrome.transport.http.console.literals import show_map, uris
from aerodrome.transport.http.console.live_routes import stream
from aerodrome.transport.http.console.render import View, page

LOG_TAIL = 64 * 1024
MAX_CHILDREN = 200  # child nodes and map items listed on a node page (the rest are counted)


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

    async def node(request: Request) -> View:
        ident = identifier_pb2.NodeExecutionIdentifier(
            node_id=request.path_params["node_id"], execution_id=execution_id(request)
        )
        found = await deps.managers.queries.get_node(node_execution_pb2.NodeExecutionGetRequest(id=ident))
        data = await deps.managers.queries.get_node_data(node_execution_pb2.NodeExecutionGetDataRequest(id=ident))
        attempts = await deps.managers.queries.list_tasks(
            task_execution_pb2.TaskExecutionListRequest(node_execution_id=ident, limit=100)
        )
        children = (
            (
                await deps.managers.queries.list_nodes(
                    node_execution_pb2.NodeExecutionListRequest(
                        workflow_execution_id=ident.execution_id, unique_parent_id=ident.node_id, limit=MAX_CHILDREN
                    )
                )
            ).node_executions
            if found.metadata.is_parent_node
            else []
        )
        items = (
            list(attempts.task_executions[-1].closure.metadata.external_resources) if attempts.task_executions else []
        )
        links = await deps.links(
            [u for m in (data.full_inputs, data.full_outputs) for v in m.literals.values() for u in uris(v)]
        )
        return View(
            "node.html",
            {
                "ex": ident.execution_id,
                "base": base(ident.execution_id.project, ident.execution_id.domain),
                "node": found,
                "inputs": show_map(data.full_inputs, links),
                "outputs": show_map(data.full_outputs, links),
                "attempts": attempts.task_executions,
                "children": children,
                "items": Counter(task_phase(i.phase) for i in items),
                "unfinished": [i for i in items if task_phase(i.phase) != "SUCCEEDED"][:MAX_CHILDREN],
                "deck": await _deck(deps, ident) if found.closure.deck_uri else "",
            },
        )

    async def task_log(request: Request) -> View:
        ex = execution_id(request)
        ident = identifier_pb2.NodeExecutionIdentifier(node_id=request.path_params["node_id"], execution_id=ex)
        whole = request.query_params.get("whole") == "1"
        found = await deps.logs.read(ident, int(request.path_params["attempt"]), tail_bytes=None if whole else LOG_TAIL)
        context: dict[str, Any] = {
            "ex": ex,
            "base": base(ex.project, ex.domain),
            "node_id": ident.node_id,
            "attempt": request.path_params["attempt"],
            "log": found,
        }
        return View("log.html", context)

    async def events(request: Request) -> Any:
        return await stream(deps, request, execution_id(request))

    prefix = "/projects/{project}/domains/{domain}/executions"
    return [
        Route(prefix, page(executions)),
        Route(prefix + "/{name}", page(execution)),
        Route(prefix + "/{name}/events", page(events)),
        Route(prefix + "/{name}/nodes/{node_id}", page(node)),
        Route(prefix + "/{name}/nodes/{node_id}/attempts/{attempt:int}/log", page(task_log)),
    ]


async def _deck(deps: Deps, ident: identifier_pb2.NodeExecutionIdentifier) -> str:
    """A signed link to the node's deck (CreateDownloadLink), or "" while it is not written yet."""
    request = dataproxy_pb2.CreateDownloadLinkRequest(
        artifact_type=dataproxy_pb2.ARTIFACT_TYPE_DECK, node_execution_id=ident
    )
    try:
        return (await deps.data.create_download_link(request)).signed_url[0]
    except NotFound:
        return ""
