"""The reference compiler's golden data (../shared/conformance/flyte-compiler), reproduced exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flyteidl.admin import launch_plan_pb2, task_pb2
from flyteidl.core import compiler_pb2, dynamic_job_pb2, interface_pb2, types_pb2, workflow_closure_pb2, workflow_pb2
from google.protobuf import json_format, unknown_fields
from google.protobuf.message import DecodeError

from aerodrome.compiler import (
    compile_task,
    compile_workflow,
    expected_launch_plan_inputs,
    literal_type_of,
    workflow_requirements,
)
from aerodrome.compiler.interfaces import id_key

DATA = Path(__file__).resolve().parents[4] / "shared" / "conformance" / "flyte-compiler"
SNACKS = DATA / "snacks-core"
pytestmark = pytest.mark.skipif(not DATA.exists(), reason=f"conformance data not found at {DATA}")


def _parse(path: Path) -> task_pb2.TaskSpec | workflow_closure_pb2.WorkflowClosure | launch_plan_pb2.LaunchPlan | None:
    """Try each message kind in the reference test's order; strict so a wrong guess fails."""
    raw = path.read_bytes()
    for cls in (task_pb2.TaskSpec, workflow_closure_pb2.WorkflowClosure, launch_plan_pb2.LaunchPlan):
        message = cls()
        try:
            message.ParseFromString(raw)
        except DecodeError:
            continue
        if message.ListFields() and not len(unknown_fields.UnknownFieldSet(message)):
            return message
    return None


def _with_test_config(template: object) -> compiler_pb2.CompiledTask:
    assert isinstance(template, task_pb2.TaskSpec)
    t = template.template
    if t.HasField("container"):
        for i in (1, 2, 3):
            t.container.config.add(key=f"testKey{i}", value=f"testValue{i}")
    return compile_task(t)


def _task_goldens() -> list[Path]:
    return sorted((SNACKS / "compiled").glob("*_task.json")) if DATA.exists() else []


def _workflow_goldens() -> list[Path]:
    return sorted((SNACKS / "compiled").glob("*_wf.json")) if DATA.exists() else []


def _compiled_tasks() -> dict[tuple[str, str, str, str], compiler_pb2.CompiledTask]:
    out = {}
    for golden in _task_goldens():
        spec = task_pb2.TaskSpec()
        spec.ParseFromString((SNACKS / (golden.name[: -len("_task.json")] + ".pb")).read_bytes())
        compiled = _with_test_config(spec)
        out[id_key(compiled.template.id)] = compiled
    return out


@pytest.mark.parametrize("golden", _task_goldens(), ids=lambda p: p.name)
def test_task_golden(golden: Path) -> None:
    spec = task_pb2.TaskSpec()
    spec.ParseFromString((SNACKS / (golden.name[: -len("_task.json")] + ".pb")).read_bytes())
    expected = json_format.Parse(golden.read_text(), compiler_pb2.CompiledTask())
    assert _with_test_config(spec) == expected


@pytest.mark.parametrize("golden", _workflow_goldens(), ids=lambda p: p.name)
def test_workflow_golden(golden: Path) -> None:
    closure = workflow_closure_pb2.WorkflowClosure()
    closure.ParseFromString((SNACKS / (golden.name[: -len("_wf.json")] + ".pb")).read_bytes())
    tasks = _compiled_tasks()
    needs = workflow_requirements(closure.workflow, [])
    compiled = compile_workflow(closure.workflow, [], [tasks[id_key(t)] for t in needs.task_ids], [])
    expected = json_format.Parse(golden.read_text(), compiler_pb2.CompiledWorkflowClosure())
    assert json_format.MessageToDict(compiled) == json_format.MessageToDict(expected)
    assert compiled == expected
    for node in compiled.primary.template.nodes:  # every promise source appears in the connections
        for binding in node.inputs:
            if binding.binding.HasField("promise") and node.id != "start-node":
                assert binding.binding.promise.node_id in compiled.primary.connections.upstream[node.id].ids


