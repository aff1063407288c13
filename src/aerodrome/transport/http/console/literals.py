"""Literals as a reader wants them: scalars as text, collections and maps as nested lists, files as links."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from flyteidl.core import literals_pb2
from google.protobuf import json_format

from aerodrome.transport.http.console.formatting import absolute, duration

MAX_ITEMS = 50  # a collection shows its first items and says how many more there are


@dataclass
class Shown:
    """One rendered value: ``text``; ``items`` for a collection or map; ``href`` for something downloadable."""

    kind: str
    text: str = ""
    items: list[tuple[str, Shown]] = field(default_factory=list)
    href: str = ""
    more: int = 0


def _primitive(p: literals_pb2.Primitive) -> str:
    which = p.WhichOneof("value")
    if which == "datetime":
        return absolute(p.datetime)
    if which == "duration":
        return duration(p.duration)
    if which == "boolean":
        return "true" if p.boolean else "false"
    if which == "float_value":
        return repr(p.float_value)
    return str(getattr(p, which)) if which else ""


def _scalar(s: literals_pb2.Scalar, links: Mapping[str, str]) -> Shown:
    which = s.WhichOneof("value")
    if which == "primitive":
        return Shown("scalar", _primitive(s.primitive))
    if which == "blob":
        return Shown("file", s.blob.uri, href=links.get(s.blob.uri, ""))
    if which == "structured_dataset":
        return Shown("dataset", s.structured_dataset.uri, href=links.get(s.structured_dataset.uri, ""))
    if which == "schema":
        return Shown("dataset", s.schema.uri, href=links.get(s.schema.uri, ""))
    if which == "generic":
        return Shown("json", json.dumps(json_format.MessageToDict(s.generic), indent=2, sort_keys=True))
    if which == "none_type":
        return Shown("scalar", "None")
    if which == "union":
        return show(s.union.value, links)
    if which == "binary":
        return Shown("scalar", f"binary ({len(s.binary.value)} bytes, {s.binary.tag or 'untagged'})")
    if which == "error":
        return Shown("error", s.error.message)
    return Shown("scalar", "")


def show(literal: literals_pb2.Literal, links: Mapping[str, str]) -> Shown:
    which = literal.WhichOneof("value")
    if which == "scalar":
        return _scalar(literal.scalar, links)
    if which == "collection":
        values = literal.collection.literals
        items = [(str(i), show(v, links)) for i, v in enumerate(values[:MAX_ITEMS])]
        return Shown("list", items=items, more=max(0, len(values) - MAX_ITEMS))
    if which == "map":
        return show_map(literal.map, links)
    if which == "offloaded_metadata":
        return Shown("file", literal.offloaded_metadata.uri, href=links.get(literal.offloaded_metadata.uri, ""))
    return Shown("scalar", "")


def show_map(values: literals_pb2.LiteralMap, links: Mapping[str, str]) -> Shown:
    names = sorted(values.literals)
    items = [(k, show(values.literals[k], links)) for k in names[:MAX_ITEMS]]
    return Shown("map", items=items, more=max(0, len(names) - MAX_ITEMS))


def uris(literal: literals_pb2.Literal) -> Iterator[str]:
    """Every downloadable URI inside a literal (to be signed once, before rendering)."""
    which = literal.WhichOneof("value")
    if which == "collection":
        for item in literal.collection.literals[:MAX_ITEMS]:
            yield from uris(item)
    elif which == "map":
        for item in literal.map.literals.values():
            yield from uris(item)
    elif which == "offloaded_metadata":
        yield literal.offloaded_metadata.uri
    elif which == "scalar":
        s = literal.scalar
        kind = s.WhichOneof("value")
        if kind == "blob":
            yield s.blob.uri
        elif kind == "structured_dataset":
            yield s.structured_dataset.uri
        elif kind == "union":
            yield from uris(s.union.value)
