"""One small hand-made invalid workflow per error kind; every problem is reported with node and variable."""

from __future__ import annotations

import pytest
from flyteidl.core import compiler_pb2, condition_pb2, identifier_pb2, interface_pb2, literals_pb2, tasks_pb2, types_pb2
from flyteidl.core import workflow_pb2 as wf

from aerodrome.compiler import CompileErrors, compile_task, compile_workflow, workflow_requirements

INT = types_pb2.LiteralType(simple=types_pb2.INTEGER)
STR = types_pb2.LiteralType(simple=types_pb2.STRING)


def ident(kind: int, name: str) -> identifier_pb2.Identifier:
    return identifier_pb2.Identifier(resource_type=kind, project="p", domain="d", name=name, version="v")


def task(
    name: str, inputs: dict[str, types_pb2.LiteralType], outputs: dict[str, types_pb2.LiteralType]
) -> compiler_pb2.CompiledTask:
    vm = interface_pb2.VariableMap
    template = tasks_pb2.TaskTemplate(
        id=ident(identifier_pb2.TASK, name),
        type="python-task",
        interface=interface_pb2.TypedInterface(
            inputs=vm(variables={k: interface_pb2.Variable(type=t) for k, t in inputs.items()}),
            outputs=vm(variables={k: interface_pb2.Variable(type=t) for k, t in outputs.items()}),
        ),
        container=tasks_pb2.Container(image="i", args=["run"]),
    )
    return compile_task(template)


ADD = task("add", {"x": INT}, {"o0": INT})
SHOUT = task("shout", {"s": STR}, {"o0": STR})


def promise(node: str, var: str) -> literals_pb2.BindingData:
    return literals_pb2.BindingData(promise=types_pb2.OutputReference(node_id=node, var=var))


def node(
    node_id: str, task_name: str, inputs: dict[str, literals_pb2.BindingData], upstream: list[str] | None = None
) -> wf.Node:
    return wf.Node(
        id=node_id,
        task_node=wf.TaskNode(reference_id=ident(identifier_pb2.TASK, task_name)),
        inputs=[literals_pb2.Binding(var=k, binding=v) for k, v in inputs.items()],
        upstream_node_ids=upstream or [],
    )


def workflow(
    nodes: list[wf.Node],
    outputs: dict[str, literals_pb2.BindingData] | None = None,
    out_types: dict[str, types_pb2.LiteralType] | None = None,
) -> wf.WorkflowTemplate:
    return wf.WorkflowTemplate(
        id=ident(identifier_pb2.WORKFLOW, "w"),
        interface=interface_pb2.TypedInterface(
            inputs=interface_pb2.VariableMap(variables={"x": interface_pb2.Variable(type=INT)}),
            outputs=interface_pb2.VariableMap(
                variables={k: interface_pb2.Variable(type=t) for k, t in (out_types or {}).items()}
            ),
        ),
        nodes=nodes,
        outputs=[literals_pb2.Binding(var=k, binding=v) for k, v in (outputs or {}).items()],
    )


def errors_of(
    template: wf.WorkflowTemplate, tasks: list[compiler_pb2.CompiledTask], subs: list[wf.WorkflowTemplate] = ()
) -> list[str]:  # type: ignore[assignment]
    with pytest.raises(CompileErrors) as err:
        compile_workflow(template, list(subs), tasks, [])
    return [str(e) for e in err.value.errors]


def test_cycle() -> None:
    a = node("a", "add", {"x": promise("", "x")}, upstream=["b"])
    b = node("b", "add", {"x": promise("a", "o0")})
    found = errors_of(workflow([a, b]), [ADD])
    assert (
        "Code: CycleDetected, Node Id: start-node, Description: A cycle has been detected while traversing "
        "the Workflow [a>b>a]." in found
    )


def test_unknown_upstream_node() -> None:
    found = errors_of(workflow([node("a", "add", {"x": promise("", "x")}, upstream=["ghost"])]), [ADD])
    assert "Code: NodeReferenceNotFound, Node Id: ghost, Description: Referenced node [ghost] not found." in found


def test_unbound_required_input() -> None:
    found = errors_of(workflow([node("a", "add", {})]), [ADD])
    assert "Code: ParameterNotBound, Node Id: a, Description: Parameter not bound [x]." in found


def test_type_mismatch_int_into_str() -> None:
    found = errors_of(workflow([node("a", "shout", {"s": promise("", "x")})]), [SHOUT])
    assert any("MismatchingTypes" in e and "Node Id: a" in e and "'s'" in e for e in found), found


def test_output_bound_to_missing_variable() -> None:
    found = errors_of(
        workflow([node("a", "add", {"x": promise("", "x")})], {"o": promise("a", "nope")}, {"o": INT}), [ADD]
    )
    assert "Code: VariableNameNotFound, Node Id: a, Description: Variable [nope] not found on node [a]." in found


def test_missing_task() -> None:
    found = errors_of(workflow([node("a", "missing", {"x": promise("", "x")})]), [ADD])
    assert any("TaskReferenceNotFound" in e and "missing" in e for e in found), found


def test_missing_subworkflow() -> None:
    sub = wf.Node(id="s", workflow_node=wf.WorkflowNode(sub_workflow_ref=ident(identifier_pb2.WORKFLOW, "absent")))
    with pytest.raises(CompileErrors) as err:
        workflow_requirements(workflow([sub]), [])
    assert "Code: WorkflowReferenceNotFound, Node Id: s" in str(err.value)


def test_branch_without_else() -> None:
    then = node("t", "add", {"x": promise("", "x")})
    case = wf.IfBlock(
        condition=condition_pb2.BooleanExpression(
            comparison=condition_pb2.ComparisonExpression(
                left_value=condition_pb2.Operand(var="x"),
                right_value=condition_pb2.Operand(primitive=literals_pb2.Primitive(integer=1)),
            )
        ),
        then_node=then,
    )
    branch = wf.Node(
        id="b",
        inputs=[literals_pb2.Binding(var="x", binding=promise("", "x"))],
        branch_node=wf.BranchNode(if_else=wf.IfElseBlock(case=case)),
    )
    found = errors_of(workflow([branch]), [ADD])
    assert "Code: BranchNodeHasNoDefault, Node Id: b, Description: b" in found


def test_unreachable_nodes() -> None:
    # b and c only wait for each other, so nothing connects them to the start (the reference's wording).
    a = node("a", "add", {"x": promise("", "x")})
    b = node("b", "add", {"x": promise("c", "o0")})
    c = node("c", "add", {"x": promise("b", "o0")})
    found = errors_of(workflow([a, b, c]), [ADD])
    assert (
        "Code: UnreachableNodes, Node Id: start-node, Description: The Workflow contain unreachable nodes [b,c]."
        in found
    )


def test_duplicate_node_ids_first_wins() -> None:
    first = node("a", "add", {"x": promise("", "x")})
    second = node("a", "shout", {"s": promise("", "x")})  # would be a type error if it were used
    closure = compile_workflow(workflow([first, second], {"o": promise("a", "o0")}, {"o": INT}), [], [ADD, SHOUT], [])
    ids = [n.id for n in closure.primary.template.nodes]
    assert ids == ["start-node", "end-node", "a"]
    assert closure.primary.template.nodes[2].task_node.reference_id.name == "add"


def test_all_errors_are_collected() -> None:
    found = errors_of(workflow([node("a", "add", {}), node("b", "shout", {"s": promise("", "x")})]), [ADD, SHOUT])
    assert len(found) >= 2
    assert found == sorted(found, key=lambda e: (e.split(",")[0], e))
