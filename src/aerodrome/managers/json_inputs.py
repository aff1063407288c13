"""Plain JSON inputs (``--inputs '{"name": "ops"}'``) turned into a LiteralMap for a launch plan's interface.

Covers what a command line can say in JSON: integers, floats, strings, booleans, datetimes (RFC 3339
strings), durations (seconds), lists, maps with string keys, and JSON objects for ``dict`` (struct)
inputs. Other types (files, dataframes, unions, enums' unknown values) are a clear error naming the input.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flyteidl.core import interface_pb2, literals_pb2, types_pb2
from google.protobuf import struct_pb2

from aerodrome.errors import InvalidArgument

SimpleType = types_pb2.SimpleType


def _primitive(simple: int, value: Any, where: str) -> literals_pb2.Primitive:
    if simple == SimpleType.INTEGER and isinstance(value, int) and not isinstance(value, bool):
        return literals_pb2.Primitive(integer=value)
    if simple == SimpleType.FLOAT and isinstance(value, int | float) and not isinstance(value, bool):
        return literals_pb2.Primitive(float_value=float(value))
    if simple == SimpleType.STRING and isinstance(value, str):
        return literals_pb2.Primitive(string_value=value)
    if simple == SimpleType.BOOLEAN and isinstance(value, bool):
        return literals_pb2.Primitive(boolean=value)
    if simple == SimpleType.DATETIME and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidArgument(f"input {where}: {value!r} is not an RFC 3339 datetime") from None
        primitive = literals_pb2.Primitive()
        primitive.datetime.FromDatetime(moment)
        return primitive
    if simple == SimpleType.DURATION and isinstance(value, int | float) and not isinstance(value, bool):
        primitive = literals_pb2.Primitive()
        primitive.duration.FromTimedelta(timedelta(seconds=value))
        return primitive
    raise InvalidArgument(f"input {where}: {value!r} is not a {SimpleType.Name(simple).lower()}")


def to_literal(literal_type: types_pb2.LiteralType, value: Any, where: str) -> literals_pb2.Literal:
    """One JSON value as a literal of ``literal_type``."""
    kind = literal_type.WhichOneof("type")
    if kind == "simple" and literal_type.simple == SimpleType.STRUCT:
        if not isinstance(value, dict):
            raise InvalidArgument(f"input {where}: expected a JSON object")
        generic = struct_pb2.Struct()
        generic.update(value)
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(generic=generic))
    if kind == "simple" and literal_type.simple == SimpleType.NONE:
        if value is not None:
            raise InvalidArgument(f"input {where}: expected null")
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(none_type=literals_pb2.Void()))
    if kind == "simple":
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=_primitive(literal_type.simple, value, where)))
    if kind == "collection_type":
        if not isinstance(value, list):
            raise InvalidArgument(f"input {where}: expected a list")
        items = [to_literal(literal_type.collection_type, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return literals_pb2.Literal(collection=literals_pb2.LiteralCollection(literals=items))
    if kind == "map_value_type":
        if not isinstance(value, dict):
            raise InvalidArgument(f"input {where}: expected a JSON object")
        entries = {k: to_literal(literal_type.map_value_type, v, f"{where}.{k}") for k, v in value.items()}
        return literals_pb2.Literal(map=literals_pb2.LiteralMap(literals=entries))
    if kind == "enum_type":
        if value not in literal_type.enum_type.values:
            raise InvalidArgument(f"input {where}: {value!r} is not one of {list(literal_type.enum_type.values)}")
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(string_value=value)))
    raise InvalidArgument(f"input {where}: its type ({kind}) cannot be given as JSON here")


def inputs_from_json(document: object, expected: interface_pb2.ParameterMap) -> literals_pb2.LiteralMap:
    """The LiteralMap for ``document`` (a JSON object); unknown input names are refused."""
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise InvalidArgument("inputs must be a JSON object of input name to value")
    unknown = sorted(set(document) - set(expected.parameters))
    if unknown:
        raise InvalidArgument(
            f"unknown input(s) {', '.join(unknown)}; the launch plan takes {', '.join(sorted(expected.parameters))}"
        )
    return literals_pb2.LiteralMap(
        literals={k: to_literal(expected.parameters[k].var.type, v, k) for k, v in document.items()}
    )
