"""Binding resolution: turn a node's bindings and its upstream outputs into the node's input literals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flyteidl.core import literals_pb2

from aerodrome.engine.attributes import PathError, describe, follow
from aerodrome.engine.plan import START


class BindingError(Exception):
    """A binding cannot be resolved (a missing upstream output or attribute)."""


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
        literal = produced.literals[data.promise.var]
        if data.promise.attr_path:
            try:
                literal = follow(literal, data.promise.attr_path)
            except PathError as exc:
                where = f"{data.promise.var}{describe(data.promise.attr_path)}"
                raise BindingError(f"cannot resolve {where} of node {source!r}: {exc}") from exc
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
