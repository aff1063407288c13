"""The launch form: widgets by literal type, defaults as text, and per-field errors on the way back."""

from __future__ import annotations

from flyteidl.core import interface_pb2, literals_pb2, types_pb2

from aerodrome.transport.http.console.forms import fields, parse

S = types_pb2.SimpleType


def _param(t: types_pb2.LiteralType, default: literals_pb2.Literal | None = None) -> interface_pb2.Parameter:
    p = interface_pb2.Parameter(var=interface_pb2.Variable(type=t))
    if default is None:
        p.required = True
    else:
        p.default.CopyFrom(default)
    return p


def _int(v: int) -> literals_pb2.Literal:
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=v)))


EXPECTED = interface_pb2.ParameterMap(
    parameters={
        "n": _param(types_pb2.LiteralType(simple=S.INTEGER)),
        "k": _param(types_pb2.LiteralType(simple=S.INTEGER), _int(3)),
        "ratio": _param(types_pb2.LiteralType(simple=S.FLOAT)),
        "flag": _param(
            types_pb2.LiteralType(simple=S.BOOLEAN),
            literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(boolean=False))),
        ),
        "when": _param(types_pb2.LiteralType(simple=S.DATETIME)),
        "color": _param(types_pb2.LiteralType(enum_type=types_pb2.EnumType(values=["red", "green"]))),
        "xs": _param(types_pb2.LiteralType(collection_type=types_pb2.LiteralType(simple=S.INTEGER))),
        "conf": _param(types_pb2.LiteralType(simple=S.STRUCT)),
        "data": _param(types_pb2.LiteralType(blob=types_pb2.BlobType())),
    }
)


def test_widgets_and_defaults() -> None:
    shown = {f.name: f for f in fields(EXPECTED)}
    assert {n: f.widget for n, f in shown.items()} == {
        "n": "int",
        "k": "int",
        "ratio": "float",
        "flag": "bool",
        "when": "datetime",
        "color": "enum",
        "xs": "json",
        "conf": "json",
        "data": "blob",
    }
    assert shown["k"].value == "3" and not shown["k"].required and shown["n"].required
    assert shown["color"].choices == ("red", "green")


def test_a_good_form_gives_typed_literals() -> None:
    form = {
        "n": "21",
        "ratio": "0.25",
        "flag": "on",
        "when": "2026-01-02T03:04:05Z",
        "color": "green",
        "xs": "[1, 2]",
        "conf": '{"a": 1}',
        "data": "s3://bucket/key",
    }
    literals, errors = parse(EXPECTED, form)
    assert errors == {}
    got = literals.literals
    assert got["n"].scalar.primitive.integer == 21 and "k" not in got  # a default left alone stays the plan's
    assert got["ratio"].scalar.primitive.float_value == 0.25 and got["flag"].scalar.primitive.boolean
    assert got["when"].scalar.primitive.datetime.ToDatetime().year == 2026
    assert [x.scalar.primitive.integer for x in got["xs"].collection.literals] == [1, 2]
    assert got["conf"].scalar.generic["a"] == 1 and got["data"].scalar.blob.uri == "s3://bucket/key"


def test_errors_are_per_field_and_readable() -> None:
    form = {
        "n": "1.5",
        "ratio": "x",
        "when": "yesterday",
        "color": "blue",
        "xs": "[1, oops]",
        "conf": "[]",
        "data": "relative/path",
    }
    _, errors = parse(EXPECTED, form)
    assert errors["n"] == "'1.5' is not an integer"
    assert errors["ratio"] == "'x' is not a number"
    assert "RFC 3339" in errors["when"]
    assert "not one of" in errors["color"]
    assert errors["xs"].startswith("not valid JSON")
    assert "JSON object" in errors["conf"]
    assert "not a URI" in errors["data"]
    assert "flag" not in errors and "k" not in errors


def test_missing_required_input() -> None:
    _, errors = parse(EXPECTED, {})
    assert errors["n"] == "required" and "k" not in errors and "flag" not in errors
