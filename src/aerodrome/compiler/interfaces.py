"""What each kind of node consumes and produces (ValidateUnderlyingInterface)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flyteidl.core import compiler_pb2, identifier_pb2, interface_pb2, workflow_pb2

from aerodrome.compiler.errors import Collector


def id_key(ident: identifier_pb2.Identifier) -> tuple[str, str, str, str]:
    return (ident.project, ident.domain, ident.name, ident.version)


def id_text(ident: identifier_pb2.Identifier) -> str:
    return f"{ident.project}:{ident.domain}:{ident.name}:{ident.version}" if ident.version else ident.name


@dataclass(frozen=True)
class LaunchPlanInterface:
    """What a launch-plan node needs of the launch plan it calls."""

    id: identifier_pb2.Identifier
    expected_inputs: interface_pb2.ParameterMap
    expected_outputs: interface_pb2.VariableMap


@dataclass
class Index:
    """The entities a compilation may reference."""

    tasks: Mapping[tuple[str, str, str, str], compiler_pb2.CompiledTask]
    launch_plans: Mapping[tuple[str, str, str, str], LaunchPlanInterface]
    sub_workflows: Mapping[tuple[str, str, str, str], workflow_pb2.WorkflowTemplate]
    own_id: identifier_pb2.Identifier
    own_interface: interface_pb2.TypedInterface


def node_interface(
    node: workflow_pb2.Node,
    index: Index,
    errors: Collector,
    binding_types: Callable[[workflow_pb2.Node], interface_pb2.VariableMap],
) -> interface_pb2.TypedInterface | None:
    """The node's interface, or None (with errors recorded) when it cannot be derived."""
    target = node.WhichOneof("target")
    if target == "task_node":
        ref = node.task_node.reference_id
        if not node.task_node.HasField("reference_id"):
            errors.value_required(node.id, "TaskNode.ReferenceId")
            return None
        task = index.tasks.get(id_key(ref))
        if task is None:
            errors.add("TaskReferenceNotFound", node.id, f"Referenced Task [{id_text(ref)}] not found.")
            return None
        return task.template.interface
    if target == "workflow_node":
        wn = node.workflow_node
        if wn.HasField("launchplan_ref"):
            ref = wn.launchplan_ref
            if id_key(ref) == id_key(index.own_id):
                return index.own_interface
            plan = index.launch_plans.get(id_key(ref))
            if plan is None:
                errors.add("WorkflowReferenceNotFound", node.id, f"Referenced Workflow [{id_text(ref)}] not found.")
                return None
            bound = {b.var for b in node.inputs}
            inputs = interface_pb2.VariableMap(
                variables={
                    name: p.var for name, p in plan.expected_inputs.parameters.items() if p.required or name in bound
                }
            )
            return interface_pb2.TypedInterface(inputs=inputs, outputs=plan.expected_outputs)
        if wn.HasField("sub_workflow_ref"):
            sub = index.sub_workflows.get(id_key(wn.sub_workflow_ref))
            if sub is None:
                errors.add(
                    "WorkflowReferenceNotFound",
                    node.id,
                    f"Referenced Workflow [{id_text(wn.sub_workflow_ref)}] not found.",
                )
                return None
            return sub.interface
        errors.add("WorkflowReferenceNotFound", node.id, "Referenced Workflow [<lp>/<sub>] not found.")
        return None
    if target == "gate_node":
        gate = node.gate_node
        kind = gate.WhichOneof("condition")
        if kind == "approve":
            passed = binding_types(node)
            return interface_pb2.TypedInterface(inputs=passed, outputs=passed)
        if kind == "signal":
            if not gate.signal.HasField("type"):
                errors.value_required(node.id, "GateNode.Signal.Type")
                return None
            if not gate.signal.output_variable_name:
                errors.value_required(node.id, "GateNode.Signal.OutputVariableName")
                return None
            out = interface_pb2.Variable(type=gate.signal.type)
            return interface_pb2.TypedInterface(
                outputs=interface_pb2.VariableMap(variables={gate.signal.output_variable_name: out})
            )
        if kind == "sleep":
            return interface_pb2.TypedInterface()
        errors.add("NoConditionFound", node.id, f"Can't find any condition in gate node [{node.id}].")
        return None
    if target == "array_node":
        return node_interface(node.array_node.node, index, errors, binding_types)
    if target is None:
        errors.value_required(node.id, "Target")
    return None
