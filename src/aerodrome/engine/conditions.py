"""Branch conditions over literals, evaluated as propeller evaluates them (no I/O).

Only primitives compare, and only with the same kind: an integer against a float is an error, not a
coercion. Datetimes and durations compare whole seconds. ``AND``/``OR`` evaluate both sides, so an
error on either side fails the branch. ``None`` (from ``is_none()``) is equal only to ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping

from flyteidl.core import condition_pb2, literals_pb2, workflow_pb2

Op = condition_pb2.ComparisonExpression


class ConditionError(Exception):
    """The condition cannot be evaluated; ``code`` is the error code the node fails with."""

    def __init__(self, message: str, code: str = "MalformedBranchUserError") -> None:
        super().__init__(message)
        self.code = code


def _operand(operand: condition_pb2.Operand, inputs: Mapping[str, literals_pb2.Literal], side: str) -> object:
    kind = operand.WhichOneof("val")
    if kind == "primitive":
        return operand.primitive
    if kind == "scalar":
        if operand.scalar.HasField("none_type"):
            return None
        if operand.scalar.HasField("primitive"):
            return operand.scalar.primitive
        raise ConditionError(f"Only primitives can be compared. {side} Variable is non primitive.")
    literal = inputs.get(operand.var)
    if literal is None:
        raise ConditionError(f"Failed to find Value for Variable [{operand.var}]")
    scalar = literal.scalar
    if scalar.HasField("none_type"):
        return None
    if scalar.HasField("union") and scalar.union.value.scalar.HasField("primitive"):
        return scalar.union.value.scalar.primitive
    if scalar.HasField("union") and scalar.union.value.scalar.HasField("none_type"):
        return None
    if not scalar.HasField("primitive"):
        raise ConditionError(f"Only primitives can be compared. {side} Variable is non primitive.")
    return scalar.primitive


def _value(primitive: literals_pb2.Primitive) -> tuple[str, object]:
    kind = primitive.WhichOneof("value") or ""
    if kind == "datetime":
        return kind, primitive.datetime.seconds
    if kind == "duration":
        return kind, primitive.duration.seconds
    return kind, getattr(primitive, kind) if kind else None


def compare(expr: condition_pb2.ComparisonExpression, inputs: Mapping[str, literals_pb2.Literal]) -> bool:
    left = _operand(expr.left_value, inputs, "LHS")
    right = _operand(expr.right_value, inputs, "RHS")
    if left is None or right is None:
        if expr.operator == Op.EQ:
            return left is None and right is None
        if expr.operator == Op.NEQ:
            return not (left is None and right is None)
        raise ConditionError(f"[{Op.Operator.Name(expr.operator)}] is not defined for None operands.")
    assert isinstance(left, literals_pb2.Primitive) and isinstance(right, literals_pb2.Primitive)
    (lkind, lval), (rkind, rval) = _value(left), _value(right)
    if lkind != rkind:
        raise ConditionError(f"Comparison between different primitives types. lVal[{lval}]:rVal[{rval}]")
    if expr.operator == Op.EQ:
        return bool(lval == rval)
    if expr.operator == Op.NEQ:
        return bool(lval != rval)
    if lkind == "boolean":
        raise ConditionError(f"[{Op.Operator.Name(expr.operator)}] not defined for boolean operands.")
    greater = bool(lval > rval)  # type: ignore[operator]
    equal = bool(lval == rval)
    return {Op.GT: greater, Op.GTE: greater or equal, Op.LT: not (greater or equal), Op.LTE: not greater}[expr.operator]


def evaluate(expr: condition_pb2.BooleanExpression, inputs: Mapping[str, literals_pb2.Literal]) -> bool:
    if expr.HasField("comparison"):
        return compare(expr.comparison, inputs)
    conj = expr.conjunction
    left, right = evaluate(conj.left_expression, inputs), evaluate(conj.right_expression, inputs)
    return (left and right) if conj.operator == condition_pb2.ConjunctionExpression.AND else (left or right)


def choose(branch: workflow_pb2.BranchNode, inputs: Mapping[str, literals_pb2.Literal]) -> workflow_pb2.Node:
    """The node a branch takes: the first true case, else the else node; raises ConditionError otherwise."""
    if_else = branch.if_else
    for case in [if_else.case, *if_else.other]:
        if evaluate(case.condition, inputs):
            return case.then_node
    if if_else.HasField("else_node"):
        return if_else.else_node
    if if_else.HasField("error"):
        raise ConditionError(if_else.error.message, code="UserProvidedError")
    raise ConditionError("No branch satisfied")
