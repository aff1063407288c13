"""The launch form: one field per input of a launch plan's interface, parsed back into a LiteralMap.

A field's widget follows its literal type: number boxes for int/float (the browser checks them before
sending), a checkbox for bool, a select for an enum, date-time and seconds for datetime/duration, a URI
for files and directories, and JSON for lists, dicts and dataclasses. The server parses every field again
(through the same JSON-to-literal rules as ``aerodrome launch --inputs``) and reports errors per field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flyteidl.core import interface_pb2, literals_pb2, types_pb2
from google.protobuf import json_format

from aerodrome.compiler.types import describe
from aerodrome.errors import InvalidArgument
from aerodrome.managers.json_inputs import to_literal

Simple = types_pb2.SimpleType


@dataclass(frozen=True)
class Field:
    name: str
    widget: str  # int, float, str, bool, datetime, duration, enum, json, blob
    type_text: str
    value: str
    required: bool
    choices: tuple[str, ...] = ()
    error: str = ""
    description: str = ""


def widget_of(t: types_pb2.LiteralType) -> str:
    kind = t.WhichOneof("type")
    if kind == "simple":
        return {
            Simple.INTEGER: "int",
            Simple.FLOAT: "float",
            Simple.STRING: "str",
            Simple.BOOLEAN: "bool",
            Simple.DATETIME: "datetime",
            Simple.DURATION: "duration",
        }.get(t.simple, "json")
    if kind == "enum_type":
        return "enum"
    if kind == "blob":
        return "blob"
    if kind == "union_type":
        real = [v for v in t.union_type.variants if v.WhichOneof("type") != "simple" or v.simple != Simple.NONE]
        return widget_of(real[0]) if len(real) == 1 else "json"
    return "json"


def _default_text(widget: str, literal: literals_pb2.Literal) -> str:
    """A default as the text the field starts with."""
    which = literal.WhichOneof("value")
    if which == "scalar":
        s = literal.scalar
        kind = s.WhichOneof("value")
        if kind == "union":
            return _default_text(widget, s.union.value)
        if kind == "blob":
            return s.blob.uri
        if kind == "generic":
            return json.dumps(json_format.MessageToDict(s.generic))
        if kind == "primitive":
            p = s.primitive
            v = p.WhichOneof("value")
            if v == "datetime":
                return p.datetime.ToDatetime().strftime("%Y-%m-%dT%H:%M:%S")
            if v == "duration":
                return str(p.duration.ToTimedelta().total_seconds())
            if v == "boolean":
                return "true" if p.boolean else ""
            return str(getattr(p, v)) if v else ""
    if which in ("collection", "map"):
        return json.dumps(_plain(literal))
    return ""


def _plain(literal: literals_pb2.Literal) -> Any:
    which = literal.WhichOneof("value")
    if which == "collection":
        return [_plain(v) for v in literal.collection.literals]
    if which == "map":
        return {k: _plain(v) for k, v in literal.map.literals.items()}
    text = _default_text("", literal)
    p = literal.scalar.primitive
    kind = p.WhichOneof("value")
    if kind in ("integer", "float_value", "boolean"):
        return getattr(p, kind)
    return text


def fields(
    expected: interface_pb2.ParameterMap,
    given: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> list[Field]:
    """The form's fields in name order, with defaults (or the values just submitted) filled in."""
    out = []
    for name in sorted(expected.parameters):
        param = expected.parameters[name]
        t = param.var.type
        widget = widget_of(t)
        value = given[name] if given is not None and name in given else _default_text(widget, param.default)
        choices = tuple(t.enum_type.values) if widget == "enum" else ()
        out.append(
            Field(
                name,
                widget,
                type_name(t),
                value,
                param.required,
                choices,
                (errors or {}).get(name, ""),
                param.var.description,
            )
        )
    return out


def value_of(widget: str, text: str) -> Any:
    """The JSON value a field's text stands for (``ValueError`` with a reader's message when it cannot)."""
    if widget == "int":
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not an integer") from None
    if widget == "float":
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
    if widget == "duration":
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number of seconds") from None
    if widget == "datetime":
        return text if ("+" in text[10:] or text.endswith("Z")) else text + "+00:00"
    if widget == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    return text


def _blob(t: types_pb2.LiteralType, uri: str) -> literals_pb2.Literal:
    if "://" not in uri and not uri.startswith("/"):
        raise ValueError(f"{uri!r} is not a URI (s3://…, file://… or an absolute path)")
    blob = literals_pb2.Blob(metadata=literals_pb2.BlobMetadata(type=t.blob), uri=uri)
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(blob=blob))


def parse(
    expected: interface_pb2.ParameterMap, form: Mapping[str, str]
) -> tuple[literals_pb2.LiteralMap, dict[str, str]]:
    """The inputs the form gives, and an error per field that could not be read (empty when all could)."""
    literals: dict[str, literals_pb2.Literal] = {}
    errors: dict[str, str] = {}
    for name, param in expected.parameters.items():
        t = param.var.type
        widget = widget_of(t)
        text = form.get(name, "")
        if widget == "bool":
            text = "true" if text in ("on", "true", "1") else "false"
        if text.strip() == "":
            if param.required and not param.HasField("default"):
                errors[name] = "required"
            continue
        try:
            if widget == "blob":
                literals[name] = _blob(t, text.strip())
            elif widget == "bool":
                literals[name] = to_literal(t, text == "true", name)
            else:
                literals[name] = to_literal(_unwrapped(t), value_of(widget, text.strip()), name)
        except (ValueError, InvalidArgument) as exc:
            errors[name] = str(exc).removeprefix(f"input {name}: ")
    return literals_pb2.LiteralMap(literals=literals), errors


def _unwrapped(t: types_pb2.LiteralType) -> types_pb2.LiteralType:
    """An Optional[T]'s T (a filled field gives the value, not None)."""
    if t.WhichOneof("type") == "union_type":
        real = [v for v in t.union_type.variants if v.WhichOneof("type") != "simple" or v.simple != Simple.NONE]
        if len(real) == 1:
            return real[0]
    return t


SIMPLE_NAMES = {
    Simple.NONE: "None",
    Simple.INTEGER: "int",
    Simple.FLOAT: "float",
    Simple.STRING: "str",
    Simple.BOOLEAN: "bool",
    Simple.DATETIME: "datetime",
    Simple.DURATION: "timedelta",
    Simple.BINARY: "bytes",
    Simple.ERROR: "error",
    Simple.STRUCT: "dict (JSON)",
}


def type_name(t: types_pb2.LiteralType) -> str:
    """A literal type as a Python user writes it: ``list[int]``, ``dict[str, float]``, ``int | None``."""
    kind = t.WhichOneof("type")
    if kind == "simple":
        return SIMPLE_NAMES.get(t.simple, describe(t))
    if kind == "collection_type":
        return f"list[{type_name(t.collection_type)}]"
    if kind == "map_value_type":
        return f"dict[str, {type_name(t.map_value_type)}]"
    if kind == "enum_type":
        return "enum (" + " | ".join(t.enum_type.values) + ")"
    if kind == "blob":
        return "FlyteDirectory" if t.blob.dimensionality == types_pb2.BlobType.MULTIPART else "FlyteFile"
    if kind == "union_type":
        return " | ".join(type_name(v) for v in t.union_type.variants)
    if kind in ("structured_dataset_type", "schema"):
        return "StructuredDataset"
    return describe(t)
