"""Attribute paths on promises (``dc.name``, ``model.items[0]``, ``d["k"].sd``): follow a binding's
``attr_path`` into the literal a node produced.

The path first walks literal maps and collections; what is left is followed inside the value it reaches:
a msgpack binary scalar (how flytekit >= 1.14 encodes dataclasses and pydantic models) or a generic
struct (the old encoding, ``FLYTE_USE_OLD_DC_FORMAT=true``). As in the reference engine, a primitive
at the end of the path becomes a primitive literal, a list becomes a collection (of msgpack values, or
of converted struct values) and anything else - a nested dataclass, a dict, a FlyteFile, a
StructuredDataset - stays encoded as the container was, which flytekit decodes with the field's type.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgpack
from flyteidl.core import literals_pb2, types_pb2
from google.protobuf import json_format, struct_pb2

MSGPACK = "msgpack"


class PathError(Exception):
    """A path step that does not exist in the value (a missing key, an index out of range, a wrong kind)."""


def _step(attr: types_pb2.PromiseAttribute) -> str | int:
    return attr.string_value if attr.WhichOneof("value") == "string_value" else attr.int_value


def describe(path: Sequence[types_pb2.PromiseAttribute]) -> str:
    """The path as the user wrote it: ``.name[0]["k"]`` (keys of dicts and fields look alike here)."""
    return "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in map(_step, path))


def follow(literal: literals_pb2.Literal, path: Sequence[types_pb2.PromiseAttribute]) -> literals_pb2.Literal:
    """The literal at ``path`` inside ``literal``; raises PathError naming the missing step."""
    current, index = literal, 0
    while index < len(path):
        key = _step(path[index])
        if current.HasField("map"):
            if not isinstance(key, str) or key not in current.map.literals:
                raise PathError(f"key {key!r} does not exist (keys: {sorted(current.map.literals)})")
            current = current.map.literals[key]
        elif current.HasField("collection"):
            items = current.collection.literals
            if not isinstance(key, int) or not 0 <= key < len(items):
                raise PathError(f"index {key!r} is out of range of a list of {len(items)}")
            current = items[key]
        else:
            break
        index += 1
    rest = path[index:]
    if not rest:
        return current
    scalar = current.scalar if current.HasField("scalar") else None
    if scalar is not None and scalar.HasField("binary"):
        return _in_binary(scalar.binary, rest)
    if scalar is not None and scalar.HasField("generic"):
        return _to_literal(_walk(json_format.MessageToDict(scalar.generic), rest), struct=True)
    raise PathError(f"cannot follow {_step(rest[0])!r} into a value of kind {_kind(current)}")


def _kind(literal: literals_pb2.Literal) -> str:
    value = literal.WhichOneof("value") or "empty"
    if value == "scalar":
        return literal.scalar.WhichOneof("value") or "empty scalar"
    return value


def _walk(value: Any, path: Sequence[types_pb2.PromiseAttribute]) -> Any:
    for attr in path:
        key = _step(attr)
        if isinstance(value, dict):
            if not isinstance(key, str) or key not in value:
                raise PathError(f"key {key!r} does not exist (keys: {sorted(map(str, value))})")
            value = value[key]
        elif isinstance(value, list):
            if not isinstance(key, int) or not 0 <= key < len(value):
                raise PathError(f"index {key!r} is out of range of a list of {len(value)}")
            value = value[key]
        else:
            raise PathError(f"cannot follow {key!r} into a {type(value).__name__} value")
    return value


def _in_binary(binary: literals_pb2.Binary, path: Sequence[types_pb2.PromiseAttribute]) -> literals_pb2.Literal:
    if binary.tag != MSGPACK:
        raise PathError(f"unsupported serialization format {binary.tag!r} (only msgpack can be followed)")
    try:
        value = msgpack.unpackb(binary.value, strict_map_key=False)  # type: ignore[attr-defined]
    except ValueError as exc:  # msgpack's ExtraData, FormatError and StackError are ValueErrors
        raise PathError(f"the value is not valid msgpack: {exc}") from exc
    return _to_literal(_walk(value, path), struct=False)


def _to_literal(value: Any, *, struct: bool) -> literals_pb2.Literal:
    """The reached value as a literal: primitives as primitives, lists as collections, the rest encoded
    (a list's items from msgpack stay msgpack, as the reference packs them, so a map task can take them)."""
    if isinstance(value, list):
        items = [_to_literal(v, struct=True) if struct else _packed(v) for v in value]
        return literals_pb2.Literal(collection=literals_pb2.LiteralCollection(literals=items))
    primitive = _primitive(value, struct)
    if primitive is not None:
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=primitive))
    if value is None:
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(none_type=literals_pb2.Void()))
    if struct:
        if not isinstance(value, dict):
            raise PathError(f"cannot turn a {type(value).__name__} value into a literal")
        generic = struct_pb2.Struct()
        generic.update(value)
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(generic=generic))
    return _packed(value)


def _packed(value: Any) -> literals_pb2.Literal:
    packed = msgpack.packb(value)  # type: ignore[attr-defined]
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(binary=literals_pb2.Binary(value=packed, tag=MSGPACK)))


def _primitive(value: Any, struct: bool) -> literals_pb2.Primitive | None:
    if isinstance(value, bool):
        return literals_pb2.Primitive(boolean=value)
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise PathError(f"the integer {value} does not fit in 64 bits")
        return literals_pb2.Primitive(integer=value)
    if isinstance(value, float):
        if struct and value.is_integer() and abs(value) < 2**63:
            # A struct keeps every number as a float: whole numbers go back as integers (an int field needs
            # one, and flytekit's float transformer accepts one too).
            return literals_pb2.Primitive(integer=int(value))
        return literals_pb2.Primitive(float_value=value)
    if isinstance(value, str):
        return literals_pb2.Primitive(string_value=value)
    return None
