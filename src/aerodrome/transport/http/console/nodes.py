"""A node of an execution: its attempts, map items, child nodes, data, error and deck; an attempt's log."""

from __future__ import annotations

from collections import Counter
from typing import Any

from flyteidl.admin import node_execution_pb2, task_execution_pb2
from flyteidl.core import identifier_pb2
from flyteidl.event import event_pb2
from flyteidl.service import dataproxy_pb2
from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from aerodrome.errors import NotFound
from aerodrome.managers.task_logs import TaskLog
from aerodrome.transport.http.console.deps import Deps, base, execution_id
from aerodrome.transport.http.console.formatting import task_phase
from aerodrome.transport.http.console.literals import show_map, uris
from aerodrome.transport.http.console.render import View, page

LOG_TAIL = 64 * 1024
INLINE_TAIL = 8 * 1024  # the end of the last attempt's log, shown on the node page itself
MAX_CHILDREN = 200  # child nodes and map items listed on a node page (the rest are counted)


def _node_id(request: Request) -> identifier_pb2.NodeExecutionIdentifier:
    return identifier_pb2.NodeExecutionIdentifier(
        node_id=request.path_params["node_id"], execution_id=execution_id(request)
    )


def routes(deps: Deps) -> list[BaseRoute]:
    q = deps.managers.queries

    async def node(request: Request) -> View:
        ident = _node_id(request)
        found = await q.get_node(node_execution_pb2.NodeExecutionGetRequest(id=ident))
        data = await q.get_node_data(node_execution_pb2.NodeExecutionGetDataRequest(id=ident))
        listed = await q.list_tasks(task_execution_pb2.TaskExecutionListRequest(node_execution_id=ident, limit=100))
        attempts = list(listed.task_executions)
        items = list(attempts[-1].closure.metadata.external_resources) if attempts else []
        maps = (data.full_inputs, data.full_outputs)
        links = await deps.links([u for m in maps for v in m.literals.values() for u in uris(v)])
        return View(
            "node.html",
            {
                "ex": ident.execution_id,
                "base": base(ident.execution_id.project, ident.execution_id.domain),
                "node": found,
                "inputs": show_map(data.full_inputs, links),
                "outputs": show_map(data.full_outputs, links),
                "attempts": attempts,
                "children": await _children(deps, ident) if found.metadata.is_parent_node else [],
                "items": Counter(task_phase(i.phase) for i in items),
                "unfinished": _unfinished(items),
                "deck": await _deck(deps, ident) if found.closure.deck_uri else "",
                "log": await _tail(deps, ident, attempts),
            },
        )

    async def task_log(request: Request) -> View:
        ident = _node_id(request)
        whole = request.query_params.get("whole") == "1"
        found = await deps.logs.read(ident, request.path_params["attempt"], tail_bytes=None if whole else LOG_TAIL)
        ex = ident.execution_id
        context: dict[str, Any] = {
            "ex": ex,
            "base": base(ex.project, ex.domain),
            "node_id": ident.node_id,
            "attempt": request.path_params["attempt"],
            "log": found,
        }
        return View("log.html", context)

    prefix = "/projects/{project}/domains/{domain}/executions/{name}/nodes/{node_id}"
    return [Route(prefix, page(node)), Route(prefix + "/attempts/{attempt:int}/log", page(task_log))]


async def _children(
    deps: Deps, ident: identifier_pb2.NodeExecutionIdentifier
) -> list[node_execution_pb2.NodeExecution]:
    """The nodes under a parent node (subworkflow, branch, dynamic), as ListNodeExecutions gives them."""
    request = node_execution_pb2.NodeExecutionListRequest(
        workflow_execution_id=ident.execution_id, unique_parent_id=ident.node_id, limit=MAX_CHILDREN
    )
    return list((await deps.managers.queries.list_nodes(request)).node_executions)


def _unfinished(items: list[event_pb2.ExternalResourceInfo]) -> list[event_pb2.ExternalResourceInfo]:
    """The map items that did not succeed (the first ``MAX_CHILDREN``): what a reader came to find."""
    return [i for i in items if task_phase(i.phase) != "SUCCEEDED"][:MAX_CHILDREN]


async def _deck(deps: Deps, ident: identifier_pb2.NodeExecutionIdentifier) -> str:
    """A signed link to the node's deck (CreateDownloadLink), or "" while it is not written yet."""
    request = dataproxy_pb2.CreateDownloadLinkRequest(
        artifact_type=dataproxy_pb2.ARTIFACT_TYPE_DECK, node_execution_id=ident
    )
    try:
        return (await deps.data.create_download_link(request)).signed_url[0]
    except NotFound:
        return ""


async def _tail(
    deps: Deps, ident: identifier_pb2.NodeExecutionIdentifier, attempts: list[task_execution_pb2.TaskExecution]
) -> TaskLog | None:
    """The end of the last attempt's log, or None when there is none (yet)."""
    if not attempts or not attempts[-1].closure.logs:
        return None
    try:
        return await deps.logs.read(ident, attempts[-1].id.retry_attempt, tail_bytes=INLINE_TAIL)
    except NotFound:
        return None
