"""Literal-type inference and castability, as the reference compiler decides them (PC/validators/typing.go)."""

from __future__ import annotations

from flyteidl.core import literals_pb2, types_pb2
from google.protobuf import json_format, text_format

LiteralType = types_pb2.LiteralType
NONE = LiteralType(simple=types_pb2.NONE)

_PRIMITIVE = {
    "integer": types_pb2.INTEGER,
    "float_value": types_pb2.FLOAT,
    "string_value": types_pb2.STRING,
    "boolean": types_pb2.BOOLEAN,
    "datetime": types_pb2.DATETIME,
    "duration": types_pb2.DURATION,
}


def _union_of(types: list[LiteralType]) -> LiteralType:
    """The inner type of a collection/map: the one distinct type, NONE if empty, else a sorted union."""
    distinct: dict[str, LiteralType] = {}
    for t in types:
        if t.HasField("union_type"):
            for v in t.union_type.variants:
                distinct.setdefault(text_format.MessageToString(v, as_one_line=True), v)
        else:
            distinct.setdefault(text_format.MessageToString(t, as_one_line=True), t)
    if not distinct:
        return LiteralType(simple=types_pb2.NONE)
    if len(distinct) == 1:
        return next(iter(distinct.values()))
    return LiteralType(union_type=types_pb2.UnionType(variants=[distinct[k] for k in sorted(distinct)]))


def literal_type_of(literal: literals_pb2.Literal) -> LiteralType:
    """The type a literal carries (LiteralTypeForLiteral)."""
    kind = literal.WhichOneof("value")
    if kind == "collection":
        return LiteralType(collection_type=_union_of([literal_type_of(x) for x in literal.collection.literals]))
    if kind == "map":
        return LiteralType(map_value_type=_union_of([literal_type_of(x) for x in literal.map.literals.values()]))
    if kind == "offloaded_metadata":
        return literal.offloaded_metadata.inferred_type
    if kind != "scalar":
        return LiteralType()
    scalar = literal.scalar
    skind = scalar.WhichOneof("value")
    if skind == "primitive":
        return LiteralType(simple=_PRIMITIVE.get(scalar.primitive.WhichOneof("value") or "", types_pb2.NONE))
    if skind == "blob":
        return LiteralType(blob=scalar.blob.metadata.type)
    if skind == "binary":
        return LiteralType(simple=types_pb2.STRUCT if scalar.binary.tag == "msgpack" else types_pb2.BINARY)
    if skind == "schema":
        return LiteralType(schema=scalar.schema.type)
    if skind == "structured_dataset":
        return LiteralType(structured_dataset_type=scalar.structured_dataset.metadata.structured_dataset_type)
    if skind == "none_type":
        return LiteralType(simple=types_pb2.NONE)
    if skind == "error":
        return LiteralType(simple=types_pb2.ERROR)
    if skind == "generic":
        return LiteralType(simple=types_pb2.STRUCT)
    if skind == "union":
        return LiteralType(union_type=types_pb2.UnionType(variants=[scalar.union.type]))
    return LiteralType()


def _stripped(t: LiteralType) -> LiteralType:
    copy = LiteralType()
    copy.CopyFrom(t)
    for field in ("structure", "metadata", "annotation"):
        copy.ClearField(field)
    return copy


def _is_none(t: LiteralType) -> bool:
    return t.WhichOneof("type") == "simple" and t.simple == types_pb2.NONE


def _schema_compatible(upstream: object, downstream: object) -> bool:
    """Every downstream JSON-schema property exists upstream with the same type (a superset is fine)."""
    up = upstream if isinstance(upstream, dict) else {}
    down = downstream if isinstance(downstream, dict) else {}
    up_props = up.get("properties", {})
    for name, prop in down.get("properties", {}).items():
        if name not in up_props or up_props[name].get("type") != prop.get("type"):
            return False
    return True


