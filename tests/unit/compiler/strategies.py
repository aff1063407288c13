"""Hypothesis strategies for flyteidl types, literals, bindings and whole (mostly invalid) workflows.

Names are drawn from small pools so that references often resolve (and sometimes do not): a fuzzer
that only ever produced dangling references would test the first check and nothing behind it.
"""

from __future__ import annotations

from flyteidl.core import (
    compiler_pb2,
    condition_pb2,
    identifier_pb2,
    interface_pb2,
    literals_pb2,
    tasks_pb2,
    types_pb2,
)
from flyteidl.core import workflow_pb2 as wf
from hypothesis import strategies as st

from aerodrome.compiler import compile_task

NODE_IDS = ["n0", "n1", "n2", "n3", "start-node", "end-node", "", "n 1"]
VARS = ["x", "y", "o0", "o1", "", "a.b"]
TASK_NAMES = ["t0", "t1", "t2", "missing"]
SIMPLE = list(types_pb2.SimpleType.values())

names = st.sampled_from(VARS)
node_ids = st.sampled_from(NODE_IDS)

literal_types: st.SearchStrategy[types_pb2.LiteralType] = st.recursive(
    st.one_of(
        st.builds(lambda s: types_pb2.LiteralType(simple=s), st.sampled_from(SIMPLE)),
        st.builds(
            lambda v: types_pb2.LiteralType(enum_type=types_pb2.EnumType(values=v)),
            st.lists(st.text(max_size=3), max_size=3),
        ),
        st.builds(
            lambda d, f: types_pb2.LiteralType(blob=types_pb2.BlobType(dimensionality=d, format=f)),
            st.sampled_from([0, 1, 7]),
            st.sampled_from(["", "csv"]),
        ),
        st.just(types_pb2.LiteralType(structured_dataset_type=types_pb2.StructuredDatasetType(format="parquet"))),
        st.just(types_pb2.LiteralType(schema=types_pb2.SchemaType())),
        st.just(types_pb2.LiteralType()),
    ),
    lambda inner: st.one_of(
        st.builds(lambda t: types_pb2.LiteralType(collection_type=t), inner),
        st.builds(lambda t: types_pb2.LiteralType(map_value_type=t), inner),
        st.builds(
            lambda ts: types_pb2.LiteralType(union_type=types_pb2.UnionType(variants=ts)), st.lists(inner, max_size=3)
        ),
    ),
    max_leaves=4,
)

primitives = st.one_of(
    st.builds(lambda v: literals_pb2.Primitive(integer=v), st.integers(-(2**63), 2**63 - 1)),
    st.builds(lambda v: literals_pb2.Primitive(float_value=v), st.floats()),
    st.builds(lambda v: literals_pb2.Primitive(string_value=v), st.text(max_size=5)),
    st.builds(lambda v: literals_pb2.Primitive(boolean=v), st.booleans()),
    st.just(literals_pb2.Primitive()),
)
scalars = st.one_of(
    st.builds(lambda p: literals_pb2.Scalar(primitive=p), primitives),
    st.just(literals_pb2.Scalar(none_type=literals_pb2.Void())),
    st.just(literals_pb2.Scalar(blob=literals_pb2.Blob(uri="s3://b/k"))),
    st.builds(lambda b: literals_pb2.Scalar(binary=literals_pb2.Binary(value=b, tag="msgpack")), st.binary(max_size=8)),
    st.just(literals_pb2.Scalar()),
)

literals: st.SearchStrategy[literals_pb2.Literal] = st.recursive(
    st.builds(lambda s: literals_pb2.Literal(scalar=s), scalars),
    lambda inner: st.one_of(
        st.builds(
            lambda ls: literals_pb2.Literal(collection=literals_pb2.LiteralCollection(literals=ls)),
            st.lists(inner, max_size=3),
        ),
        st.builds(
            lambda m: literals_pb2.Literal(map=literals_pb2.LiteralMap(literals=m)),
            st.dictionaries(names, inner, max_size=3),
        ),
        st.builds(
            lambda v, t: literals_pb2.Literal(scalar=literals_pb2.Scalar(union=literals_pb2.Union(value=v, type=t))),
            inner,
            literal_types,
        ),
    ),
    max_leaves=6,
)

attr_paths = st.lists(
    st.one_of(
        st.builds(lambda s: types_pb2.PromiseAttribute(string_value=s), names),
        st.builds(lambda i: types_pb2.PromiseAttribute(int_value=i), st.integers(-1, 3)),
    ),
    max_size=2,
)
promises = st.builds(
    lambda n, v, p: literals_pb2.BindingData(promise=types_pb2.OutputReference(node_id=n, var=v, attr_path=p)),
    node_ids,
    names,
    attr_paths,
)
binding_data: st.SearchStrategy[literals_pb2.BindingData] = st.recursive(
    st.one_of(
        promises, st.builds(lambda s: literals_pb2.BindingData(scalar=s), scalars), st.just(literals_pb2.BindingData())
    ),
    lambda inner: st.one_of(
        st.builds(
            lambda bs: literals_pb2.BindingData(collection=literals_pb2.BindingDataCollection(bindings=bs)),
            st.lists(inner, max_size=3),
        ),
        st.builds(
            lambda m: literals_pb2.BindingData(map=literals_pb2.BindingDataMap(bindings=m)),
            st.dictionaries(names, inner, max_size=3),
        ),
        st.builds(
            lambda v, t: (
                literals_pb2.BindingData(union=literals_pb2.UnionInfo(targetType=t))
                if v
                else literals_pb2.BindingData(union=literals_pb2.UnionInfo())
            ),
            st.booleans(),
            literal_types,
        ),
    ),
    max_leaves=3,
)
bindings = st.lists(st.builds(lambda v, b: literals_pb2.Binding(var=v, binding=b), names, binding_data), max_size=2)
variable_maps = st.builds(
    lambda d: interface_pb2.VariableMap(variables={k: interface_pb2.Variable(type=t) for k, t in d.items()}),
    st.dictionaries(names, literal_types, max_size=2),
)
interfaces = st.builds(lambda i, o: interface_pb2.TypedInterface(inputs=i, outputs=o), variable_maps, variable_maps)


