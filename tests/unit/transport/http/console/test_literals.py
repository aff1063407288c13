"""Literals shown to a reader: scalars as text, nested collections, files linked only when signed."""

from __future__ import annotations

from flyteidl.core import literals_pb2

from aerodrome.transport.http.console.formatting import duration, size
from aerodrome.transport.http.console.literals import MAX_ITEMS, show, show_map, uris


def _int(v: int) -> literals_pb2.Literal:
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=v)))


def _file(uri: str) -> literals_pb2.Literal:
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(blob=literals_pb2.Blob(uri=uri)))


def test_nested_values_and_links() -> None:
    many = literals_pb2.Literal(collection=literals_pb2.LiteralCollection(literals=[_int(i) for i in range(60)]))
    values = literals_pb2.LiteralMap(literals={"n": _int(3), "f": _file("s3://b/k"), "xs": many})
    shown = show_map(values, {"s3://b/k": "http://signed"})
    items = dict(shown.items)
    assert items["n"].text == "3"
    assert items["f"].href == "http://signed" and items["f"].kind == "file"
    assert len(items["xs"].items) == MAX_ITEMS and items["xs"].more == 10
    assert list(uris(literals_pb2.Literal(map=values))) == ["s3://b/k"]
    assert show(_file("s3://unsigned"), {}).href == ""  # an unsignable file is shown as text


def test_durations_and_sizes_read_at_a_glance() -> None:
    assert duration(0) == "—" and duration(1.25) == "1.2s" and duration(125) == "2m 05s" and duration(7500) == "2h 05m"
    assert size(0) == "—" and size(512) == "512 B" and size(3 * 1024 * 1024) == "3.0 MiB"
