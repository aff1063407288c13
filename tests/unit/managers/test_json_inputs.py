"""JSON inputs for ``products start`` and ``aerodrome launch`` against a launch plan's interface."""

from __future__ import annotations

import pytest
from flyteidl.core import interface_pb2, types_pb2

from aerodrome.errors import InvalidArgument
from aerodrome.managers.json_inputs import inputs_from_json

S = types_pb2.SimpleType


def interface(**types: types_pb2.LiteralType) -> interface_pb2.ParameterMap:
    return interface_pb2.ParameterMap(
        parameters={k: interface_pb2.Parameter(var=interface_pb2.Variable(type=t)) for k, t in types.items()}
    )


def simple(kind: int) -> types_pb2.LiteralType:
    return types_pb2.LiteralType(simple=kind)  # type: ignore[arg-type]


EXPECTED = interface(
    n=simple(S.INTEGER),
    x=simple(S.FLOAT),
    s=simple(S.STRING),
    b=simple(S.BOOLEAN),
    when=simple(S.DATETIME),
    names=types_pb2.LiteralType(collection_type=simple(S.STRING)),
    scores=types_pb2.LiteralType(map_value_type=simple(S.INTEGER)),
    extra=simple(S.STRUCT),
)


def test_every_json_shape_converts() -> None:
    literals = inputs_from_json(
        {
            "n": 3,
            "x": 2,
            "s": "ops",
            "b": True,
            "when": "2026-01-02T03:04:05Z",
            "names": ["a", "b"],
            "scores": {"a": 1},
            "extra": {"k": [1, "v"]},
        },
        EXPECTED,
    ).literals
    assert literals["n"].scalar.primitive.integer == 3
    assert literals["x"].scalar.primitive.float_value == 2.0
    assert literals["s"].scalar.primitive.string_value == "ops"
    assert literals["b"].scalar.primitive.boolean is True
    assert literals["when"].scalar.primitive.datetime.ToDatetime().year == 2026
    assert [v.scalar.primitive.string_value for v in literals["names"].collection.literals] == ["a", "b"]
    assert literals["scores"].map.literals["a"].scalar.primitive.integer == 1
    assert literals["extra"].scalar.generic["k"][1] == "v"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"n": "3"}, "input n: '3' is not a integer"),
        ({"n": True}, "input n: True is not a integer"),
        ({"names": ["a", 1]}, r"input names\[1\]: 1 is not a string"),
        ({"when": "yesterday"}, "not an RFC 3339 datetime"),
        ({"other": 1}, r"unknown input\(s\) other"),
        ([1], "inputs must be a JSON object"),
    ],
)
def test_wrong_values_name_the_input(document: object, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        inputs_from_json(document, EXPECTED)
