"""Branch conditions: operators per primitive kind, conjunctions, and the reference's errors."""

from __future__ import annotations

import pytest
from flyteidl.core import condition_pb2, literals_pb2, workflow_pb2
from google.protobuf import timestamp_pb2

from aerodrome.engine.conditions import ConditionError, choose, compare, evaluate

Op = condition_pb2.ComparisonExpression


def prim(**value: object) -> literals_pb2.Primitive:
    return literals_pb2.Primitive(**value)  # type: ignore[arg-type]


def lit(**value: object) -> literals_pb2.Literal:
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=prim(**value)))


def cmp(op: int, left: condition_pb2.Operand, right: condition_pb2.Operand) -> condition_pb2.ComparisonExpression:
    return condition_pb2.ComparisonExpression(operator=op, left_value=left, right_value=right)  # type: ignore[arg-type]


def var(name: str) -> condition_pb2.Operand:
    return condition_pb2.Operand(var=name)


def const(**value: object) -> condition_pb2.Operand:
    return condition_pb2.Operand(primitive=prim(**value))


@pytest.mark.parametrize(
    ("op", "left", "right", "expected"),
    [
        (Op.GT, 3, 2, True),
        (Op.GT, 2, 2, False),
        (Op.GTE, 2, 2, True),
        (Op.LT, 1, 2, True),
        (Op.LT, 2, 2, False),
        (Op.LTE, 2, 2, True),
        (Op.EQ, 2, 2, True),
        (Op.NEQ, 2, 2, False),
    ],
)
def test_integer_operators(op: int, left: int, right: int, expected: bool) -> None:
    assert compare(cmp(op, var("x"), const(integer=right)), {"x": lit(integer=left)}) is expected


def test_strings_compare_lexicographically_and_datetimes_by_seconds() -> None:
    assert compare(cmp(Op.LT, const(string_value="abc"), const(string_value="abd")), {})
    early = timestamp_pb2.Timestamp(seconds=10, nanos=5)
    late = timestamp_pb2.Timestamp(seconds=10, nanos=900)
    assert compare(cmp(Op.EQ, const(datetime=early), const(datetime=late)), {})


def test_mixed_kinds_booleans_and_missing_variables_are_errors() -> None:
    with pytest.raises(ConditionError, match="different primitives types"):
        compare(cmp(Op.EQ, const(integer=1), const(float_value=1.0)), {})
    with pytest.raises(ConditionError, match=r"\[GT\] not defined for boolean"):
        compare(cmp(Op.GT, const(boolean=True), const(boolean=False)), {})
    with pytest.raises(ConditionError, match=r"Failed to find Value for Variable \[y\]"):
        compare(cmp(Op.EQ, var("y"), const(integer=1)), {})


def test_none_equals_only_none() -> None:
    none = literals_pb2.Literal(scalar=literals_pb2.Scalar(none_type=literals_pb2.Void()))
    is_none = cmp(Op.EQ, var("x"), condition_pb2.Operand(scalar=literals_pb2.Scalar(none_type=literals_pb2.Void())))
    assert compare(is_none, {"x": none})
    assert not compare(is_none, {"x": lit(integer=0)})


def test_conjunctions_evaluate_both_sides() -> None:
    true = condition_pb2.BooleanExpression(comparison=cmp(Op.EQ, const(integer=1), const(integer=1)))
    broken = condition_pb2.BooleanExpression(comparison=cmp(Op.EQ, var("missing"), const(integer=1)))
    either = condition_pb2.BooleanExpression(
        conjunction=condition_pb2.ConjunctionExpression(
            operator=condition_pb2.ConjunctionExpression.OR, left_expression=true, right_expression=broken
        )
    )
    with pytest.raises(ConditionError):  # no short-circuit
        evaluate(either, {})


def test_choose_takes_the_first_true_case_then_else_then_error() -> None:
    def case(value: int, then: str) -> workflow_pb2.IfBlock:
        condition = condition_pb2.BooleanExpression(comparison=cmp(Op.GT, var("x"), const(integer=value)))
        return workflow_pb2.IfBlock(condition=condition, then_node=workflow_pb2.Node(id=then))

    branch = workflow_pb2.BranchNode(
        if_else=workflow_pb2.IfElseBlock(
            case=case(10, "big"), other=[case(0, "positive")], else_node=workflow_pb2.Node(id="rest")
        )
    )
    assert choose(branch, {"x": lit(integer=11)}).id == "big"
    assert choose(branch, {"x": lit(integer=5)}).id == "positive"
    assert choose(branch, {"x": lit(integer=-5)}).id == "rest"
    branch.if_else.ClearField("else_node")
    branch.if_else.error.message = "must be positive"
    with pytest.raises(ConditionError, match="must be positive") as failed:
        choose(branch, {"x": lit(integer=-5)})
    assert failed.value.code == "UserProvidedError"
