"""Workflow compilation: start/end injection, node interfaces, connections and graph checks (the bindings
are checked by ``bindings.py``, the requirements found by ``requirements.py``).

Reproduces PC/workflow_compiler.go: every problem is collected (not only the first) with the
reference's code, node id and text, and the output closure is what the engine runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from flyteidl.core import compiler_pb2, interface_pb2, literals_pb2, workflow_pb2

from aerodrome.compiler.bindings import BindingChecker
from aerodrome.compiler.errors import Collector, CompileErrors
from aerodrome.compiler.graph import END, START, Edges, find_cycle, reachable
from aerodrome.compiler.interfaces import Index, LaunchPlanInterface, id_key, id_text, node_interface
from aerodrome.compiler.requirements import Requirements, nested_nodes, workflow_requirements
from aerodrome.compiler.types import literal_type_of


class _WorkflowCompiler(BindingChecker):
    """Compiles one workflow template (the primary or a subworkflow) against an index."""

    def __init__(self, template: workflow_pb2.WorkflowTemplate, index: Index, errors: Collector) -> None:
        self.template = template
        self.index = index
        self.errors = errors
        self.interfaces = {}
        self.names = {}  # node id -> metadata name, for messages
        self.edges = Edges()

    # Nodes ---------------------------------------------------------------------------------------

    def _binding_types(self, node: workflow_pb2.Node) -> interface_pb2.VariableMap:
        """For gate and branch nodes, whose inputs are whatever they bind."""
        out = interface_pb2.VariableMap()
        for binding in node.inputs:
            data = binding.binding
            if data.HasField("promise"):
                t = self._promise_type(node.id, data.promise)
            elif data.HasField("scalar"):
                t = literal_type_of(literals_pb2.Literal(scalar=data.scalar))
            else:
                t = None
            if t is not None:
                out.variables[binding.var].type.CopyFrom(t)
        return out

    def _branch(self, node: workflow_pb2.Node) -> interface_pb2.TypedInterface | None:
        branch = node.branch_node
        if not branch.HasField("if_else"):
            self.errors.value_required(node.id, "Branch.IfElse")
            return None
        ie = branch.if_else
        if not ie.HasField("case"):
            self.errors.add("BranchNodeHasNoCondition", node.id, node.id)
            return None
        if not ie.HasField("else_node") and not ie.HasField("error"):
            self.errors.add("BranchNodeHasNoDefault", node.id, node.id)
        if not ie.case.HasField("condition"):
            self.errors.add("BranchNodeHasNoCondition", node.id, node.id)
        outputs: dict[str, interface_pb2.Variable] | None = None
        for child in nested_nodes(node):
            if not child.id:
                self.errors.add("BranchNodeIdNotFound", node.id, "BranchNode not assigned")
                continue
            child.id = f"{node.id}-{child.id}"
            child.upstream_node_ids.sort()
            interface = self.derive(child)
            if interface is None:
                continue
            for source in self.bind(child.id, child.inputs, interface.inputs):  # recorded, not scheduled
                if source in self.interfaces:
                    self.edges.add(source, child.id, upstream_only=True)
            names = dict(interface.outputs.variables)
            outputs = names if outputs is None else {k: v for k, v in outputs.items() if k in names}
        inputs = self._binding_types(node)
        return interface_pb2.TypedInterface(inputs=inputs, outputs=interface_pb2.VariableMap(variables=outputs or {}))

    def derive(self, node: workflow_pb2.Node) -> interface_pb2.TypedInterface | None:
        if node.HasField("branch_node"):
            interface = self._branch(node)
        else:
            interface = node_interface(node, self.index, self.errors, self._binding_types)
        if interface is not None:
            interface = self._aliases(node, interface)
            self.interfaces[node.id] = interface
        return interface

    def _aliases(
        self, node: workflow_pb2.Node, interface: interface_pb2.TypedInterface
    ) -> interface_pb2.TypedInterface:
        if not node.output_aliases:
            return interface
        outputs = dict(interface.outputs.variables)
        seen: set[str] = set()
        for alias in node.output_aliases:
            if alias.alias in seen:
                self.errors.add(
                    "DuplicateAlias",
                    node.id,
                    f"Duplicate alias [{alias.alias}] found. An output alias can only be used once in the Workflow.",
                )
            seen.add(alias.alias)
            if alias.var not in outputs:
                self.errors.parameter_not_bound(node.id, alias.alias)
                continue
            outputs[alias.alias] = outputs.pop(alias.var)
        return interface_pb2.TypedInterface(
            inputs=interface.inputs, outputs=interface_pb2.VariableMap(variables=outputs)
        )

    # The workflow --------------------------------------------------------------------------------

    def compile(self) -> compiler_pb2.CompiledWorkflow:
        template = workflow_pb2.WorkflowTemplate()
        template.CopyFrom(self.template)
        wf_id = id_text(template.id)
        if not template.nodes:
            self.errors.add("NoNodesFound", wf_id, f"Can't find any nodes in workflow [{wf_id}].")
            return compiler_pb2.CompiledWorkflow(template=template)
        start = workflow_pb2.Node(id=START)
        end = workflow_pb2.Node(id=END, inputs=template.outputs)
        self.interfaces[START] = interface_pb2.TypedInterface(outputs=template.interface.inputs)
        self.interfaces[END] = interface_pb2.TypedInterface(inputs=template.interface.outputs)
        nodes: dict[str, workflow_pb2.Node] = {}
        for original in template.nodes:
            if not original.id:
                self.errors.value_required("<node>", "Id")
                continue
            if original.id in nodes:  # the reference keeps the first and ignores the rest
                continue
            node = workflow_pb2.Node()
            node.CopyFrom(original)
            node.upstream_node_ids.sort()
            nodes[node.id] = node
            if node.metadata.name:
                self.names[node.id] = node.metadata.name
        for node in nodes.values():
            self.derive(node)
        for node_id in sorted(nodes):
            node = nodes[node_id]
            for upstream in node.upstream_node_ids:
                if upstream not in self.interfaces:
                    self.errors.add("NodeReferenceNotFound", upstream, f"Referenced node [{upstream}] not found.")
                    continue
                self.edges.add(upstream, node_id)
            interface = self.interfaces.get(node_id)
            if interface is not None:
                for source in self.bind(node_id, node.inputs, interface.inputs):
                    if source in self.interfaces:
                        self.edges.add(source, node_id)
        failure = None
        if template.HasField("failure_node"):
            failure = workflow_pb2.Node()
            failure.CopyFrom(template.failure_node)
            interface = self.derive(failure)
            if interface is not None:
                for source in self.bind(failure.id, failure.inputs, interface.inputs):
                    if source in self.interfaces:
                        self.edges.add(source, failure.id, upstream_only=True)
        for node_id in nodes:
            if not self.edges.upstream.get(node_id):
                self.edges.add(START, node_id)
            if not self.edges.downstream.get(node_id):
                self.edges.add(node_id, END)
        for source in self.bind(END, end.inputs, template.interface.outputs):
            if source in self.interfaces:
                self.edges.add(source, END)
        self._check_graph(list(nodes))
        del template.nodes[:]
        template.nodes.extend([start, end, *nodes.values()])
        if failure is not None:
            template.failure_node.CopyFrom(failure)
        connections = compiler_pb2.ConnectionSet()
        for node_id, ups in self.edges.upstream.items():
            connections.upstream[node_id].ids.extend(sorted(ups))
        for node_id, downs in self.edges.downstream.items():
            connections.downstream[node_id].ids.extend(sorted(downs))
        return compiler_pb2.CompiledWorkflow(template=template, connections=connections)

    def _check_graph(self, node_ids: list[str]) -> None:
        cycle = find_cycle([START], self.edges.downstream)
        if cycle is not None:
            self.errors.add(
                "CycleDetected", START, f"A cycle has been detected while traversing the Workflow [{'>'.join(cycle)}]."
            )
            return
        seen = reachable(START, self.edges.downstream)
        missing = [n for n in node_ids if n not in seen]
        if missing:
            self.errors.add("UnreachableNodes", START, f"The Workflow contain unreachable nodes [{','.join(missing)}].")


def compile_workflow(
    primary: workflow_pb2.WorkflowTemplate,
    sub_workflows: Sequence[workflow_pb2.WorkflowTemplate],
    tasks: Sequence[compiler_pb2.CompiledTask],
    launch_plans: Sequence[LaunchPlanInterface],
) -> compiler_pb2.CompiledWorkflowClosure:
    """A CompiledWorkflowClosure, or CompileErrors listing every problem."""
    errors = Collector()
    task_index = {id_key(t.template.id): t for t in tasks}
    plan_index = {id_key(p.id): p for p in launch_plans}
    subs: dict[tuple[str, str, str, str], workflow_pb2.WorkflowTemplate] = {}
    for sub in sub_workflows:
        if id_key(sub.id) in subs:
            errors.add("DuplicateId", id_text(sub.id), "Trying to insert two nodes with the same id.")
        subs[id_key(sub.id)] = sub
    try:
        needs = workflow_requirements(primary, sub_workflows)
    except CompileErrors as exc:
        errors.errors.extend(exc.errors)
        needs = Requirements()
    for ident in needs.launch_plan_ids:
        if id_key(ident) not in plan_index and id_key(ident) != id_key(primary.id):
            errors.add("WorkflowReferenceNotFound", START, f"Referenced Workflow [{id_text(ident)}] not found.")
    for ident in needs.task_ids:
        if id_key(ident) not in task_index:
            errors.add("TaskReferenceNotFound", START, f"Referenced Task [{id_text(ident)}] not found.")
    errors.raise_if_any()

    def compiled(template: workflow_pb2.WorkflowTemplate) -> compiler_pb2.CompiledWorkflow:
        index = Index(task_index, plan_index, subs, primary.id, primary.interface)
        return _WorkflowCompiler(template, index, errors).compile()

    closure = compiler_pb2.CompiledWorkflowClosure(primary=compiled(primary))
    closure.sub_workflows.extend(compiled(s) for s in subs.values())
    closure.tasks.extend(sorted(task_index.values(), key=lambda t: id_text(t.template.id)))
    errors.raise_if_any()
    return closure
