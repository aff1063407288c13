"""A workflow's graph laid out in layers, left to right, for an inline SVG (no client-side layout code).

Each node goes in the layer after its deepest upstream node; within a layer nodes are ordered by the mean
row of their upstream nodes, which keeps most edges short and uncrossed for the graphs flytekit produces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flyteidl.core import compiler_pb2, workflow_pb2

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 168, 44, 56, 18, 12
PILL = 60  # width of the start and end markers, drawn centred in their slot
START, END = "start-node", "end-node"


@dataclass(frozen=True)
class Box:
    id: str
    label: str
    kind: str  # task, map, branch, gate, subworkflow, launchplan, start, end
    x: int
    y: int
    detail: str = ""


@dataclass(frozen=True)
class Edge:
    points: tuple[tuple[int, int], ...]


@dataclass
class Layout:
    boxes: list[Box] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    width: int = 0
    height: int = 0
    w: int = NODE_W
    h: int = NODE_H


def kind_of(node: workflow_pb2.Node) -> tuple[str, str]:
    """The node's kind and a one-line detail (the task, subworkflow or launch plan it runs)."""
    if node.id == START:
        return "start", ""
    if node.id == END:
        return "end", ""
    target = node.WhichOneof("target")
    if target == "task_node":
        return "task", node.task_node.reference_id.name
    if target == "workflow_node":
        if node.workflow_node.WhichOneof("reference") == "launchplan_ref":
            return "launchplan", node.workflow_node.launchplan_ref.name
        return "subworkflow", node.workflow_node.sub_workflow_ref.name
    if target == "branch_node":
        ifs = node.branch_node.if_else
        has_else = ifs.HasField("else_node") or ifs.HasField("error")
        return "branch", f"{len(ifs.other) + 1} condition(s)" + (" + else" if has_else else "")
    if target == "gate_node":
        return "gate", node.gate_node.WhichOneof("condition") or ""
    if target == "array_node":
        return "map", ""
    return "task", ""


def layers(ids: list[str], upstream: Mapping[str, list[str]]) -> dict[str, int]:
    """Longest-path layer of each node (cycles, which the compiler refuses anyway, are cut)."""
    depth: dict[str, int] = {}

    def visit(node: str, seen: frozenset[str]) -> int:
        if node in depth:
            return depth[node]
        parents = [p for p in upstream.get(node, []) if p in ids and p not in seen]
        depth[node] = 1 + max((visit(p, seen | {node}) for p in parents), default=-1)
        return depth[node]

    for node in ids:
        visit(node, frozenset())
    return depth


def layout(template: workflow_pb2.WorkflowTemplate, upstream: Mapping[str, list[str]]) -> Layout:
    """Boxes and edges for ``template``; ``upstream`` is the compiled connections' node -> upstream ids."""
    nodes = {n.id: n for n in template.nodes}
    for special in (START, END):
        nodes.setdefault(special, workflow_pb2.Node(id=special))
    ids = list(nodes)
    ups = {k: list(v) for k, v in upstream.items()}
    for node in ids:  # nodes with nothing upstream hang off the start node; nothing downstream, the end node
        if node not in (START, END) and not [p for p in ups.get(node, []) if p in nodes]:
            ups[node] = [START]
    fed = {p for v in ups.values() for p in v}
    ups[END] = sorted({*ups.get(END, []), *(n for n in ids if n not in fed and n not in (START, END))})
    depth = layers(ids, ups)
    columns: dict[int, list[str]] = {}
    for node in sorted(ids, key=lambda n: (depth[n], ids.index(n))):
        columns.setdefault(depth[node], []).append(node)
    row: dict[str, float] = {}
    for level in sorted(columns):
        members = columns[level]
        members.sort(key=lambda n: sum(row.get(p, 0) for p in ups.get(n, [])) / max(1, len(ups.get(n, []))))
        for i, node in enumerate(members):
            row[node] = i
    tallest = max(len(c) for c in columns.values())
    out = Layout()
    pos: dict[str, tuple[int, int]] = {}
    for level, members in columns.items():
        offset = (tallest - len(members)) * (NODE_H + GAP_Y) // 2
        for i, node in enumerate(members):
            x, y = PAD + level * (NODE_W + GAP_X), PAD + offset + i * (NODE_H + GAP_Y)
            pos[node] = (x, y)
            kind, detail = kind_of(nodes[node])
            name = nodes[node].metadata.name
            label = f"{node} · {name}" if name and name != node else node
            out.boxes.append(Box(node, label, kind, x, y, detail))
    for node, parents in ups.items():
        for parent in parents:
            if parent in pos and node in pos:
                (px, py), (cx, cy) = pos[parent], pos[node]
                start_x = px + NODE_W // 2 + PILL // 2 if parent == START else px + NODE_W
                end_x = cx + NODE_W // 2 - PILL // 2 if node == END else cx
                out.edges.append(Edge(((start_x, py + NODE_H // 2), (end_x, cy + NODE_H // 2))))
    out.width = PAD * 2 + len(columns) * (NODE_W + GAP_X) - GAP_X
    out.height = PAD * 2 + tallest * (NODE_H + GAP_Y) - GAP_Y
    return out


def upstream_of(closure: compiler_pb2.CompiledWorkflow) -> dict[str, list[str]]:
    return {k: list(v.ids) for k, v in closure.connections.upstream.items()}
