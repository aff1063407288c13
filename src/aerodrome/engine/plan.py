"""ExecutionPlan: the frozen, engine-ready view of a compiled workflow closure.

A ``Graph`` is one workflow template (the primary, a subworkflow, or a dynamic task's generated workflow)
with each node's dependencies worked out; a ``Catalog`` holds the task and subworkflow templates the
graphs refer to. Branch nodes depend on everything their nested nodes read, so a branch starts only when
whichever case it picks can run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from flyteidl.core import compiler_pb2, interface_pb2, literals_pb2, tasks_pb2, workflow_pb2

START, END = "start-node", "end-node"
Key = tuple[str, str, str, str]
KINDS = {
    "task_node": "task",
    "workflow_node": "workflow",
    "branch_node": "branch",
    "gate_node": "gate",
    "array_node": "array",
}


def key_of(ident: object) -> Key:
    return (ident.project, ident.domain, ident.name, ident.version)  # type: ignore[attr-defined]


def promise_sources(data: literals_pb2.BindingData) -> set[str]:
    """Node ids a binding reads from."""
    kind = data.WhichOneof("value")
    if kind == "promise":
        return {data.promise.node_id or START}
    if kind == "collection":
        return set().union(*(promise_sources(b) for b in data.collection.bindings))
    if kind == "map":
        return set().union(*(promise_sources(b) for b in data.map.bindings.values()))
    return set()


def branch_cases(node: workflow_pb2.Node) -> Iterator[workflow_pb2.Node]:
    """The then-nodes and the else-node of a branch node."""
    if_else = node.branch_node.if_else
    yield if_else.case.then_node
    for case in if_else.other:
        yield case.then_node
    if if_else.HasField("else_node"):
        yield if_else.else_node


def _reads(node: workflow_pb2.Node) -> set[str]:
    """Nodes this node (and, for a branch, any node nested in it) reads from or waits for."""
    found = set(node.upstream_node_ids)
    for binding in node.inputs:
        found |= promise_sources(binding.binding)
    if node.HasField("branch_node"):
        for nested in branch_cases(node):
            found |= _reads(nested) - {nested.id}
    return found


@dataclass(frozen=True)
class Catalog:
    """Task and subworkflow templates by identifier."""

    tasks: Mapping[Key, tasks_pb2.TaskTemplate]
    workflows: Mapping[Key, workflow_pb2.WorkflowTemplate]

    def task(self, ident: object) -> tasks_pb2.TaskTemplate | None:
        return self.tasks.get(key_of(ident))

    def workflow(self, ident: object) -> workflow_pb2.WorkflowTemplate | None:
        return self.workflows.get(key_of(ident))

    def merged(
        self, tasks: Iterable[tasks_pb2.TaskTemplate], workflows: Iterable[workflow_pb2.WorkflowTemplate]
    ) -> Catalog:
        return Catalog(
            {**self.tasks, **{key_of(t.id): t for t in tasks}},
            {**self.workflows, **{key_of(w.id): w for w in workflows}},
        )


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
        if self.node.metadata.HasField("retries") and self.node.metadata.retries.retries:
            return self.node.metadata.retries.retries
        if self.task is not None:
            return self.task.metadata.retries.retries
        return 0

    @property
    def name(self) -> str:
        return self.node.metadata.name or self.id


def planned(node: workflow_pb2.Node, catalog: Catalog, upstream: Iterable[str] = ()) -> PlannedNode:
    kind = KINDS.get(node.WhichOneof("target") or "", "task")
    task = catalog.task(node.task_node.reference_id) if kind == "task" else None
    if kind == "array" and node.array_node.node.HasField("task_node"):
        task = catalog.task(node.array_node.node.task_node.reference_id)
    return PlannedNode(node.id, node, kind, frozenset(upstream), task)


@dataclass(frozen=True)
class Graph:
    """Nodes keyed by id with their dependencies, the workflow's outputs and interface."""

    nodes: Mapping[str, PlannedNode]
    outputs: tuple[literals_pb2.Binding, ...]
    interface: interface_pb2.TypedInterface
    failure_node: PlannedNode | None = None
    order: tuple[str, ...] = field(default=())
    fail_after_executable: bool = False

    @classmethod
    def from_template(cls, template: workflow_pb2.WorkflowTemplate, catalog: Catalog) -> Graph:
        nodes: dict[str, PlannedNode] = {}
        user_nodes = [n for n in template.nodes if n.id not in (START, END)]
        for node in user_nodes:
            upstream = (_reads(node) - {node.id}) or {START}
            nodes[node.id] = planned(node, catalog, upstream)
        nodes[START] = PlannedNode(START, workflow_pb2.Node(id=START), "start", frozenset())
        nodes[END] = PlannedNode(
            END, workflow_pb2.Node(id=END), "end", frozenset(n.id for n in user_nodes) or frozenset({START})
        )
        failure = planned(template.failure_node, catalog) if template.HasField("failure_node") else None
        policy = workflow_pb2.WorkflowMetadata.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE
        return cls(
            nodes,
            tuple(template.outputs),
            template.interface,
            failure,
            tuple(n.id for n in user_nodes),
            template.metadata.on_failure == policy,
        )


@dataclass(frozen=True)
class ExecutionPlan:
    """The primary graph of an execution and the catalog its nodes refer to."""

    graph: Graph
    catalog: Catalog

    @classmethod
    def from_closure(cls, closure: compiler_pb2.CompiledWorkflowClosure) -> ExecutionPlan:
        catalog = Catalog(
            {key_of(t.template.id): t.template for t in closure.tasks},
            {key_of(w.template.id): w.template for w in closure.sub_workflows},
        )
        return cls(Graph.from_template(closure.primary.template, catalog), catalog)
