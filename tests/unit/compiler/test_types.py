"""Literal-type compatibility as the reference decides it."""

from __future__ import annotations

import pytest
from flyteidl.core import literals_pb2, types_pb2
from google.protobuf import struct_pb2

from aerodrome.compiler import is_castable, literal_type_of

T = types_pb2.LiteralType
INT, FLOAT, STR, NONE, STRUCT = (
    T(simple=s) for s in (types_pb2.INTEGER, types_pb2.FLOAT, types_pb2.STRING, types_pb2.NONE, types_pb2.STRUCT)
)


def coll(t: types_pb2.LiteralType) -> types_pb2.LiteralType:
    return T(collection_type=t)


def union(*ts: types_pb2.LiteralType) -> types_pb2.LiteralType:
    return T(union_type=types_pb2.UnionType(variants=list(ts)))


def blob(fmt: str, dim: int = 0) -> types_pb2.LiteralType:
    return T(blob=types_pb2.BlobType(format=fmt, dimensionality=dim))


def sd(fmt: str, *cols: tuple[str, types_pb2.LiteralType]) -> types_pb2.LiteralType:
    return T(
        structured_dataset_type=types_pb2.StructuredDatasetType(
            format=fmt, columns=[types_pb2.StructuredDatasetType.DatasetColumn(name=n, literal_type=t) for n, t in cols]
        )
    )


ENUM = T(enum_type=types_pb2.EnumType(values=["a", "b"]))


@pytest.mark.parametrize(
    ("up", "down", "ok"),
    [
        (INT, INT, True),
        (INT, FLOAT, False),
        (NONE, INT, False),
        (NONE, NONE, True),
        (coll(INT), coll(INT), True),
        (coll(NONE), coll(STR), True),
        (coll(INT), coll(STR), False),
        (T(map_value_type=INT), T(map_value_type=INT), True),
        (T(map_value_type=INT), T(map_value_type=STR), False),
        (blob("csv"), blob("csv"), True),
        (blob(""), blob("csv"), True),
        (blob("csv"), blob("parquet"), False),
        (blob("csv", 0), blob("csv", 1), True),
        (T(schema=types_pb2.SchemaType()), T(schema=types_pb2.SchemaType()), True),
        (sd("parquet"), sd(""), True),
        (sd("csv"), sd("parquet"), False),
        (NONE, sd("parquet"), True),
        (sd("", ("a", INT)), sd("", ("a", INT)), True),
        (sd("", ("a", INT)), sd("", ("b", INT)), False),
        (ENUM, STR, True),
        (STR, ENUM, True),
        (ENUM, T(enum_type=types_pb2.EnumType(values=["a"])), False),
        (INT, union(INT, NONE), True),
        (NONE, union(INT, NONE), True),
        (STR, union(INT, NONE), False),
        (INT, union(INT, INT), False),
        (union(INT), INT, True),
        (union(INT, NONE), union(INT, NONE, STR), True),
        (STRUCT, STRUCT, True),
        (
            T(simple=types_pb2.STRUCT, metadata=struct_pb2.Struct(fields={"a": struct_pb2.Value(string_value="x")})),
            T(simple=types_pb2.STRUCT),
            True,
        ),
    ],
)
def test_castability(up: types_pb2.LiteralType, down: types_pb2.LiteralType, ok: bool) -> None:
    assert is_castable(up, down) is ok


def lit(**primitive: object) -> literals_pb2.Literal:
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(**primitive)))


def test_inference() -> None:
    assert literal_type_of(lit(integer=1)) == INT
    assert literal_type_of(literals_pb2.Literal(collection=literals_pb2.LiteralCollection())) == coll(NONE)
    mixed = literals_pb2.Literal(
        collection=literals_pb2.LiteralCollection(literals=[lit(integer=1), lit(string_value="x")])
    )
    assert literal_type_of(mixed).collection_type.HasField("union_type")
    msgpack = literals_pb2.Literal(scalar=literals_pb2.Scalar(binary=literals_pb2.Binary(value=b"\x80", tag="msgpack")))
    assert literal_type_of(msgpack) == STRUCT
    raw = literals_pb2.Literal(scalar=literals_pb2.Scalar(binary=literals_pb2.Binary(value=b"x", tag="")))
    assert literal_type_of(raw) == T(simple=types_pb2.BINARY)
    none = literals_pb2.Literal(scalar=literals_pb2.Scalar(none_type=literals_pb2.Void()))
    assert is_castable(literal_type_of(none), union(INT, NONE))
