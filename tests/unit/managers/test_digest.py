"""Canonical digests: identical means identical whatever the wire order; diffs name the field."""

from __future__ import annotations

from flyteidl.core import literals_pb2, tasks_pb2

from aerodrome.managers.digest import diff, digest


def test_digest_ignores_map_order() -> None:
    a = tasks_pb2.Container(image="i", env=[], config=[])
    a_map = literals_pb2.LiteralMap()
    b_map = literals_pb2.LiteralMap()
    one = literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=1)))
    two = literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=2)))
    a_map.literals["x"].CopyFrom(one)
    a_map.literals["y"].CopyFrom(two)
    b_map.literals["y"].CopyFrom(two)
    b_map.literals["x"].CopyFrom(one)
    assert digest(a_map) == digest(b_map)
    assert digest(a) != digest(tasks_pb2.Container(image="j"))


def test_diff_names_the_changed_path() -> None:
    old = tasks_pb2.Container(image="python:3.11", args=["a", "b"])
    new = tasks_pb2.Container(image="python:3.12", args=["a", "c"])
    text = diff(old, new)
    assert 'image:\n\t- "python:3.11" \n\t+ "python:3.12"' in text
    assert "args[1]" in text
