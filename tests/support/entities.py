"""Registration requests built as flyteidl messages (no pyflyte run): a container task, a workflow calling it,
launch plans, and workflows that only wait on a gate (no task process), for the load and race tests."""

from __future__ import annotations

from datetime import timedelta

from flyteidl.admin import launch_plan_pb2, schedule_pb2, task_pb2, workflow_pb2
from flyteidl.core import identifier_pb2, interface_pb2, literals_pb2, tasks_pb2, types_pb2
from flyteidl.core import workflow_pb2 as core_wf
from google.protobuf import duration_pb2

PROJECT, DOMAIN = "flytesnacks", "development"
INT = types_pb2.LiteralType(simple=types_pb2.INTEGER)
BOOL = types_pb2.LiteralType(simple=types_pb2.BOOLEAN)


def ident(kind: int, name: str, version: str) -> identifier_pb2.Identifier:
    return identifier_pb2.Identifier(resource_type=kind, project=PROJECT, domain=DOMAIN, name=name, version=version)


def task(name: str, version: str, image: str = "python:3.11") -> task_pb2.TaskCreateRequest:
    """A container task taking and returning an int (registered only; never run)."""
    task_id = ident(identifier_pb2.TASK, name, version)
    variables = interface_pb2.VariableMap(variables={"x": interface_pb2.Variable(type=INT)})
    template = tasks_pb2.TaskTemplate(
        id=task_id,
        type="python-task",
        metadata=tasks_pb2.TaskMetadata(
            runtime=tasks_pb2.RuntimeMetadata(type=tasks_pb2.RuntimeMetadata.FLYTE_SDK, version="1.16.0")
        ),
        interface=interface_pb2.TypedInterface(
            inputs=variables,
            outputs=interface_pb2.VariableMap(variables={"o0": interface_pb2.Variable(type=INT)}),
        ),
        container=tasks_pb2.Container(image=image, args=["pyflyte-execute", "--inputs", "{{.input}}"]),
    )
    return task_pb2.TaskCreateRequest(id=task_id, spec=task_pb2.TaskSpec(template=template))


def _promise(node: str, var: str) -> literals_pb2.BindingData:
    return literals_pb2.BindingData(promise=types_pb2.OutputReference(node_id=node, var=var))


def task_workflow(
    name: str, version: str, task_name: str, task_version: str = ""
) -> workflow_pb2.WorkflowCreateRequest:
    """One node calling ``task_name`` (of ``task_version``, default the same version) with the workflow's x."""
    wf_id = ident(identifier_pb2.WORKFLOW, name, version)
    node = core_wf.Node(
        id="n0",
        task_node=core_wf.TaskNode(reference_id=ident(identifier_pb2.TASK, task_name, task_version or version)),
        inputs=[literals_pb2.Binding(var="x", binding=_promise("start-node", "x"))],
    )
    variable = interface_pb2.Variable(type=INT)
    template = core_wf.WorkflowTemplate(
        id=wf_id,
        interface=interface_pb2.TypedInterface(
            inputs=interface_pb2.VariableMap(variables={"x": variable}),
            outputs=interface_pb2.VariableMap(variables={"o0": variable}),
        ),
        nodes=[node],
        outputs=[literals_pb2.Binding(var="o0", binding=_promise("n0", "o0"))],
    )
    return workflow_pb2.WorkflowCreateRequest(id=wf_id, spec=workflow_pb2.WorkflowSpec(template=template))


def gate_workflow(name: str, version: str, *, sleep: timedelta | None = None) -> workflow_pb2.WorkflowCreateRequest:
    """A workflow whose only node is a gate: a sleep of ``sleep``, else a boolean signal named ``go``."""
    wf_id = ident(identifier_pb2.WORKFLOW, name, version)
    if sleep is not None:
        duration = duration_pb2.Duration()
        duration.FromTimedelta(sleep)
        gate = core_wf.GateNode(sleep=core_wf.SleepCondition(duration=duration))
    else:
        gate = core_wf.GateNode(signal=core_wf.SignalCondition(signal_id="go", type=BOOL, output_variable_name="o0"))
    template = core_wf.WorkflowTemplate(
        id=wf_id,
        interface=interface_pb2.TypedInterface(),
        nodes=[core_wf.Node(id="g", gate_node=gate)],
    )
    return workflow_pb2.WorkflowCreateRequest(id=wf_id, spec=workflow_pb2.WorkflowSpec(template=template))


def launch_plan(
    name: str, version: str, workflow: identifier_pb2.Identifier, *, every_minutes: int = 0, x: int | None = None
) -> launch_plan_pb2.LaunchPlanCreateRequest:
    """A launch plan of ``workflow``; with ``every_minutes`` a fixed-rate schedule, with ``x`` a default input."""
    spec = launch_plan_pb2.LaunchPlanSpec(workflow_id=workflow)
    if x is not None:
        literal = literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=x)))
        spec.default_inputs.parameters["x"].CopyFrom(
            interface_pb2.Parameter(var=interface_pb2.Variable(type=INT), default=literal)
        )
    if every_minutes:
        rate = schedule_pb2.FixedRate(value=every_minutes, unit=schedule_pb2.MINUTE)
        spec.entity_metadata.schedule.CopyFrom(schedule_pb2.Schedule(rate=rate))
    return launch_plan_pb2.LaunchPlanCreateRequest(id=ident(identifier_pb2.LAUNCH_PLAN, name, version), spec=spec)