def ident(kind: int, name: str) -> identifier_pb2.Identifier:
    return identifier_pb2.Identifier(resource_type=kind, project="p", domain="d", name=name, version="v")


@st.composite
def compiled_tasks(draw: st.DrawFn, name: str) -> compiler_pb2.CompiledTask:
    template = tasks_pb2.TaskTemplate(
        id=ident(identifier_pb2.TASK, name),
        type="python-task",
        interface=draw(interfaces),
        container=tasks_pb2.Container(image="i", args=["run"]),
    )
    return compile_task(template)


operands = st.one_of(
    st.builds(lambda v: condition_pb2.Operand(var=v), st.sampled_from(["x", "n0.o0", "", ".o0"])),
    st.builds(lambda p: condition_pb2.Operand(primitive=p), primitives),
    st.builds(lambda s: condition_pb2.Operand(scalar=s), scalars),
)
comparisons = st.builds(
    lambda op, left, right: condition_pb2.BooleanExpression(
        comparison=condition_pb2.ComparisonExpression(operator=op, left_value=left, right_value=right)
    ),
    st.sampled_from(list(condition_pb2.ComparisonExpression.Operator.values())),
    operands,
    operands,
)
conditions = st.recursive(
    comparisons,
    lambda inner: st.builds(
        lambda op, a, b: condition_pb2.BooleanExpression(
            conjunction=condition_pb2.ConjunctionExpression(operator=op, left_expression=a, right_expression=b)
        ),
        st.sampled_from(list(condition_pb2.ConjunctionExpression.LogicalOperator.values())),
        inner,
        inner,
    ),
    max_leaves=3,
)


def _target(kind: str, draw: st.DrawFn, depth: int) -> dict[str, object]:
    if kind == "task":
        return {"task_node": wf.TaskNode(reference_id=ident(identifier_pb2.TASK, draw(st.sampled_from(TASK_NAMES))))}
    if kind == "sub":
        return {
            "workflow_node": wf.WorkflowNode(
                sub_workflow_ref=ident(identifier_pb2.WORKFLOW, draw(st.sampled_from(["sub", "w", "nope"])))
            )
        }
    if kind == "lp":
        return {"workflow_node": wf.WorkflowNode(launchplan_ref=ident(identifier_pb2.LAUNCH_PLAN, "lp"))}
    if kind == "gate":
        gate = draw(
            st.sampled_from(
                [
                    wf.GateNode(approve=wf.ApproveCondition(signal_id="s")),
                    wf.GateNode(
                        signal=wf.SignalCondition(
                            signal_id="s", type=draw(literal_types), output_variable_name=draw(names)
                        )
                    ),
                    wf.GateNode(sleep=wf.SleepCondition()),
                    wf.GateNode(),
                ]
            )
        )
        return {"gate_node": gate}
    if kind == "array" and depth < 2:
        return {"array_node": wf.ArrayNode(node=draw(nodes(depth + 1)), parallelism=draw(st.integers(0, 3)))}
    if kind == "branch" and depth < 2:
        case = wf.IfBlock(condition=draw(conditions), then_node=draw(nodes(depth + 1)))
        other = draw(
            st.lists(
                st.builds(lambda c, n: wf.IfBlock(condition=c, then_node=n), conditions, nodes(depth + 1)), max_size=1
            )
        )
        block = wf.IfElseBlock(case=case, other=other)
        if draw(st.booleans()):
            block.else_node.CopyFrom(draw(nodes(depth + 1)))
        else:
            block.error.CopyFrom(types_pb2.Error(failed_node_id="x", message="m"))
        return {"branch_node": wf.BranchNode(if_else=block)}
    return {}


@st.composite
def nodes(draw: st.DrawFn, depth: int = 0) -> wf.Node:
    kind = draw(st.sampled_from(["task", "task", "task", "sub", "lp", "gate", "array", "branch", "none"]))
    return wf.Node(
        id=draw(node_ids),
        inputs=draw(bindings),
        upstream_node_ids=draw(st.lists(node_ids, max_size=3)),
        output_aliases=draw(st.lists(st.builds(lambda v, a: wf.Alias(var=v, alias=a), names, names), max_size=1)),
        **_target(kind, draw, depth),  # type: ignore[arg-type]
    )


@st.composite
def templates(draw: st.DrawFn, name: str) -> wf.WorkflowTemplate:
    return wf.WorkflowTemplate(
        id=ident(identifier_pb2.WORKFLOW, name),
        interface=draw(interfaces),
        nodes=draw(st.lists(nodes(), max_size=4)),
        outputs=draw(bindings),
    )
