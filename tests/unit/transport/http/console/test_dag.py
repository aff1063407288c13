"""Layered layout of workflow graphs: layers follow the longest upstream path, kinds are told apart."""

from __future__ import annotations

from flyteidl.core import identifier_pb2, workflow_pb2

from aerodrome.transport.http.console.dag import END, NODE_W, START, layers, layout


def _task(node_id: str) -> workflow_pb2.Node:
    ref = identifier_pb2.Identifier(resource_type=identifier_pb2.TASK, name=f"t.{node_id}")
    return workflow_pb2.Node(id=node_id, task_node=workflow_pb2.TaskNode(reference_id=ref))


def test_layers_are_longest_paths() -> None:
    ups = {"a": [START], "b": ["a"], "c": ["a", "b"], END: ["c"]}
    depth = layers([START, "a", "b", "c", END], ups)
    assert depth == {START: 0, "a": 1, "b": 2, "c": 3, END: 4}


def test_diamond_puts_siblings_in_one_column_and_every_edge_forward() -> None:
    template = workflow_pb2.WorkflowTemplate(nodes=[_task("a"), _task("b"), _task("c"), _task("d")])
    out = layout(template, {"b": ["a"], "c": ["a"], "d": ["b", "c"]})
    x = {b.id: b.x for b in out.boxes}
    assert x["b"] == x["c"] and x["a"] < x["b"] < x["d"] < x[END]
    assert x[START] < x["a"]
    assert all(e.points[0][0] < e.points[1][0] for e in out.edges)
    assert len(out.edges) == 6  # start->a, a->b, a->c, b->d, c->d, d->end
    assert out.width >= max(b.x for b in out.boxes) + NODE_W


def test_kinds_are_drawn_distinctly() -> None:
    gate = workflow_pb2.Node(id="g", gate_node=workflow_pb2.GateNode())
    branch = workflow_pb2.Node(id="b", branch_node=workflow_pb2.BranchNode())
    array = workflow_pb2.Node(id="m", array_node=workflow_pb2.ArrayNode())
    sub = workflow_pb2.Node(
        id="s", workflow_node=workflow_pb2.WorkflowNode(sub_workflow_ref=identifier_pb2.Identifier(name="inner"))
    )
    lp = workflow_pb2.Node(
        id="l", workflow_node=workflow_pb2.WorkflowNode(launchplan_ref=identifier_pb2.Identifier(name="child"))
    )
    out = layout(workflow_pb2.WorkflowTemplate(nodes=[gate, branch, array, sub, lp]), {})
    kinds = {b.id: b.kind for b in out.boxes}
    assert kinds == {
        "g": "gate",
        "b": "branch",
        "m": "map",
        "s": "subworkflow",
        "l": "launchplan",
        START: "start",
        END: "end",
    }
    assert {b.id: b.detail for b in out.boxes}["s"] == "inner"