def _closure_from_json(path: Path) -> tuple[workflow_pb2.WorkflowTemplate, list[compiler_pb2.CompiledTask]]:
    doc = json.loads(path.read_text())
    template = json_format.ParseDict(doc["workflow"], workflow_pb2.WorkflowTemplate())
    tasks = [
        compile_task(
            json_format.ParseDict(t, task_pb2.TaskSpec()).template
            if "template" in t
            else json_format.ParseDict(t, __import__("flyteidl.core.tasks_pb2").core.tasks_pb2.TaskTemplate())
        )
        for t in doc.get("tasks", [])
    ]
    return template, tasks


@pytest.mark.parametrize("case", sorted(DATA.glob("branch/*.json")) if DATA.exists() else [], ids=lambda p: p.name)
def test_branch_cases_compile(case: Path) -> None:
    template, tasks = _closure_from_json(case)
    compiled = compile_workflow(template, [], tasks, [])
    # The recorded forms may be stale (the reference no longer checks them); their primary workflows
    # still match exactly. They differ only in task order and in the test-only container config.
    recorded = json_format.Parse(
        (DATA / "branch" / "compiled" / case.name).read_text(), compiler_pb2.CompiledWorkflowClosure()
    )
    assert compiled.primary == recorded.primary
    branch_nodes = [n for n in compiled.primary.template.nodes if n.HasField("branch_node")]
    assert branch_nodes
    for node in branch_nodes:
        assert node.branch_node.if_else.case.then_node.id.startswith(f"{node.id}-")


def test_dynamic_job_spec_compiles() -> None:
    spec = json_format.Parse((DATA / "dynamic" / "success_1.json").read_text(), dynamic_job_pb2.DynamicJobSpec())
    tasks = [compile_task(t) for t in spec.tasks]
    integers = types_pb2.LiteralType(collection_type=types_pb2.LiteralType(simple=types_pb2.INTEGER))
    template = workflow_pb2.WorkflowTemplate(
        id=__import__("flyteidl.core.identifier_pb2").core.identifier_pb2.Identifier(
            resource_type=2, domain="domain", name="name", version="version"
        ),
        interface=interface_pb2.TypedInterface(
            outputs=interface_pb2.VariableMap(variables={"o0": interface_pb2.Variable(type=integers)})
        ),
        nodes=spec.nodes,
        outputs=spec.outputs,
    )
    compile_workflow(template, list(spec.subworkflows), tasks, [])


def test_launch_plans_register_against_their_workflows() -> None:
    workflows: dict[tuple[str, str, str, str], interface_pb2.TypedInterface] = {}
    plans: list[launch_plan_pb2.LaunchPlan] = []
    for path in sorted(SNACKS.glob("*.pb")):
        message = _parse(path)
        if isinstance(message, workflow_closure_pb2.WorkflowClosure):
            workflows[id_key(message.workflow.id)] = message.workflow.interface
        elif isinstance(message, launch_plan_pb2.LaunchPlan):
            plans.append(message)
    assert len(plans) == 51
    for plan in plans:
        interface = workflows.get(id_key(plan.spec.workflow_id))
        if interface is None:
            # Two workflows (064, 066) parse as none of the messages (see the data's README); their
            # interface is rebuilt from what the launch plan itself records.
            interface = interface_pb2.TypedInterface(
                inputs=interface_pb2.VariableMap(
                    variables={
                        **{k: p.var for k, p in plan.spec.default_inputs.parameters.items()},
                        **{
                            k: interface_pb2.Variable(type=literal_type_of(v))
                            for k, v in plan.spec.fixed_inputs.literals.items()
                        },
                    }
                ),
                outputs=plan.closure.expected_outputs,
            )
        expected = expected_launch_plan_inputs(interface, plan.spec.default_inputs, plan.spec.fixed_inputs)
        free = set(interface.inputs.variables) - set(plan.spec.fixed_inputs.literals)
        assert set(expected.parameters) == free, plan.id.name
