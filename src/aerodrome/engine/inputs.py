"""Binding resolution: turn a node's bindings and its upstream outputs into the node's input literals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flyteidl.core import literals_pb2, types_pb2

from aerodrome.engine.plan import START


class BindingError(Exception):
    """A binding cannot be resolved (a missing upstream output or attribute)."""


def _attribute(literal: literals_pb2.Literal, path: Sequence[types_pb2.PromiseAttribute]) -> literals_pb2.Literal:
    """Follow ``attr_path`` through maps, collections and generic structs."""
    current = literal
    for step in path:
        key = step.string_value if step.WhichOneof("value") == "string_value" else step.int_value
        if current.HasField("map") and isinstance(key, str):
            if key not in current.map.literals:
                raise BindingError(f"attribute {key!r} not found")
            current = current.map.literals[key]
        elif current.HasField("collection") and isinstance(key, int):
            if key >= len(current.collection.literals):
                raise BindingError(f"index {key} out of range")
            current = current.collection.literals[key]
        elif current.HasField("scalar") and current.scalar.HasField("generic"):
            value = current.scalar.generic.fields.get(str(key)) if isinstance(key, str) else None
            if value is None:
                raise BindingError(f"attribute {key!r} not found")
            current = _from_struct_value(value)
        else:
            raise BindingError(f"cannot resolve attribute {key!r} on this literal")
    return current


def _from_struct_value(value: object) -> literals_pb2.Literal:
    from google.protobuf import struct_pb2

    assert isinstance(value, struct_pb2.Value)
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return literals_pb2.Literal(
            scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(string_value=value.string_value))
        )
    if kind == "bool_value":
        return literals_pb2.Literal(
            scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(boolean=value.bool_value))
        )
    if kind == "number_value":
        number = value.number_value
        primitive = (
            literals_pb2.Primitive(integer=int(number))
            if number.is_integer()
            else literals_pb2.Primitive(float_value=number)
        )
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=primitive))
    if kind == "struct_value":
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(generic=value.struct_value))
    if kind == "null_value":
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(none_type=literals_pb2.Void()))
    raise BindingError(f"unsupported struct value {kind}")


def literal_of(data: literals_pb2.BindingData, outputs: Mapping[str, literals_pb2.LiteralMap]) -> literals_pb2.Literal:
    """The literal a binding stands for."""
    kind = data.WhichOneof("value")
    if kind == "scalar":
        literal = literals_pb2.Literal(scalar=data.scalar)
    elif kind == "collection":
        literal = literals_pb2.Literal(
            collection=literals_pb2.LiteralCollection(
                literals=[literal_of(b, outputs) for b in data.collection.bindings]
            )
        )
    elif kind == "map":
        literal = literals_pb2.Literal(
            map=literals_pb2.LiteralMap(literals={k: literal_of(b, outputs) for k, b in data.map.bindings.items()})
        )
    elif kind == "promise":
        source = data.promise.node_id or START
        produced = outputs.get(source)
        if produced is None or data.promise.var not in produced.literals:
            raise BindingError(f"output {data.promise.var!r} of node {source!r} is not available")
        literal = _attribute(produced.literals[data.promise.var], data.promise.attr_path)
    elif kind == "offloaded_metadata":
        literal = literals_pb2.Literal(offloaded_metadata=data.offloaded_metadata)
    else:
        raise BindingError("empty binding")
    if data.HasField("union"):
        literal = literals_pb2.Literal(
            scalar=literals_pb2.Scalar(union=literals_pb2.Union(value=literal, type=data.union.targetType))
        )
    return literal


def resolve(
    bindings: Sequence[literals_pb2.Binding], outputs: Mapping[str, literals_pb2.LiteralMap]
) -> literals_pb2.LiteralMap:
    """A node's inputs (or a workflow's outputs) from its bindings."""
    return literals_pb2.LiteralMap(literals={b.var: literal_of(b.binding, outputs) for b in bindings})
