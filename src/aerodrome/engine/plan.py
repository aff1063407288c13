"""ExecutionPlan: the frozen, engine-ready view of a compiled workflow closure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flyteidl.core import compiler_pb2, interface_pb2, literals_pb2, tasks_pb2, workflow_pb2

START, END = "start-node", "end-node"


def _task_key(ident: object) -> tuple[str, str, str, str]:
    return (ident.project, ident.domain, ident.name, ident.version)  # type: ignore[attr-defined]


def promise_sources(data: literals_pb2.BindingData) -> set[str]:
    """Node ids a binding reads from."""
    kind = data.WhichOneof("value")
    if kind == "promise":
        return {data.promise.node_id or START}
    if kind == "collection":
        return (
            set().union(*(promise_sources(b) for b in data.collection.bindings)) if data.collection.bindings else set()
        )
    if kind == "map":
        return set().union(*(promise_sources(b) for b in data.map.bindings.values())) if data.map.bindings else set()
    return set()


@dataclass(frozen=True)
class PlannedNode:
    """One node with everything the engine needs to run it."""

    id: str
    node: workflow_pb2.Node
    kind: str  # start | end | task | workflow | branch | gate | array
    upstream: frozenset[str]
    task: tasks_pb2.TaskTemplate | None = None

    @property
    def retries(self) -> int:
        """Node retries override task retries (flyte-backend-semantics §6.7)."""
        if self.node.metadata.HasField("retries"):
            return self.node.metadata.retries.retries
        if self.task is not None:
            return self.task.metadata.retries.retries
        return 0


@dataclass(frozen=True)
class ExecutionPlan:
    """Nodes keyed by id with their dependencies, the workflow's outputs and interface."""

    nodes: Mapping[str, PlannedNode]
    outputs: tuple[literals_pb2.Binding, ...]
    interface: interface_pb2.TypedInterface
    failure_node: PlannedNode | None = None
    order: tuple[str, ...] = field(default=())

    @classmethod
    def from_closure(cls, closure: compiler_pb2.CompiledWorkflowClosure) -> ExecutionPlan:
        template = closure.primary.template
        tasks = {_task_key(t.template.id): t.template for t in closure.tasks}
        nodes: dict[str, PlannedNode] = {}
        user_nodes = [n for n in template.nodes if n.id not in (START, END)]
        for node in user_nodes:
            upstream = set(node.upstream_node_ids)
            for binding in node.inputs:
                upstream |= promise_sources(binding.binding)
            kind = node.WhichOneof("target") or "task"
            kind = {
                "task_node": "task",
                "workflow_node": "workflow",
                "branch_node": "branch",
                "gate_node": "gate",
                "array_node": "array",
            }.get(kind, kind)
            task = tasks.get(_task_key(node.task_node.reference_id)) if kind == "task" else None
            nodes[node.id] = PlannedNode(
                node.id, node, kind, frozenset(upstream - {node.id}) or frozenset({START}), task
            )
        nodes[START] = PlannedNode(START, workflow_pb2.Node(id=START), "start", frozenset())
        nodes[END] = PlannedNode(
            END, workflow_pb2.Node(id=END), "end", frozenset(n.id for n in user_nodes) or frozenset({START})
        )
        failure = None
        if template.HasField("failure_node"):
            fn = template.failure_node
            failure = PlannedNode(
                fn.id,
                fn,
                "task" if fn.HasField("task_node") else "other",
                frozenset(),
                tasks.get(_task_key(fn.task_node.reference_id)),
            )
        return cls(nodes, tuple(template.outputs), template.interface, failure, tuple(n.id for n in user_nodes))
