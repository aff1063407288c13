"""Workflow compilation: requirements, start/end injection, bindings, connections and graph checks.

Reproduces PC/workflow_compiler.go: every problem is collected (not only the first) with the
reference's code, node id and text, and the output closure is what the engine runs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from flyteidl.core import compiler_pb2, identifier_pb2, interface_pb2, literals_pb2, types_pb2, workflow_pb2

from aerodrome.compiler.errors import Collector, CompileErrors
from aerodrome.compiler.graph import END, START, Edges, find_cycle, reachable
from aerodrome.compiler.interfaces import Index, LaunchPlanInterface, id_key, id_text, node_interface
from aerodrome.compiler.types import describe, is_castable, is_optional, literal_type_of

_VAR = re.compile(r"^(\[(\d+)\]\.)?(\w+)$")


@dataclass(frozen=True)
class Requirements:
    """Tasks and launch plans a workflow needs, in discovery order."""

    task_ids: list[identifier_pb2.Identifier] = field(default_factory=list)
    launch_plan_ids: list[identifier_pb2.Identifier] = field(default_factory=list)


def _children(node: workflow_pb2.Node) -> list[workflow_pb2.Node]:
    """Nodes nested in a branch or array node."""
    if node.HasField("branch_node"):
        ie = node.branch_node.if_else
        nested = [ie.case.then_node, *(c.then_node for c in ie.other)]
        if ie.HasField("else_node"):
            nested.append(ie.else_node)
        return nested
    if node.HasField("array_node"):
        return [node.array_node.node]
    return []


def count_nodes(templates: Sequence[workflow_pb2.WorkflowTemplate]) -> int:
    """Every node of the templates, nested ones included (iterative: nesting depth cannot overflow it)."""
    stack = [n for t in templates for n in t.nodes]
    total = 0
    while stack:
        node = stack.pop()
        total += 1
        stack.extend(_children(node))
    return total


def workflow_requirements(
    template: workflow_pb2.WorkflowTemplate, sub_workflows: Sequence[workflow_pb2.WorkflowTemplate]
) -> Requirements:
    """Walk nodes, the failure node, branches, array nodes and subworkflows for task and launch-plan ids."""
    subs = {id_key(s.id): s for s in sub_workflows}
    errors = Collector()
    tasks: dict[tuple[str, str, str, str], identifier_pb2.Identifier] = {}
    plans: dict[tuple[str, str, str, str], identifier_pb2.Identifier] = {}
    visited: set[tuple[str, str, str, str]] = set()

    def walk(nodes: Sequence[workflow_pb2.Node]) -> None:
        for node in nodes:
            if node.HasField("task_node"):
                tasks.setdefault(id_key(node.task_node.reference_id), node.task_node.reference_id)
            elif node.HasField("workflow_node"):
                wn = node.workflow_node
                if wn.HasField("launchplan_ref"):
                    plans.setdefault(id_key(wn.launchplan_ref), wn.launchplan_ref)
                elif wn.HasField("sub_workflow_ref"):
                    key = id_key(wn.sub_workflow_ref)
                    sub = subs.get(key)
                    if sub is None:
                        errors.add(
                            "WorkflowReferenceNotFound",
                            node.id,
                            f"Referenced Workflow [{id_text(wn.sub_workflow_ref)}] not found.",
                        )
                    elif key not in visited:
                        visited.add(key)
                        walk([*sub.nodes, *([sub.failure_node] if sub.HasField("failure_node") else [])])
            walk(_children(node))

    walk([*template.nodes, *([template.failure_node] if template.HasField("failure_node") else [])])
    errors.raise_if_any()
    return Requirements(list(tasks.values()), list(plans.values()))


class _WorkflowCompiler:
    """Compiles one workflow template (the primary or a subworkflow) against an index."""

    def __init__(self, template: workflow_pb2.WorkflowTemplate, index: Index, errors: Collector) -> None:
        self.template = template
        self.index = index
        self.errors = errors
        self.interfaces: dict[str, interface_pb2.TypedInterface] = {}
        self.names: dict[str, str] = {}  # node id -> metadata name, for messages
        self.edges = Edges()

    # Bindings ------------------------------------------------------------------------------------

    def _promise_type(self, node_id: str, promise: types_pb2.OutputReference) -> types_pb2.LiteralType | None:
        source = promise.node_id or START
        promise.node_id = source
        interface = self.interfaces.get(source)
        if interface is None:
            self.errors.add("NodeReferenceNotFound", source, f"Referenced node [{source}] not found.")
            return None
        match = _VAR.match(promise.var)
        name = match.group(3) if match else promise.var
        variable = interface.outputs.variables.get(name)
        if variable is None:
            self.errors.variable_not_found(source, promise.var)
            return None
        t = variable.type
        if match and match.group(2) is not None:
            t = t.collection_type
        for step in promise.attr_path:
            if t.HasField("collection_type"):
                t = t.collection_type
            elif t.HasField("map_value_type"):
                t = t.map_value_type
            elif t.structure.dataclass_type:
                key = step.string_value
                if key not in t.structure.dataclass_type:
                    self.errors.add(
                        "FieldNotFound",
                        node_id,
                        f"Variable [{promise.var}] (type [{describe(t)}]) doesn't have field [{key}].",
                    )
                    return None
                t = t.structure.dataclass_type[key]
        return t

    def _check(
        self, node_id: str, var: str, data: literals_pb2.BindingData, expected: types_pb2.LiteralType, sources: set[str]
    ) -> None:
        kind = data.WhichOneof("value")
        if kind == "scalar":
            found = literal_type_of(literals_pb2.Literal(scalar=data.scalar))
            if found.WhichOneof("type") is None:
                self.errors.add("UnrecognizedValue", node_id, f"Unrecognized value [{data.scalar}].")
            elif not is_castable(found, expected):
                self.errors.add(
                    "MismatchingTypes",
                    node_id,
                    f"Variable [{var}] (type [{describe(found)}]) doesn't match expected type [{describe(expected)}].",
                )
            elif expected.HasField("enum_type") and data.scalar.primitive.string_value not in expected.enum_type.values:
                self.errors.add(
                    "IllegalEnumValue",
                    node_id,
                    f"Input [{var}] on node [{node_id}] is an Enum and "
                    f"expects value to be one of [{list(expected.enum_type.values)}].  Received "
                    f"[{data.scalar.primitive.string_value}]",
                )
        elif kind in ("collection", "map"):
            if expected.HasField("union_type"):
                matches = [v for v in expected.union_type.variants if self._fits(data, v)]
                if len(matches) != 1:
                    code = "AmbiguousBindingUnionValue" if matches else "IncompatibleBindingUnionValue"
                    self.errors.add(
                        code,
                        node_id,
                        f"Input [{var}] on node [{node_id}] expects bindings of union "
                        f"type [{describe(expected)}].  Received [{kind}] which "
                        + ("is ambiguous." if matches else "does not match any of the variants."),
                    )
                    return
                expected = matches[0]
            inner_field = "collection_type" if kind == "collection" else "map_value_type"
            if not expected.HasField(inner_field):
                self.errors.add(
                    "MismatchingBindings",
                    node_id,
                    f"Input [{var}] on node [{node_id}] expects bindings "
                    f"of type [{describe(expected)}].  Received [{kind}]",
                )
                return
            inner = getattr(expected, inner_field)
            items = data.collection.bindings if kind == "collection" else data.map.bindings.values()
            for item in items:
                self._check(node_id, var, item, inner, sources)
        elif kind == "promise":
            found_type = self._promise_type(node_id, data.promise)
            sources.add(data.promise.node_id)
            if found_type is not None and not is_castable(found_type, expected):
                source_name = self.names.get(data.promise.node_id)
                out = f"{source_name}.{data.promise.var}" if source_name else data.promise.var
                self.errors.add(
                    "MismatchingTypes",
                    node_id,
                    f"The output variable '{out}' has type "
                    f"[{describe(found_type)}], but it's assigned to the input variable '{var}' which has "
                    f"type type [{describe(expected)}].",
                )

    def _fits(self, data: literals_pb2.BindingData, expected: types_pb2.LiteralType) -> bool:
        probe = Collector()
        saved, self.errors = self.errors, probe
        try:
            self._check("", "", data, expected, set())
        finally:
            self.errors = saved
        return not probe.errors

    def bind(
        self, node_id: str, bindings: Sequence[literals_pb2.Binding], params: interface_pb2.VariableMap
    ) -> set[str]:
        """Validate a node's bindings against its inputs; returns the nodes they read from."""
        sources: set[str] = set()
        seen: set[str] = set()
        for binding in bindings:
            if binding.var in seen:
                self.errors.add(
                    "ParameterBoundMoreThanOnce", node_id, f"Input [{binding.var}] is bound more than once."
                )
                continue
            seen.add(binding.var)
            variable = params.variables.get(binding.var)
            if variable is None:
                self.errors.variable_not_found(node_id, binding.var)
                continue
            if not binding.HasField("binding"):
                self.errors.value_required(node_id, "Binding")
                continue
            self._check(node_id, binding.var, binding.binding, variable.type, sources)
        for name, variable in params.variables.items():
            if name not in seen and not is_optional(variable.type):
                self.errors.parameter_not_bound(node_id, name)
        return sources

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
        for child in _children(node):
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
