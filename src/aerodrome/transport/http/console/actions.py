"""Buttons on the execution page; each calls the manager method of the matching RPC, then shows the result.

Terminate → TerminateExecution, relaunch → RelaunchExecution, recover → RecoverExecution, a gate's
approve / reject / value → SetSignal. A refused action (already finished, wrong type) is an error page that
says why, with a way back to the execution.
"""

from __future__ import annotations

from flyteidl.admin import execution_pb2, signal_pb2
from flyteidl.core import identifier_pb2, literals_pb2, types_pb2
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from aerodrome.errors import AdminError, InvalidArgument
from aerodrome.managers.json_inputs import to_literal
from aerodrome.transport.http.console.deps import Deps, base, execution_id
from aerodrome.transport.http.console.formatting import url
from aerodrome.transport.http.console.forms import value_of, widget_of
from aerodrome.transport.http.console.render import View, error_view, form_of, page, redirect


def _execution_url(ident: identifier_pb2.WorkflowExecutionIdentifier) -> str:
    return f"{base(ident.project, ident.domain)}/executions/{url(ident.name)}"


def _refused(ident: identifier_pb2.WorkflowExecutionIdentifier, exc: AdminError, status: int) -> View:
    return error_view(status, str(exc), back=_execution_url(ident))


def routes(deps: Deps) -> list[BaseRoute]:
    executions = deps.managers.executions

    async def terminate(request: Request) -> View | Response:
        ident = execution_id(request)
        cause = (await form_of(request)).get(
            "cause", ""
        ).strip() or f"terminated in the console by {request.state.viewer.name}"
        try:
            await executions.terminate(execution_pb2.ExecutionTerminateRequest(id=ident, cause=cause))
        except AdminError as exc:
            return _refused(ident, exc, 409)
        return redirect(_execution_url(ident))

    async def relaunch(request: Request) -> Response:
        ident = execution_id(request)
        created = await executions.relaunch(execution_pb2.ExecutionRelaunchRequest(id=ident))
        return redirect(_execution_url(created.id))

    async def recover(request: Request) -> Response:
        ident = execution_id(request)
        created = await executions.recover(execution_pb2.ExecutionRecoverRequest(id=ident))
        return redirect(_execution_url(created.id))

    async def signal(request: Request) -> View | Response:
        ident = execution_id(request)
        signal_id = identifier_pb2.SignalIdentifier(signal_id=request.path_params["signal_id"], execution_id=ident)
        form = await form_of(request)
        listed = await deps.managers.signals.list(signal_pb2.SignalListRequest(workflow_execution_id=ident, limit=100))
        declared = next((s.type for s in listed.signals if s.id.signal_id == signal_id.signal_id), None)
        if declared is None:
            return error_view(
                404, f"execution {ident.name} is not waiting for {signal_id.signal_id}", _execution_url(ident)
            )
        try:
            value = _signal_value(declared, form.get("decision", ""), form.get("value", ""))
            await deps.managers.signals.set(signal_pb2.SignalSetRequest(id=signal_id, value=value))
        except (ValueError, InvalidArgument) as exc:
            return error_view(400, f"{signal_id.signal_id}: {exc}", _execution_url(ident))
        return redirect(_execution_url(ident))

    prefix = "/projects/{project}/domains/{domain}/executions/{name}"
    return [
        Route(prefix + "/terminate", page(terminate), methods=["POST"]),
        Route(prefix + "/relaunch", page(relaunch), methods=["POST"]),
        Route(prefix + "/recover", page(recover), methods=["POST"]),
        Route(prefix + "/signals/{signal_id}", page(signal), methods=["POST"]),
    ]


def _signal_value(declared: types_pb2.LiteralType, decision: str, text: str) -> literals_pb2.Literal:
    """Approve/reject for a bool gate, else the typed value from the form."""
    widget = widget_of(declared)
    if decision in ("approve", "reject"):
        return to_literal(declared, decision == "approve", "value")
    if widget == "bool":
        return to_literal(declared, text in ("on", "true", "1"), "value")
    return to_literal(declared, value_of(widget, text.strip()), "value")
