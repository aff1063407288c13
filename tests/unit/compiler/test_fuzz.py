"""Fuzzing the compiler: random and mutated workflows give a closure or CompileErrors, never another exception.

Two sources: workflows drawn from scratch (``strategies``: every node kind, dangling and duplicate ids,
mistyped bindings, attribute paths, branches and arrays), and the reference's golden workflows with one
random mutation each, so realistic shapes are broken in realistic places. Example counts are bounded
for CI (about 8 s in all).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flyteidl.core import compiler_pb2, interface_pb2, literals_pb2, types_pb2, workflow_closure_pb2, workflow_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.fuzz import examples
from tests.unit.compiler import strategies as s
from tests.unit.compiler.test_conformance import SNACKS, _compiled_tasks, _workflow_goldens

from aerodrome.compiler import CompileErrors, compile_workflow, workflow_requirements
from aerodrome.compiler.interfaces import LaunchPlanInterface, id_key

FUZZ = settings(
    max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def compiles_or_reports(
    primary: workflow_pb2.WorkflowTemplate,
    subs: list[workflow_pb2.WorkflowTemplate],
    tasks: list[compiler_pb2.CompiledTask],
    plans: list[LaunchPlanInterface],
) -> None:
    try:
        compile_workflow(primary, subs, tasks, plans)
    except CompileErrors as exc:
        assert exc.errors and all(str(e) for e in exc.errors)


@FUZZ
@given(st.data())
def test_random_workflows_compile_or_report(data: st.DataObject) -> None:
    tasks = [data.draw(s.compiled_tasks(name)) for name in ("t0", "t1", "t2")]
    plan = LaunchPlanInterface(
        id=s.ident(3, "lp"),
        expected_inputs=interface_pb2.ParameterMap(
            parameters={k: interface_pb2.Parameter(var=v) for k, v in data.draw(s.variable_maps).variables.items()}
        ),
        expected_outputs=data.draw(s.variable_maps),
    )
    subs = data.draw(st.lists(s.templates("sub"), max_size=2))
    compiles_or_reports(data.draw(s.templates("w")), subs, tasks, [plan])


def _golden(path: Path) -> workflow_pb2.WorkflowTemplate:
    closure = workflow_closure_pb2.WorkflowClosure()
    closure.ParseFromString((SNACKS / (path.name[: -len("_wf.json")] + ".pb")).read_bytes())
    return closure.workflow


GOLDENS = [_golden(p) for p in _workflow_goldens()]


def _mutate(template: workflow_pb2.WorkflowTemplate, data: st.DataObject) -> None:
    """One random, usually breaking, change to a golden workflow."""
    nodes = template.nodes
    kind = data.draw(st.sampled_from(["drop", "rebind", "retype", "edge", "rename", "output"]))
    node = nodes[data.draw(st.integers(0, len(nodes) - 1))] if nodes else None
    if kind == "drop" and node is not None:
        nodes.remove(node)
    elif kind == "rebind" and node is not None and node.inputs:
        node.inputs[data.draw(st.integers(0, len(node.inputs) - 1))].binding.CopyFrom(data.draw(s.binding_data))
    elif kind == "retype":
        variables = template.interface.inputs.variables
        variables[data.draw(st.sampled_from([*variables, "x"]))].type.CopyFrom(data.draw(s.literal_types))
    elif kind == "edge" and node is not None:
        node.upstream_node_ids.append(data.draw(st.sampled_from([n.id for n in nodes] + ["ghost"])))
    elif kind == "rename" and node is not None:
        node.id = data.draw(st.sampled_from([n.id for n in nodes] + ["start-node", ""]))
    else:
        template.outputs.append(literals_pb2.Binding(var=data.draw(s.names), binding=data.draw(s.binding_data)))
        template.interface.outputs.variables["o9"].type.simple = types_pb2.INTEGER


@pytest.mark.skipif(not GOLDENS, reason="conformance data not found")
@FUZZ
@given(st.data())
def test_mutated_goldens_compile_or_report(data: st.DataObject) -> None:
    tasks = _TASKS or _TASKS.update(_compiled_tasks()) or _TASKS
    template = workflow_pb2.WorkflowTemplate()
    template.CopyFrom(data.draw(st.sampled_from(GOLDENS)))
    _mutate(template, data)
    try:
        needs = workflow_requirements(template, [])
    except CompileErrors:
        return
    compiles_or_reports(template, [], [tasks[id_key(t)] for t in needs.task_ids if id_key(t) in tasks], [])


_TASKS: dict[tuple[str, str, str, str], compiler_pb2.CompiledTask] = {}
