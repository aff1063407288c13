"""What a workflow needs from the registry (tasks, launch plans) and how many nodes it has, found before
compiling so the manager can fetch the one and refuse an oversized workflow without compiling it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from flyteidl.core import identifier_pb2, workflow_pb2

from aerodrome.compiler.errors import Collector
from aerodrome.compiler.interfaces import id_key, id_text


@dataclass(frozen=True)
class Requirements:
    """Tasks and launch plans a workflow needs, in discovery order."""

    task_ids: list[identifier_pb2.Identifier] = field(default_factory=list)
    launch_plan_ids: list[identifier_pb2.Identifier] = field(default_factory=list)


def nested_nodes(node: workflow_pb2.Node) -> list[workflow_pb2.Node]:
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
        stack.extend(nested_nodes(node))
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
            walk(nested_nodes(node))

    walk([*template.nodes, *([template.failure_node] if template.HasField("failure_node") else [])])
    errors.raise_if_any()
    return Requirements(list(tasks.values()), list(plans.values()))