def _simple_castable(up: LiteralType, down: LiteralType) -> bool:
    uk, dk = up.WhichOneof("type"), down.WhichOneof("type")
    if uk == "enum_type" and dk == "simple" and down.simple == types_pb2.STRING:
        return True
    if dk == "enum_type" and uk == "simple" and up.simple == types_pb2.STRING:
        return True
    if up.HasField("structure") and up.structure.tag and up.structure.tag != down.structure.tag:
        return False
    if uk == dk == "simple" and up.simple == down.simple == types_pb2.STRUCT:
        if not up.HasField("metadata") or not down.HasField("metadata"):
            return True
        um, dm = json_format.MessageToDict(up.metadata), json_format.MessageToDict(down.metadata)
        return bool(um == dm or _schema_compatible(um, dm))
    return _stripped(up) == _stripped(down)


def _columns_castable(
    up_cols: list[types_pb2.StructuredDatasetType.DatasetColumn],
    down_cols: list[types_pb2.StructuredDatasetType.DatasetColumn],
) -> bool:
    if not up_cols or not down_cols:
        return True
    upstream = {c.name: c.literal_type for c in up_cols}
    return all(c.name in upstream and is_castable(upstream[c.name], c.literal_type) for c in down_cols)


def is_castable(upstream: LiteralType, downstream: LiteralType) -> bool:
    """Whether a value of ``upstream`` type may be bound where ``downstream`` is expected."""
    single = upstream.HasField("union_type") and len(upstream.union_type.variants) == 1
    if single and is_castable(upstream.union_type.variants[0], downstream):
        return True
    kind = downstream.WhichOneof("type")
    if kind == "collection_type":
        if not upstream.HasField("collection_type"):
            return False
        inner = upstream.collection_type
        return _is_none(inner) or is_castable(inner, downstream.collection_type)
    if kind == "map_value_type":
        if not upstream.HasField("map_value_type"):
            return False
        inner = upstream.map_value_type
        return _is_none(inner) or is_castable(inner, downstream.map_value_type)
    if kind == "blob":
        if not upstream.HasField("blob"):
            return False
        a, b = upstream.blob.format, downstream.blob.format
        return not a or not b or a == b
    if kind == "schema":
        if upstream.HasField("schema"):
            up_cols = {c.name: c.type for c in upstream.schema.columns}
            return (
                not up_cols
                or not downstream.schema.columns
                or all(c.name in up_cols and up_cols[c.name] == c.type for c in downstream.schema.columns)
            )
        if upstream.HasField("structured_dataset_type"):
            return upstream.structured_dataset_type.format.lower() in ("", "parquet")
        return False
    if kind == "structured_dataset_type":
        if _is_none(upstream):
            return True
        if upstream.HasField("structured_dataset_type"):
            up_sd, down_sd = upstream.structured_dataset_type, downstream.structured_dataset_type
            if up_sd.format and down_sd.format and up_sd.format.lower() != down_sd.format.lower():
                return False
            return _columns_castable(list(up_sd.columns), list(down_sd.columns))
        if upstream.HasField("schema"):
            return downstream.structured_dataset_type.format.lower() in ("", "parquet")
        return False
    if kind == "union_type":
        variants = downstream.union_type.variants
        if upstream.HasField("union_type"):
            return all(any(is_castable(u, d) for d in variants) for u in upstream.union_type.variants)
        return sum(1 for d in variants if is_castable(upstream, d)) == 1
    if kind == "simple" and downstream.simple == types_pb2.NONE:
        return _is_none(upstream)
    return _simple_castable(upstream, downstream)


def is_optional(t: LiteralType) -> bool:
    """A union with a NONE variant may be left unbound."""
    return t.HasField("union_type") and any(_is_none(v) for v in t.union_type.variants)


def describe(t: LiteralType) -> str:
    """Compact text of a type for messages."""
    return text_format.MessageToString(t, as_one_line=True)
