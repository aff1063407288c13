"""Compile time of a 1,000-node chain and a 1,000-wide fan-out (median per compile; target < 200 ms each).

Run: ``.venv/bin/python bench/compile.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

from flyteidl.core import compiler_pb2, identifier_pb2, interface_pb2, literals_pb2, tasks_pb2, types_pb2
from flyteidl.core import workflow_pb2 as wf

from aerodrome.compiler import compile_task, compile_workflow

INT = types_pb2.LiteralType(simple=types_pb2.INTEGER)
VARS = interface_pb2.VariableMap(variables={"x": interface_pb2.Variable(type=INT)})
OUT = interface_pb2.VariableMap(variables={"o0": interface_pb2.Variable(type=INT)})
TASK_ID = identifier_pb2.Identifier(resource_type=identifier_pb2.TASK, project="p", domain="d", name="inc", version="v")


def task() -> compiler_pb2.CompiledTask:
    return compile_task(
        tasks_pb2.TaskTemplate(
            id=TASK_ID,
            type="python-task",
            interface=interface_pb2.TypedInterface(inputs=VARS, outputs=OUT),
            container=tasks_pb2.Container(image="i", args=["run"]),
        )
    )


def bind(node: str, var: str) -> literals_pb2.Binding:
    return literals_pb2.Binding(
        var="x", binding=literals_pb2.BindingData(promise=types_pb2.OutputReference(node_id=node, var=var))
    )


def template(nodes: list[wf.Node], out_node: str) -> wf.WorkflowTemplate:
    return wf.WorkflowTemplate(
        id=identifier_pb2.Identifier(
            resource_type=identifier_pb2.WORKFLOW, project="p", domain="d", name="w", version="v"
        ),
        interface=interface_pb2.TypedInterface(inputs=VARS, outputs=OUT),
        nodes=nodes,
        outputs=[
            literals_pb2.Binding(
                var="o0",
                binding=literals_pb2.BindingData(promise=types_pb2.OutputReference(node_id=out_node, var="o0")),
            )
        ],
    )


def chain(n: int) -> wf.WorkflowTemplate:
    nodes = [
        wf.Node(
            id=f"n{i}",
            task_node=wf.TaskNode(reference_id=TASK_ID),
            inputs=[bind(f"n{i - 1}", "o0") if i else bind("", "x")],
        )
        for i in range(n)
    ]
    return template(nodes, f"n{n - 1}")


def fanout(n: int) -> wf.WorkflowTemplate:
    nodes = [wf.Node(id=f"n{i}", task_node=wf.TaskNode(reference_id=TASK_ID), inputs=[bind("", "x")]) for i in range(n)]
    return template(nodes, "n0")


def measure(shape: wf.WorkflowTemplate, tasks: list[compiler_pb2.CompiledTask], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        compile_workflow(shape, [], tasks, [])
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(repeat: int) -> None:
    tasks = [task()]
    for name, shape in (("1,000-node chain", chain(1000)), ("1,000-wide fan-out", fanout(1000))):
        print(f"{name:>20}: median {measure(shape, tasks, repeat) * 1000:.1f} ms per compile ({repeat} runs)")
    print("target: < 200 ms each")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    main(parser.parse_args().repeat)
