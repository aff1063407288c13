"""Everything the execution page shows, gathered through the managers once per render (page or live update)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flyteidl.admin import common_pb2, execution_pb2, node_execution_pb2, signal_pb2, task_execution_pb2
from flyteidl.core import identifier_pb2

from aerodrome.errors import NotFound
from aerodrome.transport.http.console.dag import Layout, layout, upstream_of
from aerodrome.transport.http.console.deps import Deps, base
from aerodrome.transport.http.console.formatting import node_phase, seconds, when, workflow_phase
from aerodrome.transport.http.console.forms import widget_of
from aerodrome.transport.http.console.gantt import timeline
from aerodrome.transport.http.console.literals import show_map, uris

# The parts of the page a live update replaces, each a template under parts/.
PARTS = ("header", "dag", "nodes", "gantt", "gates", "outputs")


@dataclass(frozen=True)
class NodeRow:
    """One line of the node table."""

    node: node_execution_pb2.NodeExecution
    phase: str
    attempts: int
    cpu_seconds: float
    peak_rss: float
    last_attempt: int
    has_log: bool
    child: identifier_pb2.WorkflowExecutionIdentifier | None


def _row(node: node_execution_pb2.NodeExecution, tries: list[task_execution_pb2.TaskExecution]) -> NodeRow:
    info = [t.closure.custom_info for t in tries]
    cpu = sum(i.fields["cpu_seconds"].number_value for i in info if "cpu_seconds" in i.fields)
    rss = max((i.fields["peak_rss_bytes"].number_value for i in info if "peak_rss_bytes" in i.fields), default=0.0)
    child = node.closure.workflow_node_metadata.executionId
    return NodeRow(
        node,
        node_phase(node.closure.phase),
        len(tries),
        cpu,
        rss,
        tries[-1].id.retry_attempt if tries else 0,
        bool(tries and tries[-1].closure.logs),
        child if child.name else None,
    )


async def _graph(deps: Deps, workflow_id: identifier_pb2.Identifier) -> tuple[Layout | None, list[tuple[str, Layout]]]:
    try:
        wf = await deps.managers.workflows.get(common_pb2.ObjectGetRequest(id=workflow_id))
    except NotFound:
        return None, []
    compiled = wf.closure.compiled_workflow
    subs = [(s.template.id.name, layout(s.template, upstream_of(s))) for s in compiled.sub_workflows]
    return layout(compiled.primary.template, upstream_of(compiled.primary)), subs


async def execution_context(deps: Deps, ident: identifier_pb2.WorkflowExecutionIdentifier) -> dict[str, Any]:
    q = deps.managers.queries
    ov = await q.overview(ident)
    ex = ov.execution
    dag, subworkflows = await _graph(deps, ex.closure.workflow_id)
    data = await q.get_data(execution_pb2.WorkflowExecutionGetDataRequest(id=ident))
    links = await deps.links(
        [u for m in (data.full_inputs, data.full_outputs) for v in m.literals.values() for u in uris(v)]
    )
    signals = await deps.managers.signals.list(signal_pb2.SignalListRequest(workflow_execution_id=ident, limit=100))
    phase = workflow_phase(ex.closure.phase)
    now = datetime.now(UTC)
    origin = when(ex.closure.started_at) or when(ex.closure.created_at)
    span = seconds(ex.closure.duration) or ((now - origin).total_seconds() if origin else 0.0)
    rows = [_row(n, ov.attempts.get(n.id.node_id, [])) for n in ov.nodes]
    frozen = await deps.registries.resolver.shown(ident.project, ident.domain, ident.name)
    return {
        "ex": ex,
        "ident": ident,
        "base": base(ident.project, ident.domain),
        "phase": phase,
        "dag": dag,
        "subworkflows": subworkflows,
        "node_phases": {r.node.id.node_id: r.phase for r in rows},
        "rows": rows,
        "timeline": timeline(origin, span, ov.nodes, ov.attempts, now),
        "inputs": show_map(data.full_inputs, links),
        "outputs": show_map(data.full_outputs, links),
        "gates": [(s, widget_of(s.type)) for s in signals.signals if not s.HasField("value")],
        "labels": dict(ex.spec.labels.values),
        "providers": {p["node_id"]: p["provider_name"] for p in frozen},
    }
